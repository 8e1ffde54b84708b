"""Input files of ``tapewire normalize``: what each is, and its RawFrames in order.

Two formats: Tapewire capture files (gzip JSON lines with a header: ``tapewire record``,
``tapewire import``) and frame files (JSON lines of the test fixtures,
:mod:`tapewire.connectors.capture.frame_lines`; the venue is ``--venue`` or the folder's
name). A cryptofeed raw-data file is recognised and refused with the import command to run.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tapewire.connectors.capture.format import CaptureError, iter_capture, read_header
from tapewire.connectors.capture.frame_lines import is_frame_line, iter_frame_lines
from tapewire.core.errors import TapewireError

CAPTURE, FRAMES = "capture", "frames"
_GZIP_MAGIC = b"\x1f\x8b"
_CRYPTOFEED = re.compile(r"^(configuration: |\d+(\.\d+)?: |\S+ (->|<-|<->) \d)")
_WHAT = "give a capture file (tapewire record, tapewire import) or a frames .jsonl file"
PROGRESS_EVERY = 256
"""Frames between two progress reports."""

Frame = dict[str, Any]
Progress = Callable[[int, int], None]
"""``progress(bytes_read, frames_read)`` of the file being read."""


class OfflineInputError(TapewireError):
    """An input file is missing, unreadable or of no format ``tapewire normalize`` reads."""

    def __init__(
        self, message: str, *, path: Path, line: int | None = None, hint: str = _WHAT
    ) -> None:
        where = f"{path}" + (f":{line}" if line is not None else "")
        super().__init__(f"{where}: {message}", hint=hint)
        self.path = path
        self.line = line


@dataclass(frozen=True)
class FrameSource:
    """One input file: its format (``capture`` or ``frames``), venue (frames only), size."""

    path: Path
    kind: str
    size: int
    venue: str | None = None


def _first_line(path: Path) -> str:
    with path.open("rb") as file:
        for raw in file:
            if raw.strip():
                return raw.decode("utf-8").strip()
    return ""


def detect_source(
    path: Path, *, venue: str | None = None, knows_venue: Callable[[str], bool] = bool
) -> FrameSource:
    """What ``path`` is; :class:`OfflineInputError` (or ``CaptureError``) saying why not."""
    if not path.exists():
        raise OfflineInputError("no such file", path=path)
    if not path.is_file():
        raise OfflineInputError("not a file", path=path)
    try:
        size = path.stat().st_size
        with path.open("rb") as file:
            magic = file.read(2)
        if magic == _GZIP_MAGIC:
            read_header(path)  # raises CaptureError when it is not a Tapewire capture
            return FrameSource(path, CAPTURE, size)
        first = _first_line(path)
    except UnicodeDecodeError:
        raise OfflineInputError("neither a gzip capture nor UTF-8 JSON lines", path=path) from None
    except OSError as exc:
        raise OfflineInputError(f"cannot read: {exc.strerror or exc}", path=path) from None
    if not first:
        raise OfflineInputError("empty file", path=path)
    try:
        row = json.loads(first)
    except ValueError:
        row = None
    if is_frame_line(row):
        name = venue or path.resolve().parent.name
        if venue is None and not knows_venue(name):
            raise OfflineInputError(
                f"a frames file, but its folder {name!r} names no venue",
                path=path,
                hint="pass --venue <ccxt id>, e.g. --venue binance",
            )
        return FrameSource(path, FRAMES, size, name)
    if _CRYPTOFEED.match(first):
        raise OfflineInputError(
            "a cryptofeed raw-data file, not a capture",
            path=path,
            hint="convert it first: tapewire import cryptofeed FILE... --out capture.jsonl.gz",
        )
    raise OfflineInputError("unknown format: the first line is no header and no frame", path=path)


def iter_source(source: FrameSource, progress: Progress | None = None) -> Iterator[Frame]:
    """The RawFrames of ``source`` in file order, reporting progress every few frames."""
    path = source.path
    frames = 0
    lines = 0
    try:
        with path.open("rb") as raw:
            if source.kind == CAPTURE:
                with gzip.GzipFile(fileobj=raw, mode="rb") as file:
                    records: Iterator[Frame] = iter_capture(file, path)
                    for frames, record in enumerate(records, start=1):
                        yield record
                        if progress is not None and frames % PROGRESS_EVERY == 0:
                            progress(raw.tell(), frames)
            else:

                def counted() -> Iterator[bytes]:
                    nonlocal lines
                    for line in raw:
                        lines += 1
                        yield line

                try:
                    for frames, frame in enumerate(
                        iter_frame_lines(counted(), str(source.venue)), start=1
                    ):
                        yield frame
                        if progress is not None and frames % PROGRESS_EVERY == 0:
                            progress(raw.tell(), frames)
                except (ValueError, KeyError, TypeError, AttributeError) as exc:
                    raise OfflineInputError(
                        f"not a frame line ({type(exc).__name__}: {exc})", path=path, line=lines
                    ) from None
    except (OSError, EOFError) as exc:
        raise CaptureError(f"cannot read (truncated or not gzip?): {exc}", path=path) from None
    if progress is not None:
        progress(source.size, frames)
