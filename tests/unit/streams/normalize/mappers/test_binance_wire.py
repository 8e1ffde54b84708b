"""Binance spot / USD-M typed fast path (``map_bytes``, ``binance_wire``): on every recorded
and documented frame, and on mutated copies of them (the fuzz test's mutations plus edge
cases aimed at the typed decode), ``map_bytes`` gives None or exactly what
``map(orjson.loads(...))`` gives (the same events, or the same error); it is not None on a
well-formed hot-channel frame; the whole normalizer's records and dead letters are the same
with the fast path on and off."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from tapewire.core.records import Record
from tapewire.streams.normalize import Normalizer
from tapewire.streams.normalize.mappers import MapError
from tapewire.streams.normalize.mappers.binance import BinanceMapper
from tapewire.streams.normalize.mappers.events import DerivativesEvent
from tapewire.testing.frames import read_frames
from tests.unit.streams.normalize.mappers.fast_path_checks import (
    MUTANTS,
    assert_same_outputs,
    generic,
    same_or_none,
)
from tests.unit.streams.normalize.mappers.mutations import mutate

DATA = Path(__file__).resolve().parents[4] / "data"
FILES = [
    ("binance", DATA / "real" / "binance" / "frames.jsonl"),
    ("binance", DATA / "frames" / "binance" / "frames.jsonl"),
    ("binanceusdm", DATA / "frames" / "binanceusdm" / "frames.jsonl"),
    ("binanceusdm", DATA / "frames" / "binanceusdm" / "derivatives.jsonl"),
]
IDS = [f"{venue}/{path.parent.parent.name}/{path.name}" for venue, path in FILES]

EDGE_VALUES = [
    b"1.0",
    b"1e2",
    b"-0",
    b"true",
    b"null",
    b'"1"',
    b"9223372036854775807",
    b"9223372036854775808",
    b"18446744073709551615",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"1" + b"0" * 400,
    b"1e400",
    b"NaN",
    b'"\\u0031\\u002e5"',
    b'"\\ud800"',
    b'"\\udc00\\ud800"',
    b'"\\ud800\\u0041"',
    b'"\\ud83d\\ude00"',
    b'"\\/\\"\\\\"',
    b'"\x7f\xf0\x9f\x98\x80"',
    b'"\xc0\xaf"',
    b'"\xed\xa0\x80"',
    b'"\t"',
    b"1.",
    b".5",
    b"+1",
    b"1e",
    b"01",
    b'"\xff"',
    b'"x\\u0000"',
    b"[]",
    b'[["1","2"]]',
    b'[["1","2","3"]]',
    b'[["1",2]]',
    b"{}",
]
"""Values put in place of each value of a frame (raw JSON text, some invalid)."""


def _normalized(venue: str, path: Path) -> tuple[Normalizer, list[Record]]:
    frames = read_frames(path, venue)
    norm = Normalizer(clock=lambda: 1)
    norm.process_batch(frames)
    return norm, [f for f in frames if f["transport"] == "WEBSOCKET"]


def _edge_cases(payload: bytes) -> list[bytes]:
    """Each top-level or ``data`` value replaced by each edge value; keys duplicated, added,
    escaped; invalid bytes in an unread key and value."""
    out: list[bytes] = []
    try:
        message = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return out
    if not isinstance(message, dict):
        return out
    data = message.get("data")
    inner: dict[str, Any] = data if isinstance(data, dict) else message
    for key, value in inner.items():
        text = orjson.dumps(value)
        at = payload.find(b'"' + key.encode() + b'":' + text)
        if at < 0:
            continue
        start = at + len(key) + 3
        for edge in EDGE_VALUES:
            out.append(payload[:start] + edge + payload[start + len(text) :])
        # the same key again, first or last (orjson keeps the last value)
        out.append(payload[:at] + b'"' + key.encode() + b'":1,' + payload[at:])
        out.append(
            payload[: at + len(key) + 3 + len(text)]
            + b',"'
            + key.encode()
            + b'":1'
            + payload[start + len(text) :]
        )
        out.append(
            payload[:at]
            + b'"\\u00'
            + f"{ord(key[0]):02x}".encode()
            + key[1:].encode()
            + payload[at + 1 + len(key) :]
        )
        # the key twice with valid values: the same one, another event type or string
        out.append(payload[:at] + b'"' + key.encode() + b'":' + text + b"," + payload[at:])
        for other in (b'"trade"', b'"aggTrade"', b'"bookTicker"', b'"depthUpdate"', b'"X"'):
            out.append(payload[:at] + b'"' + key.encode() + b'":' + other + b"," + payload[at:])
            out.append(
                payload[: start + len(text)]
                + b',"'
                + key.encode()
                + b'":'
                + other
                + payload[start + len(text) :]
            )
        if isinstance(value, str) and value:  # the value's first character escaped
            escaped = b'"\\u%04x' % ord(value[0]) + value[1:].encode() + b'"'
            out.append(payload[:start] + escaped + payload[start + len(text) :])
    close = payload.rfind(b"}", 0, len(payload) - 1) if inner is not message else len(payload) - 1
    for extra in (
        b'"z":1e400',
        b'"z":"\xff"',
        b'"\xff":1',
        b'"z":NaN',
        b'"data":{"e":"trade"}',
        b'"data":null',
        b'"stream":"x"',
        b'"e":null',
        b'"E":1',
        b'"z":18446744073709551616',
    ):
        out.append(payload[:close] + b"," + extra + payload[close:])
    out += [
        b" " + payload + b"\n",
        payload + b"x",
        payload.replace(b'"e":"', b'"e":"\\u00', 1),  # an invalid escape
        payload.replace(b'":"', b'":"\\u0041', 1),
    ]
    return out


@pytest.mark.parametrize(("venue", "path"), FILES, ids=IDS)
def test_map_bytes_is_none_or_what_map_gives(venue: str, path: Path) -> None:
    norm, frames = _normalized(venue, path)
    mapper = norm.native[venue].mapper
    assert isinstance(mapper, BinanceMapper)
    fast_ran = 0
    for frame in frames:  # as recorded / documented
        payload = frame["payload"]
        slow = generic(mapper, payload)
        took = same_or_none(mapper, payload)
        if slow[0] == "raised" and slow[1] is MapError and "'market'" in slow[2]:
            assert took  # an unknown instrument: the same error
        if slow[0] == "events" and any(not isinstance(e, DerivativesEvent) for e in slow[1]):
            assert took  # a well-formed hot-channel frame: the fast path maps it
            fast_ran += 1
    assert fast_ran or path.name == "derivatives.jsonl"
    rng = random.Random(f"binance-wire-{path.relative_to(DATA)}")
    mutants = [mutate(rng, rng.choice(frames)["payload"]) for _ in range(MUTANTS)]
    for frame in frames:
        mutants += _edge_cases(frame["payload"])
    taken = sum(same_or_none(mapper, payload) for payload in mutants)
    if fast_ran:  # the mutants really reached the fast path (no hot frame: none should)
        assert taken > len(mutants) // 20
    else:
        assert taken == 0


@pytest.mark.parametrize(("venue", "path"), FILES, ids=IDS)
def test_normalizer_outputs_equal_with_fast_path_on_and_off(venue: str, path: Path) -> None:
    frames = read_frames(path, venue)
    rng = random.Random(f"binance-wire-norm-{path.relative_to(DATA)}")
    seeds = [f for f in frames if f["transport"] == "WEBSOCKET"]
    fuzzed = [dict(f, payload=mutate(rng, f["payload"])) for f in rng.choices(seeds, k=MUTANTS)]
    edges = [dict(f, payload=p) for f in seeds for p in _edge_cases(f["payload"])]
    sequence = frames + fuzzed + edges + frames
    on, off = Normalizer(clock=lambda: 1), Normalizer(clock=lambda: 1, fast_paths=False)
    assert_same_outputs(sequence, on, off)
    assert on.native[venue]._map_bytes is not None
    assert off.native[venue]._map_bytes is None
