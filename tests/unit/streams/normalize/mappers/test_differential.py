"""Differential test: every native mapper's records equal the ccxt mapper's, field by field
(exact decimals included), on every recorded or documentation-derived frame file of its
venue (``tests/data/frames/<venue>/*.jsonl``, ``tests/data/real/<venue>/*.jsonl``). Venues
whose markets cannot be loaded from REST frames yet get both normalizers built with the
unified markets of ``tests/data/frames/<venue>/markets.json``.

Coverage events are compared separately: the native book synchroniser also reports a book
that waits for its first snapshot (``waiting_for_snapshot``), which the ccxt path does not.
Fields where ccxt is wrong or a venue quirk makes them differ are listed in ``IGNORED``
per venue, each with the reason (checked by hand); every other field must be equal.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tapewire.core.records import TypedRecord
from tapewire.streams.normalize import Normalizer
from tapewire.streams.normalize.mappers import NATIVE_MAPPERS
from tapewire.testing.frames import read_frames

DATA = Path(__file__).resolve().parents[4] / "data"
WAITING = "waiting_for_snapshot"

IGNORED: dict[str, dict[str, str]] = {
    "htx": {
        "trade_id": "ccxt reports the deprecated trade `id`; the native mapper HTX's current "
        "`tradeId` (both unique per trade)",
    },
}
"""venue -> {record field: why native and ccxt differ there}."""
# mexc: no field ignored, but ``trade_id`` is equal by construction: MEXC's deals carry no
# id and ccxt leaves it empty, so the MEXC adapter (venues/mexc.py) gives ccxt's trades the
# native mapper's ``<time>-<n>``; prices, sizes, sides, times and books are compared as is.

NOT_PARSED_BY_CCXT: dict[str, str] = {
    "kraken/v1.jsonl": "Kraken websocket v1 arrays: ccxt.pro 4.5.90's kraken dispatches only v2 "
    "objects (it maps none of these frames); v1 is checked against the same data in v2 by "
    "tests/unit/streams/normalize/mappers/test_kraken.py",
}
"""``<venue>/<file>`` -> why the ccxt mapper cannot be the reference for that file."""

MARKET_FRAMES: dict[str, Path] = {
    # the 2025 capture holds no instruments response: documentation-shaped market metadata
    # for its six symbols (``tests/data/frames/README.md``), read before it by both paths
    "bybit/bbo.jsonl": DATA / "frames" / "bybit" / "bbo-markets.json",
}
"""``<venue>/<file>`` -> REST market frames (frames-file format) read before that file."""

OPTIONS: dict[str, dict[str, dict[str, Any]]] = {
    # a connector subscribed to OKX swaps only: ccxt requests (and the file answers) only
    # ``instruments?instType=SWAP``
    "okx/swap.jsonl": {"okx": {"fetchMarkets": {"types": ["swap"]}}},
}
"""``<venue>/<file>`` -> the ccxt options (per venue) the file's markets were captured with."""

MARKETS_ONLY: dict[str, str] = {
    "okx/instruments.jsonl": "market REST responses only (no websocket frame): the markets "
    "regression file of tests/unit/streams/normalize/test_markets.py",
}
"""``<venue>/<file>`` -> why the file has no market data to compare."""


def _files(venue: str) -> list[Path]:
    return sorted(p for kind in ("frames", "real") for p in (DATA / kind / venue).glob("*.jsonl"))


def markets(venue: str) -> dict[str, list[dict[str, Any]]] | None:
    """Unified ccxt markets of a venue whose frame files carry no loadable market REST
    responses (``tests/data/frames/<venue>/markets.json``), else None."""
    path = DATA / "frames" / venue / "markets.json"
    return {venue: json.loads(path.read_text(encoding="utf-8"))} if path.exists() else None


CASES = [
    (venue, path)
    for venue in sorted(NATIVE_MAPPERS)
    for path in _files(venue)
    if f"{venue}/{path.name}" not in MARKETS_ONLY
]


def _plain(records: list[TypedRecord], ignored: dict[str, str]) -> list[dict[str, object]]:
    return [{k: v for k, v in r.to_dict().items() if k not in ignored} for r in records]


def test_every_native_mapper_has_frames_to_compare() -> None:
    assert sorted({venue for venue, _ in CASES}) == sorted(NATIVE_MAPPERS)
    for key in MARKETS_ONLY:  # left out of CASES: really no websocket frame in them
        venue, name = key.split("/")
        frames = read_frames(DATA / "frames" / venue / name, venue)
        assert frames, key
        assert all(f["transport"] == "REST" for f in frames), key


@pytest.mark.parametrize(
    ("venue", "path"), CASES, ids=[f"{v}/{p.parent.parent.name}/{p.name}" for v, p in CASES]
)
def test_native_mapper_equals_ccxt_mapper(venue: str, path: Path) -> None:
    key = f"{venue}/{path.name}"
    before = MARKET_FRAMES.get(key)
    frames = (read_frames(before, venue) if before else []) + read_frames(path, venue)
    loaded, options = markets(venue), OPTIONS.get(key)
    native = Normalizer(clock=lambda: 1, markets=loaded, options=options).process_batch(frames)
    ccxt_norm = Normalizer(clock=lambda: 1, native=False, markets=loaded, options=options)
    ccxt = ccxt_norm.process_batch(frames)
    if key in NOT_PARSED_BY_CCXT:  # the stated reason holds: ccxt maps none of the frames
        assert sum(len(ccxt[t]) for t in ("md.trades", "md.book", "md.quotes")) == 0
        assert sum(len(native[t]) for t in ("md.trades", "md.book", "md.quotes")) > 0
        return
    ignored = IGNORED.get(venue, {})
    produced = sum(len(native[t]) for t in ("md.trades", "md.book", "md.quotes"))
    assert produced > 0, f"{key}: the native mapper produced nothing"
    for topic in ("md.trades", "md.book", "md.quotes"):
        assert _plain(native[topic], ignored) == _plain(ccxt[topic], ignored), f"{key} {topic}"
    assert native.duplicates == ccxt.duplicates
    assert len(native["dlq.normalize"]) == len(ccxt["dlq.normalize"])
    gaps = [c.to_dict() for c in native["md.coverage"] if c["reason"] != WAITING]
    assert gaps == _plain(ccxt["md.coverage"], {})
