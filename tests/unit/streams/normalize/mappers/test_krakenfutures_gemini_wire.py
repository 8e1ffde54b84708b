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
import os
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tapewire.streams.normalize import Normalizer
from tapewire.streams.normalize.mappers import MapError
from tapewire.streams.normalize.mappers.base import Mapper
from tapewire.streams.normalize.mappers.gemini import GeminiMapper
from tapewire.streams.normalize.mappers.krakenfutures import KrakenFuturesMapper
from tapewire.testing.frames import read_frames
from tests.unit.streams.normalize.mappers.helpers import outputs_per_frame
from tests.unit.streams.normalize.mappers.mutations import mutate
from tests.unit.streams.normalize.mappers.test_differential import markets

DATA = Path(__file__).resolve().parents[4] / "data"
FILES = [
    ("krakenfutures", DATA / "real" / "krakenfutures" / "frames.jsonl"),
    ("krakenfutures", DATA / "frames" / "krakenfutures" / "frames.jsonl"),
    ("krakenfutures", DATA / "frames" / "krakenfutures" / "derivatives.jsonl"),
    ("gemini", DATA / "real" / "gemini" / "frames.jsonl"),
    ("gemini", DATA / "frames" / "gemini" / "frames.jsonl"),
]
IDS = [f"{venue}/{path.parent.parent.name}/{path.name}" for venue, path in FILES]
MUTANTS = int(os.environ.get("TAPEWIRE_FUZZ_CASES", "1500"))
"""Mutated frames per file (each checked mapper-level and through both normalizers)."""
PLACES = 10
"""Values per seed frame replaced by each edge value (sampled)."""

EDGE_VALUES = [
    b"1",
    b"1.0",
    b"1e2",
    b"1E-7",
    b"-0",
    b"-0.0",
    b"0.000000685416666667",
    b"true",
    b"null",
    b'"1"',
    b'""',
    b"9223372036854775807",
    b"9223372036854775808",
    b"18446744073709551615",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"1" + b"0" * 400,
    b"1" * 5000,  # str() of it raises ValueError (the int digits limit)
    b"1e400",
    b"NaN",
    b"-Infinity",
    b'"\\u0031\\u002e5"',
    b'"\\ud800"',
    b'"\\udc00\\ud800"',
    b'"\\ud83d\\ude00"',
    b'"\\/\\"\\\\"',
    b'"\xc0\xaf"',
    b'"\xed\xa0\x80"',
    b'"\xff"',
    b'"x\\u0000"',
    b"1.",
    b".5",
    b"+1",
    b"01",
    b"[]",
    b"{}",
    b'[["buy","1","2"]]',
    b'[["sell","1","2","3"]]',
    b'["buy","1",2]',
    b'"buy"',
    b'"sell"',
    b'"trade"',
    b'"book"',
    b'"ticker"',
    b'"ticker_lite"',
    b'"l2_updates"',
    b'"PI_XBTUSD"',
    b'"NOPE"',
]
"""Raw JSON text put in place of a value (some invalid)."""
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*|true|false|null')


def _normalizer(venue: str, fast: bool) -> Normalizer:
    """A normalizer with the venue's markets; ``fast=False``: its fast path switched off."""
    norm = Normalizer(clock=lambda: 1, markets=markets(venue), fast_paths=fast)
    assert (norm.native[venue]._map_bytes is not None) is fast
    return norm


def _loaded(venue: str, path: Path) -> tuple[Mapper, list[bytes]]:
    """The file's mapper (markets loaded) and its websocket payloads."""
    frames = read_frames(path, venue)
    norm = _normalizer(venue, fast=True)
    norm.process_batch(frames)
    mapper = norm.native[venue].mapper
    assert isinstance(mapper, KrakenFuturesMapper | GeminiMapper)
    return mapper, [f["payload"] for f in frames if f["transport"] == "WEBSOCKET"]


def _outcome(fn: Callable[[], Any]) -> tuple[Any, ...]:
    try:
        return ("events", fn())
    except Exception as exc:
        return ("raised", type(exc), str(exc))


def _generic(mapper: Mapper, payload: bytes) -> tuple[Any, ...]:
    try:
        message = mapper.decode(payload)
    except Exception:
        return ("undecodable",)
    return _outcome(lambda: mapper.map(message))


def _same_or_none(mapper: Mapper, payload: bytes) -> bool:
    """Whether the fast path took the frame (else None), checking it agrees."""
    fast = _outcome(lambda: mapper.map_bytes(payload))
    if fast == ("events", None):
        return False
    assert fast == _generic(mapper, payload), payload[:300]
    return True


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


def _edge_cases(rng: random.Random, payload: bytes) -> list[bytes]:
    """``payload`` with sampled values replaced by each edge value; keys repeated (the odd
    value first or last), escaped; extra keys; invalid bytes; surrounding bytes."""
    tokens = list(_TOKEN.finditer(payload))
    keys = [t for t in tokens if payload[t.end() : t.end() + 1] == b":"]
    values = [t for t in tokens if payload[t.end() : t.end() + 1] != b":"]
    out: list[bytes] = []
    for value in rng.sample(values, min(PLACES, len(values))):
        a, b = value.span()
        out += [payload[:a] + edge + payload[b:] for edge in EDGE_VALUES]
    for key in rng.sample(keys, min(PLACES // 2, len(keys))):
        a, b = key.span()
        name = key.group()
        end = next((v.end() for v in values if v.start() == b + 1), None)
        for edge in EDGE_VALUES:
            out.append(payload[:a] + name + b":" + edge + b"," + payload[a:])
            if end is not None:
                out.append(payload[:end] + b"," + name + b":" + edge + payload[end:])
        escaped = b'"\\u%04x' % name[1] + name[2:]
        out.append(payload[:a] + escaped + payload[b:])
    close = len(payload) - 1
    for extra in (
        b'"z":1e400',
        b'"z":"\xff"',
        b'"\xff":1',
        b'"z":NaN',
        b'"event":"alert"',
        b'"event":"subscribed"',
        b'"result":"error"',
        b'"time":1',
        b'"time":null',
        b'"trades":[]',
        b'"auction_events":[]',
        b'"next_funding_rate_time":0',
        b'"z":18446744073709551616',
    ):
        out.append(payload[:close] + b"," + extra + payload[close:])
    out += [
        b" " + payload + b"\n",
        payload + b"x",
        payload[:-1],
        payload.replace(b'":"', b'":"\\u00', 1),  # an invalid escape
        payload.replace(b'":"', b'":"\\u0041', 1),
    ]
    return out


@pytest.mark.parametrize(("venue", "path"), FILES, ids=IDS)
def test_fast_path_runs_on_every_hot_frame_and_equals_the_generic_path(
    venue: str, path: Path
) -> None:
    mapper, payloads = _loaded(venue, path)
    hot = 0
    for payload in payloads:
        took = _same_or_none(mapper, payload)
        generic = _generic(mapper, payload)
        if generic[0] == "events" and generic[1] and _hot(payload):  # well-formed, hot
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
    edges = [e for p in _seeds(payloads) for e in _edge_cases(rng, p)]
    took = sum(_same_or_none(mapper, p) for p in mutants)
    took_edges = sum(_same_or_none(mapper, p) for p in edges)
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
        for e in _edge_cases(rng, p)
    ]
    # the file as recorded, then the fuzz and edge cases on the same (now synced) state,
    # then the file again
    sequence = frames + fuzzed + edges + frames
    on = outputs_per_frame(_normalizer(venue, fast=True), sequence)
    off = outputs_per_frame(_normalizer(venue, fast=False), sequence)
    for frame, a, b in zip(sequence, on, off, strict=True):
        assert a == b, frame["payload"][:300]
    assert any(r[0].get("dlq.normalize") for r in on)
    assert any(r[0].get(t) for r in on for t in ("md.trades", "md.book", "md.quotes"))
