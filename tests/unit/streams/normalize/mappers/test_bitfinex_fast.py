"""Bitfinex's fast path (``BitfinexMapper.map_bytes``: msgspec, integers left as ints)
against the generic path (``decode`` then ``map``), as ``test_krakenfutures_gemini_wire``
checks Kraken Futures' and Gemini's: on the documented frames, their fuzz mutations and
edge values, ``map_bytes`` gives None or exactly what the generic path gives, and it takes
every well-formed hot frame; the whole normalizer gives the same records with it on and off.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tapewire.streams.normalize.mappers import MapError
from tapewire.streams.normalize.mappers.bitfinex import BitfinexMapper
from tapewire.streams.normalize.mappers.events import TradeEvent
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

PATH = Path(__file__).resolve().parents[4] / "data" / "frames" / "bitfinex" / "frames.jsonl"
EXTRA = [b"[1,-0]", b"[1,[0,-0,2]]", b'[1,"hb"]', b"[1.0,[1,2,3]]", b'["1","te",[1,2,3,4]]']


def _loaded() -> tuple[BitfinexMapper, list[bytes]]:
    frames = read_frames(PATH, "bitfinex")
    norm = venue_normalizer("bitfinex", fast=True)
    norm.process_batch(frames)
    mapper = norm.native["bitfinex"].mapper
    assert isinstance(mapper, BitfinexMapper)
    return mapper, [f["payload"] for f in frames if f["transport"] == "WEBSOCKET"]


def test_fast_path_takes_every_hot_frame_and_equals_the_generic_path() -> None:
    mapper, payloads = _loaded()
    hot = 0
    for payload in payloads:
        took = same_or_none(mapper, payload)
        slow = generic(mapper, payload)
        snapshot_of_trades = b'"te"' not in payload and b"[[" in payload and b"," in payload
        if slow[0] == "events" and slow[1] and not payload.startswith(b"{"):
            if isinstance(slow[1][0], TradeEvent) and snapshot_of_trades:
                continue  # the trades snapshot (the first frame) takes the generic path
            hot += 1
            assert took, payload[:200]
    assert hot > 3


def test_fast_path_on_mutated_and_edge_frames_is_the_generic_path_or_none() -> None:
    mapper, payloads = _loaded()
    rng = random.Random("bitfinex-fast")
    mutants = [mutate(rng, rng.choice(payloads)) for _ in range(MUTANTS)]
    arrays = [p for p in payloads if p.startswith(b"[")]
    edges = [e for p in arrays for e in edge_cases(rng, p)]
    edges += [p[:1] + b"1" + p[p.index(b",") :] for p in arrays]  # an unknown chanId
    took = sum(same_or_none(mapper, p) for p in mutants)
    took_edges = sum(same_or_none(mapper, p) for p in edges + EXTRA)
    assert took > MUTANTS // 40
    assert took_edges > len(edges) // 40


def test_unknown_instrument_raises_the_generic_paths_error() -> None:
    mapper, _ = _loaded()
    subscribed = b'{"event":"subscribed","channel":"trades","chanId":999,"symbol":"tNOPEUSD"}'
    assert mapper.map(mapper.decode(subscribed)) == []
    payload = b'[999,"te",[1,1700000000000,-0.5,27000]]'
    with pytest.raises(MapError) as fast:
        mapper.map_bytes(payload)
    with pytest.raises(MapError) as generic:
        mapper.map(mapper.decode(payload))
    assert str(fast.value) == str(generic.value)


def test_normalizer_outputs_identical_with_the_fast_path_on_and_off() -> None:
    frames = read_frames(PATH, "bitfinex")
    rng = random.Random("bitfinex-fast-normalizer")
    seeds = [f for f in frames if f["transport"] == "WEBSOCKET"]
    fuzzed = [dict(f, payload=mutate(rng, f["payload"])) for f in rng.choices(seeds, k=MUTANTS)]
    edges = [
        dict(f, payload=e)
        for f in seeds
        if f["payload"].startswith(b"[")
        for e in edge_cases(rng, f["payload"])
    ]
    sequence = frames + fuzzed + edges + frames
    assert_same_outputs(
        sequence, venue_normalizer("bitfinex", fast=True), venue_normalizer("bitfinex", fast=False)
    )
