"""What every importer shares: its error, its stats, and the merge into one capture file."""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tapewire.connectors.capture.format import CaptureWriter
from tapewire.core.errors import TapewireError

Frame = dict[str, Any]
"""A RawFrame record (as :func:`~tapewire.connectors.capture.read_capture` yields it)."""


class ImportFileError(TapewireError):
    """An input file is missing, unreadable or not in the importer's format."""

    def __init__(self, message: str, *, path: Path, line: int | None = None, hint: str) -> None:
        where = f"{path}" + (f":{line}" if line is not None else "")
        super().__init__(f"{where}: {message}", hint=hint)
        self.path = path
        self.line = line


@dataclass
class ImportStats:
    """What an import wrote: frames per venue and transport, input lines not imported."""

    out: Path
    files: int = 0
    frames: int = 0
    venues: Counter[str] = field(default_factory=Counter)
    transports: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    first_ns: int | None = None
    last_ns: int | None = None


def write_capture(
    streams: Iterable[Iterator[Frame]], out: Path, *, source: str, stats: ImportStats
) -> ImportStats:
    """Merge per-connection frame streams by receive time (ties: stream order, then file
    order) into the capture file ``out``; written to ``<out>.partial`` and renamed at the
    end, so a failed import leaves no capture behind."""
    partial = out.with_name(out.name + ".partial")
    try:
        with CaptureWriter(partial, source=source) as writer:
            for frame in heapq.merge(*streams, key=lambda f: int(f["receive_ts_ns"])):
                writer(frame)
                stats.frames += 1
                stats.venues[frame["venue"]] += 1
                stats.transports[frame["transport"]] += 1
                ts = int(frame["receive_ts_ns"])
                stats.first_ns = ts if stats.first_ns is None else stats.first_ns
                stats.last_ns = ts
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(out)
    return stats
