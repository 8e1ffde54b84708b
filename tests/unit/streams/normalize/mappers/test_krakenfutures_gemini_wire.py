"""Kraken Futures and Gemini typed fast paths (``map_bytes``; ``krakenfutures_wire``,
``gemini_wire``) against the generic path (the mapper's ``decode`` then ``map``).

On every recorded and documented frame of the two venues, on the fuzz test's mutations of
them and on edge cases aimed at the typed decode (each value replaced by odd JSON tokens,
keys repeated with odd or other-feed values, escaped keys, extra keys, invalid bytes):
``map_bytes`` gives None or exactly what the generic path gives (the same events, or the
same exception), and it is not None on a well-formed hot frame. The whole normalizer gives
the same records (coverage and dead letters included) with the fast path on and off.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tapewire.streams.normalize.mappers import MapError
from tapewire.streams.normalize.mappers.base import Mapper
from tapewire.streams.normalize.mappers.gemini import GeminiMapper
from tapewire.streams.normalize.mappers.krakenfutures import KrakenFuturesMapper
from tapewire.testing.frames import read_frames
from tests.unit.streams.normalize.mappers.fast_path_checks import (
    MUTANTS,
    assert_same_outputs,
    edge_cases,
    generic,
    same_or_none,
    venue_normalizer,
)
from tests.unit.streams.normalize.mappers.mutations import mutate

DATA = Path(__file__).resolve().parents[4] / "data"
FILES = [
    ("krakenfutures", DATA / "real" / "krakenfutures" / "frames.jsonl"),
    ("krakenfutures", DATA / "frames" / "krakenfutures" / "frames.jsonl"),
    ("krakenfutures", DATA / "frames" / "krakenfutures" / "derivatives.jsonl"),
    ("gemini", DATA / "real" / "gemini" / "frames.jsonl"),
    ("gemini", DATA / "frames" / "gemini" / "frames.jsonl"),
]
IDS = [f"{venue}/{path.parent.parent.name}/{path.name}" for venue, path in FILES]


def _loaded(venue: str, path: Path) -> tuple[Mapper, list[bytes]]:
    """The file's mapper (markets loaded) and its websocket payloads."""
    frames = read_frames(path, venue)
    norm = venue_normalizer(venue, fast=True)
    norm.process_batch(frames)
    mapper = norm.native[venue].mapper
    assert isinstance(mapper, KrakenFuturesMapper | GeminiMapper)
    return mapper, [f["payload"] for f in frames if f["transport"] == "WEBSOCKET"]


def _hot(payload: bytes) -> bool:
    """A frame of a fast-path feed: Kraken Futures trade, book, ticker_lite, ticker; Gemini
    trade, l2_updates (the first one only with no auction events)."""
    message = json.loads(payload)
    if message.get("feed") in ("trade", "book", "ticker_lite", "ticker"):
        return "event" not in message
    kind = message.get("type")
    return kind == "trade" or (kind == "l2_updates" and not message.get("auction_events"))


def _seeds(payloads: list[bytes]) -> list[bytes]:
    """Up to two well-formed frames of each shape (feed or type, and its keys)."""
    by_shape: dict[str, list[bytes]] = {}
    for payload in payloads:
        try:
            message = json.loads(payload)
        except ValueError:
            continue
        shape = str(sorted(message)) + str(message.get("feed") or message.get("type"))
        by_shape.setdefault(shape, []).append(payload)
    return [p for found in by_shape.values() for p in found[:2]]


@pytest.mark.parametrize(("venue", "path"), FILES, ids=IDS)
def test_fast_path_runs_on_every_hot_frame_and_equals_the_generic_path(
    venue: str, path: Path
) -> None:
    mapper, payloads = _loaded(venue, path)
    hot = 0
    for payload in payloads:
        took = same_or_none(mapper, payload)
        slow = generic(mapper, payload)
        if slow[0] == "events" and slow[1] and _hot(payload):  # well-formed, hot
            hot += 1
            assert took, payload[:200]
    assert hot


@pytest.mark.parametrize(("venue", "path"), FILES, ids=IDS)
def test_fast_path_on_mutated_and_edge_frames_is_the_generic_path_or_none(
    venue: str, path: Path
) -> None:
    mapper, payloads = _loaded(venue, path)
    rng = random.Random(f"krgem-wire-{path.relative_to(DATA)}")
    mutants = [mutate(rng, rng.choice(payloads)) for _ in range(MUTANTS)]
    edges = [e for p in _seeds(payloads) for e in edge_cases(rng, p)]
    took = sum(same_or_none(mapper, p) for p in mutants)
    took_edges = sum(same_or_none(mapper, p) for p in edges)
    # the fast path took (and agreed on) a real share of them: 4.5-8% of the mutants of the
    # smallest file (gemini's documented frames) over 7 seeds, so the bar is 2.5%
    assert took > MUTANTS // 40
    assert took_edges > len(edges) // 40


@pytest.mark.parametrize(
    ("venue", "payload", "field"),
    [
        (
            "krakenfutures",
            b'{"feed":"trade","product_id":"PI_NOPE","uid":"u","side":"buy","type":"fill",'
            b'"seq":1,"time":1,"qty":1.0,"price":2}',
            "market",
        ),
        (
            "krakenfutures",
            b'{"feed":"book","product_id":"PI_NOPE","side":"sell","seq":1,"price":0.5,'
            b'"qty":0,"timestamp":1}',
            "market",
        ),
        ("krakenfutures", b'{"feed":"ticker_lite","product_id":"PI_NOPE","bid":1}', "market"),
        ("krakenfutures", b'{"time":1,"product_id":"PI_NOPE","feed":"ticker"}', "market"),
        (
            "gemini",
            b'{"type":"trade","symbol":"NOPEUSD","event_id":1,"timestamp":1,"price":"1",'
            b'"quantity":"2","side":"buy"}',
            "market",
        ),
        ("gemini", b'{"type":"l2_updates","symbol":"NOPEUSD","changes":[]}', "market"),
        (
            "gemini",  # the book's symbol is known, one of its trades' is not
            b'{"type":"l2_updates","symbol":"BTCUSD","changes":[],"trades":[{"type":"trade",'
            b'"symbol":"NOPEUSD","event_id":1,"timestamp":1,"price":"1","quantity":"2",'
            b'"side":"buy"}],"auction_events":[]}',
            "market",
        ),
    ],
)
def test_unknown_instrument_raises_the_generic_paths_error(
    venue: str, payload: bytes, field: str
) -> None:
    path = DATA / "frames" / venue / "frames.jsonl"
    mapper, _ = _loaded(venue, path)
    with pytest.raises(MapError) as fast:
        mapper.map_bytes(payload)
    with pytest.raises(MapError) as generic:
        mapper.map(mapper.decode(payload))
    assert fast.value.field == field
    assert str(fast.value) == str(generic.value)


@pytest.mark.parametrize(("venue", "path"), FILES, ids=IDS)
def test_normalizer_outputs_identical_with_the_fast_path_on_and_off(venue: str, path: Path) -> None:
    frames = read_frames(path, venue)
    rng = random.Random(f"krgem-wire-normalizer-{path.relative_to(DATA)}")
    seeds = [f for f in frames if f["transport"] == "WEBSOCKET"]
    fuzzed = [dict(f, payload=mutate(rng, f["payload"])) for f in rng.choices(seeds, k=MUTANTS)]
    by_payload = {f["payload"]: f for f in seeds}
    edges = [
        dict(by_payload[p], payload=e)
        for p in _seeds([f["payload"] for f in seeds])
        for e in edge_cases(rng, p)
    ]
    # the file as recorded, then the fuzz and edge cases on the same (now synced) state,
    # then the file again
    sequence = frames + fuzzed + edges + frames
    assert_same_outputs(
        sequence, venue_normalizer(venue, fast=True), venue_normalizer(venue, fast=False)
    )
