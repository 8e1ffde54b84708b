"""Publish a capture at its original pace, N times faster, or as fast as allowed."""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tapewire.connectors.capture.format import CaptureError, iter_capture
from tapewire.core import metrics
from tapewire.core.errors import ConfigError

Progress = Callable[[int, int, int], None]
"""``progress(frames_done, compressed_bytes_read, compressed_bytes_total)``."""


def parse_speed(text: str) -> float | None:
    """``"1"``, ``"10"``, ``"0.5"`` -> factor; ``"max"`` -> None (no pacing)."""
    if text.strip().lower() == "max":
        return None
    try:
        speed = float(text)
    except ValueError:
        speed = 0.0
    if not speed > 0 or speed != speed or speed == float("inf"):
        raise ConfigError(
            f"--speed {text!r}: expected a positive number or 'max'",
            field="speed",
            value=text,
            hint="e.g. --speed 1 (original pace), --speed 10, --speed max",
        )
    return speed


@dataclass(frozen=True)
class ReplayStats:
    """What a replay did."""

    frames: int
    elapsed_s: float
    capture_span_s: float


def replay_capture(
    path: Path,
    sink: Callable[[dict[str, Any]], None],
    *,
    speed: float | None = 1.0,
    max_rate: float | None = 100_000.0,
    mark_replay: bool = False,
    limit: int | None = None,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ReplayStats:
    """Send every record of ``path`` to ``sink``.

    Pacing: frame *i* goes out no earlier than ``(receive_ts_ns[i] - receive_ts_ns[0]) /
    speed`` after the start (``speed=None``: no pacing) and no earlier than ``i /
    max_rate`` (a bound on the rate in every mode; ``None``: unbounded). Records are sent
    unchanged (byte-identical RawFrames) unless ``mark_replay`` sets ``origin=REPLAY``.
    """
    if not path.is_file():
        raise CaptureError("no such file", path=path)
    total = path.stat().st_size
    start = clock()
    first_ts: int | None = None
    last_ts = 0
    frames = 0
    counter = metrics.messages_processed.labels("replay", "md.raw")
    try:
        with path.open("rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as file:
            for record in iter_capture(file, path):
                if limit is not None and frames >= limit:
                    break
                ts = int(record["receive_ts_ns"])
                first_ts = ts if first_ts is None else first_ts
                last_ts = ts
                due = 0.0
                if speed is not None:
                    due = (ts - first_ts) / 1e9 / speed
                if max_rate is not None:
                    due = max(due, frames / max_rate)
                wait = start + due - clock()
                if wait > 0:
                    sleep(wait)
                if mark_replay:
                    record["origin"] = "REPLAY"
                sink(record)
                counter.inc()
                frames += 1
                if progress is not None and (frames % 1000 == 0):
                    progress(frames, raw.tell(), total)
    except (OSError, EOFError) as exc:
        raise CaptureError(f"cannot read (truncated or not gzip?): {exc}", path=path) from None
    if progress is not None:
        progress(frames, total, total)
    span = (last_ts - first_ts) / 1e9 if first_ts is not None else 0.0
    return ReplayStats(frames, clock() - start, span)
