"""Shared helpers of the per-venue mapper tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from tapewire.core.records import Record
from tapewire.streams.normalize import Normalizer, NormalizeResult
from tapewire.testing.frames import raw_frame, read_frames

DATA = Path(__file__).resolve().parents[4] / "data"
FRAMES = DATA / "frames"
PROCESS_TS = 42


def run_file(
    path: Path, venue: str, markets: dict[str, list[dict[str, Any]]] | None = None
) -> tuple[NormalizeResult, list[NormalizeResult]]:
    """Every frame of a file through one native Normalizer: (total, per frame)."""
    _, total, per_frame = run_with(
        Normalizer(clock=lambda: PROCESS_TS, markets=markets), path, venue
    )
    return total, per_frame


def run_with(
    norm: Normalizer, path: Path, venue: str
) -> tuple[Normalizer, NormalizeResult, list[NormalizeResult]]:
    """Every frame of a file through ``norm``, one at a time: (norm, total, per frame)."""
    per_frame = [norm.process(f) for f in read_frames(path, venue)]
    total = NormalizeResult()
    for res in per_frame:
        total.extend(res)
    return norm, total, per_frame


def run_payloads(
    norm: Normalizer, venue: str, payloads: list[Any], t0: int, connection_id: str = "c1"
) -> NormalizeResult:
    """Websocket payloads (objects are JSON-encoded, str kept as is) through ``norm``."""
    total = NormalizeResult()
    for i, payload in enumerate(payloads):
        text = payload if isinstance(payload, str) else json.dumps(payload)
        frame = raw_frame(
            venue, text.encode(), received_ns=t0 + i, sequence=i, connection_id=connection_id
        )
        total.extend(norm.process(frame))
    return total


def counts(res: NormalizeResult) -> dict[str, int]:
    """Records per topic."""
    return {topic: len(recs) for topic, recs in res.records.items() if recs}


def levels(side: list[dict[str, Decimal]]) -> list[tuple[str, str]]:
    """Book levels as exact text."""
    return [(format(lv["price"], "f"), format(lv["size"], "f")) for lv in side]


def coverage(res: NormalizeResult) -> list[tuple[str, str, int, int | None]]:
    """(event, reason, from_ns, to_ns) of every coverage record."""
    return [(c["event"], c["reason"], c["from_ns"], c["to_ns"]) for c in res["md.coverage"]]


def outputs_per_frame(norm: Normalizer, frames: Sequence[Record]) -> list[Any]:
    """Each frame through ``norm`` alone: its records per topic as dicts and its duplicate
    count (to compare two normalizers frame by frame, e.g. fast paths on and off)."""
    out = []
    for frame in frames:
        res = norm.process(frame)
        out.append(
            ({t: [r.to_dict() for r in recs] for t, recs in res.records.items()}, res.duplicates)
        )
    return out
