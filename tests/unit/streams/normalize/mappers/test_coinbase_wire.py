"""Coinbase Advanced Trade's fast path (``CoinbaseMapper.map_bytes``, ``coinbase_wire``)
against the generic path (``decode``, ``connection_gap`` then ``map``).

As ``test_krakenfutures_gemini_wire`` checks Kraken Futures' and Gemini's: on the documented
frames, their fuzz mutations and edge values, ``map_bytes`` gives None or exactly what the
generic path gives, and it takes every well-formed ``market_trades`` / ``l2_data`` frame
that follows its connection's last one. The fast path also does ``connection_gap``'s work:
a frame that opens a gap (or starts a connection) is left to the generic path with the
connection's state untouched. The whole normalizer gives the same records (coverage and
dead letters included) with the fast path on and off, on the files as recorded, on their
mutations and on frames renumbered so that every one follows the last.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from tapewire.streams.normalize import Normalizer
from tapewire.streams.normalize.mappers import MapError
from tapewire.streams.normalize.mappers.coinbase import CoinbaseMapper
from tapewire.testing.frames import read_frames
from tests.unit.streams.normalize.mappers.fast_path_checks import (
    MUTANTS,
    edge_cases,
    generic,
    outcome,
)
from tests.unit.streams.normalize.mappers.helpers import outputs_per_frame
from tests.unit.streams.normalize.mappers.mutations import mutate

DIR = Path(__file__).resolve().parents[4] / "data" / "frames" / "coinbase"
FILES = [DIR / "frames.jsonl", DIR / "more.jsonl"]
IDS = [p.name for p in FILES]
CONNECTION = "c1"
TIMES = [
    "2023-02-09T20:32:50.714964855Z",
    "2023-02-09T20:32:50Z",
    "2023-02-09T20:32:50.7Z",
    "2023-02-09T20:32:50.1234567891Z",
    "2023-02-09T20:32:50.",
    "2023-02-09T20:32:50.5+01:00",
    "2023-02-09T20:32:50+01:00",
    "2023-02-30T20:32:50.5Z",
    "2023-02-09 20:32:50.5Z",
    "2023-02-09T20:32:50.\u0663Z",
    "not a time",
    "",
]
"""``time`` / ``timestamp`` values put in hot frames (good, odd and invalid)."""


def _normalizer(fast: bool, frames: list[dict[str, Any]]) -> Normalizer:
    """A normalizer with the markets of ``frames`` (their REST frames) loaded;
    ``fast=False``: its fast path switched off."""
    norm = Normalizer(clock=lambda: 1, fast_paths=fast)
    norm.process_batch([f for f in frames if f["transport"] == "REST"])
    assert (norm.native["coinbase"]._map_bytes is not None) is fast
    return norm


def _loaded(path: Path) -> tuple[CoinbaseMapper, list[bytes]]:
    """The file's mapper (markets loaded) and its websocket payloads."""
    frames = read_frames(path, "coinbase")
    norm = _normalizer(True, frames)
    norm.process_batch(frames)
    mapper = norm.native["coinbase"].mapper
    assert isinstance(mapper, CoinbaseMapper)
    return mapper, [f["payload"] for f in frames if f["transport"] == "WEBSOCKET"]


def _sequence_num(payload: bytes) -> int | None:
    try:
        message = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    seq = message.get("sequence_num") if isinstance(message, dict) else None
    return seq if seq.__class__ is int else None


def _same_or_none(mapper: CoinbaseMapper, payload: bytes) -> bool:
    """Whether the fast path took the frame (else None), checking it agrees with ``map``;
    the connection's last ``sequence_num`` is set so that the frame follows it."""
    seq = _sequence_num(payload)
    mapper.connection_id = CONNECTION
    mapper._last_seq[CONNECTION] = -5 if seq is None else seq - 1
    fast = outcome(lambda: mapper.map_bytes(payload))
    if fast == ("events", None):
        return False
    assert fast == generic(mapper, payload), payload[:300]
    assert mapper._last_seq.get(CONNECTION) == seq  # recorded, as connection_gap does
    return True


def _hot(payload: bytes) -> bool:
    message = json.loads(payload)
    return message.get("channel") in ("market_trades", "l2_data")


def _seeds(payloads: list[bytes]) -> list[bytes]:
    """Up to two well-formed frames of each shape (channel, event types and keys)."""
    by_shape: dict[str, list[bytes]] = {}
    for payload in payloads:
        try:
            message = json.loads(payload)
        except ValueError:
            continue
        events = message.get("events") or []
        shape = f"{sorted(message)}{message.get('channel')}{[sorted(e) for e in events]}"
        shape += str([e.get("type") for e in events])
        by_shape.setdefault(shape, []).append(payload)
    return [p for found in by_shape.values() for p in found[:2]]


def _with_times(payload: bytes) -> list[bytes]:
    """``payload`` with every ``time`` (or its ``timestamp``) replaced by each of TIMES."""
    message = json.loads(payload)
    out = []
    for value in TIMES:
        if message.get("channel") == "l2_data":
            message["timestamp"] = value
        for event in message.get("events") or []:
            for trade in event.get("trades") or []:
                trade["time"] = value
        out.append(json.dumps(message, separators=(",", ":")).encode())
    return out


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_fast_path_runs_on_every_hot_frame_and_equals_the_generic_path(path: Path) -> None:
    mapper, payloads = _loaded(path)
    hot = 0
    for payload in payloads:
        took = _same_or_none(mapper, payload)
        slow = generic(mapper, payload)
        if slow[0] == "events" and slow[1] and _hot(payload):  # well-formed, hot
            hot += 1
            assert took, payload[:200]
    assert hot


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_fast_path_on_mutated_and_edge_frames_is_the_generic_path_or_none(path: Path) -> None:
    mapper, payloads = _loaded(path)
    rng = random.Random(f"coinbase-wire-{path.name}")
    mutants = [mutate(rng, rng.choice(payloads)) for _ in range(MUTANTS)]
    seeds = _seeds(payloads)
    edges = [e for p in seeds for e in edge_cases(rng, p)]
    edges += [t for p in seeds if _hot(p) for t in _with_times(p)]
    took = sum(_same_or_none(mapper, p) for p in mutants)
    took_edges = sum(_same_or_none(mapper, p) for p in edges)
    assert took > MUTANTS // 40
    assert took_edges > len(edges) // 40


def test_a_gap_or_a_new_connection_is_left_to_the_generic_path() -> None:
    mapper, payloads = _loaded(FILES[0])
    trades = next(p for p in payloads if b'"market_trades"' in p)
    seq = _sequence_num(trades)
    assert seq is not None
    mapper.connection_id = "new"
    assert mapper.map_bytes(trades) is None  # the connection's first frame
    assert mapper._last_seq.get("new") is None
    mapper._last_seq["new"] = seq - 2  # one frame missed
    assert mapper.map_bytes(trades) is None
    assert mapper._last_seq.get("new") == seq - 2  # untouched: connection_gap reports it
    assert mapper.connection_gap(orjson.loads(trades), "new") == "sequence_gap"
    mapper._last_seq["new"] = seq - 1
    events = mapper.map_bytes(trades)
    assert events is not None
    assert events == mapper.map(orjson.loads(trades))
    assert mapper._last_seq.get("new") == seq


@pytest.mark.parametrize("channel", ["market_trades", "l2_data"])
def test_unknown_product_takes_the_generic_path_and_its_error(channel: str) -> None:
    mapper, payloads = _loaded(FILES[0])
    payload = next(p for p in payloads if f'"{channel}"'.encode() in p)
    payload = payload.replace(b'"BTC-USD"', b'"NOPE-USD"').replace(b'"ETH-USD"', b'"NOPE-USD"')
    assert not _same_or_none(mapper, payload)
    with pytest.raises(MapError) as generic:
        mapper.map(mapper.decode(payload))
    assert generic.value.field == "market"


def _renumbered(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The websocket frames on one connection, each ``sequence_num`` the last one + 1 (the
    ones that decode and carry one; others kept as they are)."""
    out: list[dict[str, Any]] = []
    seq = 1_000
    for f in frames:
        if f["transport"] != "WEBSOCKET":
            continue
        payload: Any = f["payload"]
        if _sequence_num(payload) is not None:
            message = json.loads(payload)
            seq += 1
            message["sequence_num"] = seq
            payload = json.dumps(message, separators=(",", ":")).encode()
        out.append(dict(f, payload=payload, connection_id="renumbered"))
    return out


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_normalizer_outputs_identical_with_the_fast_path_on_and_off(path: Path) -> None:
    frames = read_frames(path, "coinbase")
    rng = random.Random(f"coinbase-wire-normalizer-{path.name}")
    seeds = [f for f in frames if f["transport"] == "WEBSOCKET"]
    fuzzed = [dict(f, payload=mutate(rng, f["payload"])) for f in rng.choices(seeds, k=MUTANTS)]
    by_payload = {f["payload"]: f for f in seeds}
    seed_payloads = _seeds([f["payload"] for f in seeds])
    edges = [dict(by_payload[p], payload=e) for p in seed_payloads for e in edge_cases(rng, p)]
    times = [
        dict(by_payload[p], payload=t) for p in seed_payloads if _hot(p) for t in _with_times(p)
    ]
    renumbered = _renumbered(frames)
    # the file as recorded, then the fuzz and edge cases on the same (now synced) state, the
    # file renumbered (every frame follows the last: the fast path takes them), again after
    # the fuzz, and the file again
    sequence = frames + fuzzed + edges + times + renumbered
    sequence += _renumbered(rng.sample(fuzzed, 200)) + renumbered + frames
    on = outputs_per_frame(_normalizer(True, frames), sequence)
    off = outputs_per_frame(_normalizer(False, frames), sequence)
    for frame, a, b in zip(sequence, on, off, strict=True):
        assert a == b, frame["payload"][:300]
    assert any(r[0].get("dlq.normalize") for r in on)
    assert any(r[0].get("md.coverage") for r in on)
    assert any(r[0].get(t) for r in on for t in ("md.trades", "md.book"))
