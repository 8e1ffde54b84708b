"""Bitget's and Crypto.com's typed fast paths (``map_bytes``; ``bitget_wire``,
``cryptocom_wire``) against the generic path (the mapper's ``decode`` then ``map``), as
``test_krakenfutures_gemini_wire`` checks Kraken Futures' and Gemini's: on the documented
frames, their fuzz mutations and edge values, ``map_bytes`` gives None or exactly what the
generic path gives, and it takes every well-formed hot frame; the whole normalizer gives the
same records with it on and off.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tapewire.streams.normalize import Normalizer
from tapewire.streams.normalize.mappers import MapError
from tapewire.streams.normalize.mappers.base import Mapper
from tapewire.testing.frames import read_frames
from tests.unit.streams.normalize.mappers.fast_path_checks import (
    MUTANTS,
    assert_same_outputs,
    edge_cases,
    generic,
    same_or_none,
)
from tests.unit.streams.normalize.mappers.mutations import mutate
from tests.unit.streams.normalize.mappers.test_differential import markets

DATA = Path(__file__).resolve().parents[4] / "data"
FILES = ["frames/bitget/frames.jsonl", "frames/cryptocom/frames.jsonl"]
"""Paths relative to tests/data (the mutants' seeds: the same in every checkout)."""
UNKNOWN = {
    "bitget": b'{"action":"update","arg":{"instType":"SPOT","channel":"books","instId":"NOPE"},'
    b'"data":[{"asks":[],"bids":[["1","2"]],"checksum":0,"seq":1,"ts":"1"}],"ts":1}',
    "cryptocom": b'{"id":-1,"method":"subscribe","code":0,"result":{"instrument_name":"NOPE",'
    b'"channel":"trade","data":[{"d":"1","t":1,"q":"1","p":"1","s":"BUY"}]}}',
}


def _normalizer(venue: str, fast: bool) -> Normalizer:
    """A normalizer with the venue's markets; ``fast=False``: its fast path switched off
    (the venue's mapper is made when its market REST frames load)."""
    return Normalizer(clock=lambda: 1, markets=markets(venue), fast_paths=fast)


def _venue(name: str) -> str:
    return name.split("/")[1]


def _loaded(name: str) -> tuple[Mapper, list[bytes]]:
    venue = _venue(name)
    frames = read_frames(DATA / name, venue)
    norm = _normalizer(venue, fast=True)
    norm.process_batch(frames)
    assert norm.native[venue]._map_bytes is not None
    return norm.native[venue].mapper, [
        f["payload"] for f in frames if f["transport"] == "WEBSOCKET"
    ]


def _hot(venue: str, payload: bytes) -> bool:
    """A push of a fast-path channel."""
    try:
        message = json.loads(payload)
    except ValueError:
        return False
    if not isinstance(message, dict):
        return False
    if venue == "bitget":
        arg = message.get("arg") or {}
        return arg.get("channel") == "books" and "event" not in message
    result = message.get("result") or {}
    return message.get("method") == "subscribe" and result.get("channel") in (
        "trade",
        "ticker",
        "book",
        "book.update",
    )


@pytest.mark.parametrize("name", FILES)
def test_fast_path_takes_every_hot_frame_and_equals_the_generic_path(name: str) -> None:
    mapper, payloads = _loaded(name)
    hot = 0
    for payload in payloads:
        took = same_or_none(mapper, payload)
        expected = generic(mapper, payload)
        if _hot(_venue(name), payload) and expected[0] == "events":
            hot += 1
            assert took, payload[:300]
    assert hot > 3


@pytest.mark.parametrize("name", FILES)
def test_fast_path_on_mutated_and_edge_frames_is_the_generic_path_or_none(name: str) -> None:
    mapper, payloads = _loaded(name)
    rng = random.Random(f"{name}-fast")
    mutants = [mutate(rng, rng.choice(payloads)) for _ in range(MUTANTS)]
    edges = [e for p in payloads if _hot(_venue(name), p) for e in edge_cases(rng, p)]
    took = sum(same_or_none(mapper, p) for p in mutants)
    took_edges = sum(same_or_none(mapper, p) for p in edges)
    assert took > MUTANTS // 40
    assert took_edges > len(edges) // 40


@pytest.mark.parametrize("name", FILES)
def test_unknown_instrument_raises_the_generic_paths_error(name: str) -> None:
    mapper, _ = _loaded(name)
    payload = UNKNOWN[_venue(name)]
    with pytest.raises(MapError) as fast:
        mapper.map_bytes(payload)
    with pytest.raises(MapError) as slow:
        mapper.map(mapper.decode(payload))
    assert str(fast.value) == str(slow.value)


@pytest.mark.parametrize("name", FILES)
def test_normalizer_outputs_identical_with_the_fast_path_on_and_off(name: str) -> None:
    venue = _venue(name)
    frames = read_frames(DATA / name, venue)
    rng = random.Random(f"{name}-fast-normalizer")
    seeds = [f for f in frames if f["transport"] == "WEBSOCKET"]
    fuzzed = [dict(f, payload=mutate(rng, f["payload"])) for f in rng.choices(seeds, k=MUTANTS)]
    edges = [
        dict(f, payload=e)
        for f in seeds
        if _hot(venue, f["payload"])
        for e in edge_cases(rng, f["payload"])
    ]
    sequence = frames + fuzzed + edges + frames
    fast, slow = _normalizer(venue, fast=True), _normalizer(venue, fast=False)
    assert_same_outputs(sequence, fast, slow)
    assert fast.native[venue]._map_bytes is not None
    assert slow.native[venue]._map_bytes is None
