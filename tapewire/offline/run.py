"""``tapewire normalize``: input files -> topic files + ``summary.json``, no Kafka."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from tapewire.offline.sources import FrameSource, detect_source, iter_source
from tapewire.offline.summary import RunSummary
from tapewire.offline.topic_files import TopicFiles
from tapewire.streams.normalize import Normalizer

SUMMARY = "summary.json"
FileProgress = Callable[[FrameSource, int, int], None]
"""``progress(source, bytes_read, frames_read)``."""


def normalize_files(
    paths: Sequence[Path],
    out: Path,
    *,
    fmt: str = "jsonl",
    venue: str | None = None,
    normalizer: Normalizer | None = None,
    progress: FileProgress | None = None,
    on_source: Callable[[FrameSource], None] | None = None,
) -> dict[str, Any]:
    """Normalize ``paths`` in order, as one stream (a later file continues the books of
    an earlier one), into ``out/<topic>.<fmt>`` and ``out/summary.json``; returns the
    summary. Every input is checked before anything is written."""
    norm = normalizer or Normalizer()
    sources = [detect_source(p, venue=venue, knows_venue=norm.knows_venue) for p in paths]
    summary = RunSummary()
    with TopicFiles(out, fmt) as files:
        for source in sources:
            if on_source is not None:
                on_source(source)
            report = None if progress is None else _bind(progress, source)
            frames = 0
            for frame in iter_source(source, report):
                result = norm.process(frame)
                summary.add(frame, result)
                files.write(result.records)
                frames += 1
            summary.files.append(
                {"path": str(source.path), "format": source.kind, "frames": frames}
                | ({"venue": source.venue} if source.venue else {})
            )
        outputs = {topic: str(w.path) for topic, w in files.writers.items()}
    document = {**summary.as_json(norm), "outputs": outputs, "format": fmt}
    (out / SUMMARY).write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    return document


def _bind(progress: FileProgress, source: FrameSource) -> Callable[[int, int], None]:
    def report(done: int, frames: int) -> None:
        progress(source, done, frames)

    return report
