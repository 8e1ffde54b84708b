"""KuCoin's typed fast path (``KucoinMapper.map_bytes``, ``kucoin_wire``) against the generic
path (``decode`` then ``map``), as ``test_gate_bitstamp_wire`` checks Gate's and Bitstamp's.

On every documented frame, on the fuzz test's mutations of them, on edge values and on the
trade ``time`` (which the fast path parses itself) set to odd texts: ``map_bytes`` gives
None or exactly what the generic path gives (the same events, or the same exception), and
it is not None on a well-formed hot frame laid out as KuCoin sends it. The whole normalizer
gives the same records (coverage and dead letters included) with the fast path on and off.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from tapewire.streams.normalize import Normalizer
from tapewire.streams.normalize.mappers.kucoin import KucoinMapper
from tapewire.testing.frames import read_frames
from tests.unit.streams.normalize.mappers.fast_path_checks import (
    MUTANTS,
    edge_cases,
    generic,
    same_or_none,
)
from tests.unit.streams.normalize.mappers.helpers import outputs_per_frame
from tests.unit.streams.normalize.mappers.mutations import mutate
from tests.unit.streams.normalize.mappers.test_differential import markets

PATH = Path(__file__).resolve().parents[4] / "data" / "frames" / "kucoin" / "frames.jsonl"
HOT_TOPICS = ("/market/match:", "/market/level2:", "/market/ticker:")
ODD_TIMES: list[Any] = [
    "1663747970273041250",
    "0",
    "",
    "-1",
    "+1",
    " 1",
    "1_0",
    "1e3",
    "1.5",
    "\u0661\u0666\u0660\u0666",  # Arabic-Indic digits: isdigit() and int() take them
    "\u00b2",  # a superscript: isdigit() but not int()
    "9" * 30,
    "1" * 5000,
    1663747970273041250,
    -1,
    1.5,
    True,
    None,
]
"""Values put in place of a trade's ``time`` (the generic path takes an int or digits)."""


def _frames() -> list[dict[str, Any]]:
    return read_frames(PATH, "kucoin")


def _normalizer(fast: bool) -> Normalizer:
    """A normalizer with KuCoin's markets; ``fast=False``: its fast path switched off."""
    norm = Normalizer(clock=lambda: 1, markets=markets("kucoin"), fast_paths=fast)
    assert (norm.native["kucoin"]._map_bytes is not None) is fast
    return norm


def _loaded() -> tuple[KucoinMapper, list[bytes]]:
    """The mapper (the file processed) and the file's websocket payloads."""
    frames = _frames()
    norm = _normalizer(fast=True)
    norm.process_batch(frames)
    mapper = norm.native["kucoin"].mapper
    assert isinstance(mapper, KucoinMapper)
    return mapper, [f["payload"] for f in frames if f["transport"] == "WEBSOCKET"]


def _hot(payload: bytes) -> bool:
    """A message of a fast-path topic, laid out as KuCoin sends it."""
    try:
        message = json.loads(payload)
    except ValueError:
        return False
    topic = message.get("topic") if isinstance(message, dict) else None
    layout = payload.startswith(b'{"type":"message","topic":"/market/')
    return isinstance(topic, str) and topic.startswith(HOT_TOPICS) and layout


def _with_times(payload: bytes) -> list[bytes]:
    """A trade ``payload`` with its ``time`` set to each of ODD_TIMES."""
    out = []
    for value in ODD_TIMES:
        message = json.loads(payload)
        data = message.get("data")
        if not message["topic"].startswith("/market/match:") or not isinstance(data, dict):
            return []
        data["time"] = value
        out.append(json.dumps(message, separators=(",", ":")).encode())
    return out


def test_fast_path_runs_on_every_hot_frame_and_equals_the_generic_path() -> None:
    mapper, payloads = _loaded()
    hot = 0
    for payload in payloads:
        took = same_or_none(mapper, payload)
        slow = generic(mapper, payload)
        if slow[0] == "events" and slow[1] and _hot(payload):
            hot += 1
            assert took, payload[:200]
    assert hot > 5


def test_fast_path_on_mutated_and_edge_frames_is_the_generic_path_or_none() -> None:
    mapper, payloads = _loaded()
    rng = random.Random("kucoin-wire")
    hot = [p for p in payloads if _hot(p)]
    mutants = [mutate(rng, rng.choice((payloads, hot)[i % 2])) for i in range(MUTANTS)]
    edges = [e for p in hot for e in edge_cases(rng, p)]
    edges += [e for p in payloads if not _hot(p) for e in edge_cases(rng, p)]
    times = [t for p in hot for t in _with_times(p)]
    took = sum(same_or_none(mapper, p) for p in mutants)
    took_edges = sum(same_or_none(mapper, p) for p in edges)
    took_times = sum(same_or_none(mapper, p) for p in times)
    assert took > MUTANTS // 40
    assert took_edges > len(edges) // 40
    assert 0 < took_times < len(times)  # the good values taken, the odd ones left


def test_unknown_symbol_raises_the_generic_paths_error() -> None:
    mapper, payloads = _loaded()
    hot = [p for p in payloads if _hot(p) and generic(mapper, p)[0] == "events"]
    for payload in hot:
        unknown = payload.replace(b"BTC-USDT", b"NOPE-USDT")
        fast = same_or_none(mapper, unknown)
        slow = generic(mapper, unknown)
        assert fast
        assert slow[0] == "raised"
        assert "'market'" in slow[2]


def test_normalizer_outputs_identical_with_the_fast_path_on_and_off() -> None:
    frames = _frames()
    rng = random.Random("kucoin-wire-normalizer")
    seeds = [f for f in frames if f["transport"] == "WEBSOCKET"]
    fuzzed = [dict(f, payload=mutate(rng, f["payload"])) for f in rng.choices(seeds, k=MUTANTS)]
    edges = [dict(f, payload=e) for f in seeds for e in edge_cases(rng, f["payload"])]
    times = [
        dict(f, payload=t) for f in seeds if _hot(f["payload"]) for t in _with_times(f["payload"])
    ]
    # the file as recorded (books synced from its REST snapshots), then the fuzz, edge and
    # time cases on that state, then the file again
    sequence = frames + fuzzed + edges + times + frames
    on = outputs_per_frame(_normalizer(fast=True), sequence)
    off = outputs_per_frame(_normalizer(fast=False), sequence)
    for frame, a, b in zip(sequence, on, off, strict=True):
        assert a == b, frame["payload"][:300]
    assert any(r[0].get("dlq.normalize") for r in on)
    assert any(r[0].get(t) for r in on for t in ("md.trades", "md.book", "md.quotes"))
