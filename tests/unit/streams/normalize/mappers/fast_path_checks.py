"""Shared checks of the typed fast paths (``Mapper.map_bytes``) against the generic path
(the mapper's ``decode`` then ``map``), used by the per-venue fast-path tests."""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable, Sequence
from typing import Any

from tapewire.core.records import Record
from tapewire.streams.normalize import Normalizer
from tapewire.streams.normalize.mappers.base import Mapper
from tests.unit.streams.normalize.mappers.helpers import outputs_per_frame
from tests.unit.streams.normalize.mappers.test_differential import markets

MUTANTS = int(os.environ.get("TAPEWIRE_FUZZ_CASES", "1500"))
"""Mutated frames per seed file (``make fuzz`` raises it with the fuzz test's cases)."""
MARKET_TOPICS = ("md.trades", "md.book", "md.quotes", "md.derivatives")
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


def outcome(fn: Callable[..., Any], *args: Any) -> tuple[Any, ...]:
    """``("events", result)`` of ``fn(*args)``, or ``("raised", type, message)``."""
    try:
        return ("events", fn(*args))
    except Exception as exc:
        return ("raised", type(exc), str(exc))


def generic(mapper: Mapper, payload: bytes) -> tuple[Any, ...]:
    """:func:`outcome` of the generic path; ``("undecodable",)`` if ``decode`` refuses."""
    try:
        message = mapper.decode(payload)
    except Exception:
        return ("undecodable",)
    return outcome(mapper.map, message)


def same_or_none(mapper: Mapper, payload: bytes) -> bool:
    """Whether the fast path took the frame (else it gave None), asserting that it gave
    exactly what the generic path gives (the same events, or the same exception). Both run
    on ``mapper`` one after the other: for mappers whose ``map`` changes state a frame
    depends on (Kraken's books seen), compare from copies instead (``test_kraken_fast``)."""
    fast = outcome(mapper.map_bytes, payload)
    if fast == ("events", None):
        return False
    assert fast == generic(mapper, payload), payload[:300]
    return True


def assert_same_outputs(sequence: Sequence[Record], on: Normalizer, off: Normalizer) -> None:
    """``sequence`` through a normalizer with the fast paths on and one with them off: the
    same records (coverage and dead letters included) and duplicates, frame by frame; some
    frames were dead letters and some gave market records."""
    fast = outputs_per_frame(on, sequence)
    slow = outputs_per_frame(off, sequence)
    for frame, a, b in zip(sequence, fast, slow, strict=True):
        assert a == b, frame["payload"][:300]
    assert any(r[0].get("dlq.normalize") for r in fast)
    assert any(r[0].get(t) for r in fast for t in MARKET_TOPICS)


def venue_normalizer(venue: str, fast: bool) -> Normalizer:
    """A normalizer with the venue's markets; ``fast=False``: its fast path switched off."""
    norm = Normalizer(clock=lambda: 1, markets=markets(venue), fast_paths=fast)
    assert (norm.native[venue]._map_bytes is not None) is fast
    return norm


def edge_cases(rng: random.Random, payload: bytes) -> list[bytes]:
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
