"""Fuzz every native mapper with mutated copies of its recorded/documented frames.

For each venue in ``NATIVE_MAPPERS``: its frame files are normalized once (markets loaded,
books synced), then ``TAPEWIRE_FUZZ_CASES`` (default 3,000; ``make fuzz`` runs 100,000)
seeded mutations of its frames go through the same normalizer. Each bad frame must give
exactly one dead letter of a Tapewire error type (never a bare Python exception name,
which would mean the mapper let an unforeseen error escape) with a reason naming what was
wrong, and no market record from that frame.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from tapewire.streams.normalize import Normalizer
from tapewire.streams.normalize.mappers import NATIVE_MAPPERS
from tapewire.testing.frames import read_frames
from tests.unit.streams.normalize.mappers.mutations import mutate
from tests.unit.streams.normalize.mappers.test_differential import markets

DATA = Path(__file__).resolve().parents[4] / "data"
CASES = int(os.environ.get("TAPEWIRE_FUZZ_CASES", "3000"))
DECIMAL_FIELDS = {
    "price",
    "size",
    "bid",
    "bid_size",
    "ask",
    "ask_size",
    "mark_price",
    "index_price",
    "funding_rate",
}
"""Names the exact-decimal check gives (``streams/normalize/decimals.py``)."""
ERROR_TYPES = {
    "ParseError",
    "DecodeError",
    "UnknownInstrument",
    "PrecisionError",
    "FloatLeak",
    "ChecksumError",
    "SchemaError",
    "Unsupported",
    "RestError",
    "NoMarkets",
    "MarketsError",
    "HandlerError",
}


def _market_metadata(frame: dict[str, object]) -> bool:
    return (
        frame["transport"] == "REST"
        and frame.get("symbol") is None
        and "depth" not in str(frame.get("rest_url") or "")
    )


@pytest.mark.parametrize("venue", sorted(NATIVE_MAPPERS))
def test_mutated_frames_give_one_named_dead_letter_each(venue: str) -> None:
    files = [
        p for kind in ("frames", "real") for p in sorted((DATA / kind / venue).glob("*.jsonl"))
    ]
    runs = []  # one normalizer per file: each file brings its own markets
    for path in files:
        frames = read_frames(path, venue)
        norm = Normalizer(clock=lambda: 1, markets=markets(venue))  # markets.json, if any
        norm.process_batch(frames)
        seeds = [f for f in frames if not _market_metadata(f)]
        if seeds:
            runs.append((norm, seeds))
    assert runs, f"{venue}: no frames to fuzz"
    rng = random.Random(f"fuzz-{venue}")
    bad = escapes = 0
    for _ in range(CASES):
        norm, seeds = rng.choice(runs)
        seed = rng.choice(seeds)
        frame = dict(seed, payload=mutate(rng, seed["payload"]))
        res = norm.process(frame)
        dead = res["dlq.normalize"]
        assert len(dead) <= 1
        if dead:
            bad += 1
            letter = dead[0]
            if letter["error_type"] not in ERROR_TYPES:
                escapes += 1
                pytest.fail(f"{venue}: escaped {letter['error_type']}: {letter['reason']}")
            assert letter["reason"], letter
            if letter["error_type"] == "ParseError":  # names the field and its value
                reason = letter["reason"]
                assert "field '" in reason or reason.split()[0] in DECIMAL_FIELDS, reason
            assert res["md.trades"] == res["md.quotes"] == res["md.book"] == []
            assert res["md.derivatives"] == []
    assert escapes == 0
    assert bad > CASES // 10  # the mutations really produced bad frames
