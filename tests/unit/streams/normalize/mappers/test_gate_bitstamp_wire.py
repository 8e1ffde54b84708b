"""Gate's and Bitstamp's typed fast paths (``map_bytes``; ``gate_wire``, ``bitstamp_wire``)
against the generic path (``decode`` then ``map``), as ``test_krakenfutures_gemini_wire``
checks Kraken Futures' and Gemini's.

On every documented frame of the two venues, on the fuzz test's mutations of them, on edge
values and on the time fields the fast paths parse themselves (Gate ``create_time_ms``,
Bitstamp ``microtimestamp``) set to odd texts: ``map_bytes`` gives None or exactly what the
generic path gives (the same events, or the same exception), and it is not None on a
well-formed hot frame laid out as the venue documents it. The whole normalizer gives the
same records (coverage and dead letters included) with the fast path on and off.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from tapewire.streams.normalize import Normalizer
from tapewire.streams.normalize.mappers.base import Mapper
from tapewire.streams.normalize.mappers.bitstamp import BitstampMapper
from tapewire.streams.normalize.mappers.gate import GateMapper
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

DATA = Path(__file__).resolve().parents[4] / "data"
VENUES = ["gate", "bitstamp"]
ODD_TIMES = [
    "1606292218213",
    "1606292218213.",
    "1606292218213.4",
    "1606292218213.123456",
    "1606292218213.1234567",
    "1700000000120457",
    "0",
    "",
    ".5",
    "-1",
    "+1",
    " 1",
    "1_0",
    "1e3",
    "1.2.3",
    "\u0661\u0666\u0660\u0666",  # Arabic-Indic digits: isdigit() and int() take them
    "\u0661\u0666.\u0665",
    "\u00b2",  # a superscript: isdigit() but not int()
    "1.\u00b2",
    "9" * 30,
    "9" * 19 + ".5",
    "1" * 5000,
]
"""Texts put in place of the time field each fast path parses."""
_GATE_LAYOUT = re.compile(rb'\{"time":[0-9]{10},"time_ms":[0-9]{13},"channel":"spot.trades"')


def _frames(venue: str) -> list[dict[str, Any]]:
    return read_frames(DATA / "frames" / venue / "frames.jsonl", venue)


def _normalizer(venue: str, fast: bool) -> Normalizer:
    """A normalizer with the venue's markets (``markets.json`` or its REST frames) loaded;
    ``fast=False``: its fast path switched off."""
    norm = Normalizer(clock=lambda: 1, markets=markets(venue), fast_paths=fast)
    norm.process_batch([f for f in _frames(venue) if f["transport"] == "REST"])
    assert (norm.native[venue]._map_bytes is not None) is fast
    return norm


def _loaded(venue: str) -> tuple[Mapper, list[bytes]]:
    """The venue's mapper (markets loaded, the file processed) and its websocket payloads."""
    frames = _frames(venue)
    norm = _normalizer(venue, fast=True)
    norm.process_batch(frames)
    mapper = norm.native[venue].mapper
    assert isinstance(mapper, GateMapper | BitstampMapper)
    return mapper, [f["payload"] for f in frames if f["transport"] == "WEBSOCKET"]


def _hot(venue: str, payload: bytes) -> bool:
    """A frame of a fast-path channel, laid out as documented."""
    try:
        message = json.loads(payload)
    except ValueError:
        return False
    channel = str(message.get("channel"))
    if venue == "gate":
        layout = payload.startswith(b'{"channel":"spot.trades"') or bool(
            _GATE_LAYOUT.match(payload)
        )
        return channel == "spot.trades" and message.get("event") == "update" and layout
    if message.get("event") == "trade":
        return channel.startswith("live_trades_") and payload.startswith(b'{"data":{"id":')
    book = payload.startswith(b'{"data":{"timestamp":')
    return message.get("event") == "data" and "order_book_" in channel and book


def _seeds(payloads: list[bytes]) -> list[bytes]:
    """Up to two well-formed frames of each shape (keys, channel, event)."""
    by_shape: dict[str, list[bytes]] = {}
    for payload in payloads:
        try:
            message = json.loads(payload)
        except ValueError:
            continue
        data = message.get("data") or message.get("result")
        keys = sorted(data) if isinstance(data, dict) else None
        shape = f"{sorted(message)}{keys}{message.get('channel')}{message.get('event')}"
        by_shape.setdefault(shape, []).append(payload)
    return [p for found in by_shape.values() for p in found[:2]]


def _with_times(venue: str, payload: bytes) -> list[bytes]:
    """``payload`` with its parsed time field set to each of ODD_TIMES (a hot frame)."""
    out = []
    for value in ODD_TIMES:
        message = json.loads(payload)
        if venue == "gate":
            result = message.get("result")
            if not isinstance(result, dict) or "create_time_ms" not in result:
                return []
            result["create_time_ms"] = value
        else:
            data = message.get("data")
            if not isinstance(data, dict) or "microtimestamp" not in data:
                return []
            data["microtimestamp"] = value
        out.append(json.dumps(message, separators=(",", ":")).encode())
    return out


@pytest.mark.parametrize("venue", VENUES)
def test_fast_path_runs_on_every_hot_frame_and_equals_the_generic_path(venue: str) -> None:
    mapper, payloads = _loaded(venue)
    hot = 0
    for payload in payloads:
        took = same_or_none(mapper, payload)
        slow = generic(mapper, payload)
        if slow[0] == "events" and slow[1] and _hot(venue, payload):  # well-formed, hot
            hot += 1
            assert took, payload[:200]
    assert hot > 1


@pytest.mark.parametrize("venue", VENUES)
def test_fast_path_on_mutated_and_edge_frames_is_the_generic_path_or_none(venue: str) -> None:
    mapper, payloads = _loaded(venue)
    rng = random.Random(f"gate-bitstamp-wire-{venue}")
    # half of the mutants from the hot frames (a few of the file's: Gate's are 3 of 16)
    hot = [p for p in payloads if _hot(venue, p)]
    mutants = [mutate(rng, rng.choice((payloads, hot)[i % 2])) for i in range(MUTANTS)]
    seeds = _seeds(payloads)
    hot_edges = [e for p in seeds if _hot(venue, p) for e in edge_cases(rng, p)]
    edges = hot_edges + [e for p in seeds if not _hot(venue, p) for e in edge_cases(rng, p)]
    times = [t for p in seeds if _hot(venue, p) for t in _with_times(venue, p)]
    took = sum(same_or_none(mapper, p) for p in mutants)
    took_edges = sum(same_or_none(mapper, p) for p in edges)
    took_times = sum(same_or_none(mapper, p) for p in times)
    assert took > MUTANTS // 40
    assert took_edges > len(hot_edges) // 40
    assert 0 < took_times < len(times)  # the good texts taken, the odd ones left


@pytest.mark.parametrize("venue", VENUES)
def test_unknown_pair_takes_the_generic_path_and_its_error(venue: str) -> None:
    mapper, payloads = _loaded(venue)
    hot = [p for p in payloads if _hot(venue, p) and generic(mapper, p)[0] == "events"]
    for payload in hot:
        unknown = re.sub(rb"(btcusd|BTC_USDT|GT_USDT)", lambda m: b"NOPE" + m[0][4:], payload)
        assert not same_or_none(mapper, unknown)
        slow = generic(mapper, unknown)
        assert slow[0] == "raised"
        assert "'market'" in slow[2]


@pytest.mark.parametrize("venue", VENUES)
def test_normalizer_outputs_identical_with_the_fast_path_on_and_off(venue: str) -> None:
    frames = _frames(venue)
    rng = random.Random(f"gate-bitstamp-wire-normalizer-{venue}")
    seeds = [f for f in frames if f["transport"] == "WEBSOCKET"]
    fuzzed = [dict(f, payload=mutate(rng, f["payload"])) for f in rng.choices(seeds, k=MUTANTS)]
    by_payload = {f["payload"]: f for f in seeds}
    seed_payloads = _seeds([f["payload"] for f in seeds])
    edges = [dict(by_payload[p], payload=e) for p in seed_payloads for e in edge_cases(rng, p)]
    times = [
        dict(by_payload[p], payload=t)
        for p in seed_payloads
        if _hot(venue, p)
        for t in _with_times(venue, p)
    ]
    # the file as recorded, then the fuzz, edge and time cases on the same (now synced)
    # state, then the file again
    sequence = frames + fuzzed + edges + times + frames
    on = outputs_per_frame(_normalizer(venue, fast=True), sequence)
    off = outputs_per_frame(_normalizer(venue, fast=False), sequence)
    for frame, a, b in zip(sequence, on, off, strict=True):
        assert a == b, frame["payload"][:300]
    assert any(r[0].get("dlq.normalize") for r in on)
    assert any(r[0].get(t) for r in on for t in ("md.trades", "md.book"))
