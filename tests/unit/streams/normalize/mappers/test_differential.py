"""Differential test: every native mapper's records equal the ccxt mapper's, field by field
(exact decimals included), on every recorded or documentation-derived frame file of its
venue (``tests/data/frames/<venue>/*.jsonl``, ``tests/data/real/<venue>/*.jsonl``).

Coverage events are compared separately: the native book synchroniser also reports a book
that waits for its first snapshot (``waiting_for_snapshot``), which the ccxt path does not.
Fields where ccxt is wrong or a venue quirk makes them differ are listed in ``IGNORED``
per venue, each with the reason (checked by hand); every other field must be equal.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tapewire.core.records import TypedRecord
from tapewire.streams.normalize import Normalizer
from tapewire.streams.normalize.mappers import NATIVE_MAPPERS
from tapewire.testing.frames import read_frames

DATA = Path(__file__).resolve().parents[4] / "data"
WAITING = "waiting_for_snapshot"

IGNORED: dict[str, dict[str, str]] = {}
"""venue -> {record field: why native and ccxt differ there}."""

MARKETS: dict[str, Path] = {
    # the 2025 capture holds no instruments response: documentation-shaped market metadata
    # for its six symbols (``tests/data/frames/README.md``), read before it by both paths
    "bybit/bbo.jsonl": DATA / "frames" / "bybit" / "bbo-markets.json",
}
"""``venue/file`` -> REST market frames (frames-file format) for a capture without them."""


def _files(venue: str) -> list[Path]:
    return sorted(p for kind in ("frames", "real") for p in (DATA / kind / venue).glob("*.jsonl"))


CASES = [(venue, path) for venue in sorted(NATIVE_MAPPERS) for path in _files(venue)]


def _plain(records: list[TypedRecord], ignored: dict[str, str]) -> list[dict[str, object]]:
    return [{k: v for k, v in r.to_dict().items() if k not in ignored} for r in records]


def test_every_native_mapper_has_frames_to_compare() -> None:
    assert sorted({venue for venue, _ in CASES}) == sorted(NATIVE_MAPPERS)


@pytest.mark.parametrize(
    ("venue", "path"), CASES, ids=[f"{v}/{p.parent.parent.name}/{p.name}" for v, p in CASES]
)
def test_native_mapper_equals_ccxt_mapper(venue: str, path: Path) -> None:
    key = f"{venue}/{path.name}"
    markets = MARKETS.get(key)
    frames = (read_frames(markets, venue) if markets else []) + read_frames(path, venue)
    native = Normalizer(clock=lambda: 1).process_batch(frames)
    ccxt = Normalizer(clock=lambda: 1, native=False).process_batch(frames)
    ignored = IGNORED.get(venue, {})
    produced = sum(len(native[t]) for t in ("md.trades", "md.book", "md.quotes"))
    assert produced > 0, f"{key}: the native mapper produced nothing"
    for topic in ("md.trades", "md.book", "md.quotes"):
        assert _plain(native[topic], ignored) == _plain(ccxt[topic], ignored), f"{key} {topic}"
    assert native.duplicates == ccxt.duplicates
    assert len(native["dlq.normalize"]) == len(ccxt["dlq.normalize"])
    gaps = [c.to_dict() for c in native["md.coverage"] if c["reason"] != WAITING]
    assert gaps == _plain(ccxt["md.coverage"], {})
