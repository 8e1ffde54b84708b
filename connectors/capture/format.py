"""The capture file format: gzip-compressed JSON lines of RawFrame records.

Line 1 is a header object ``{"format": "tapewire-capture", "version": 1, "schema":
"io.tapewire.RawFrame", "created_ns": ..., "source": ...}``. Every further line is one
RawFrame with its fields as in the Avro schema, except that the ``payload`` bytes are
stored as standard base64 in ``payload_b64``. Lines are in receive order. Readable with
``zcat`` plus any JSON library; concatenated gzip members (an appended file) are fine.
"""

from __future__ import annotations

import base64
import gzip
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import orjson

from tapewire.core.errors import TapewireError

FORMAT = "tapewire-capture"
VERSION = 1
SCHEMA = "io.tapewire.RawFrame"
_FIELDS = (
    "venue",
    "connection_id",
    "sequence",
    "transport",
    "origin",
    "channel",
    "symbol",
    "binary",
    "receive_ts_ns",
    "request_ts_ns",
    "rest_url",
    "rest_status",
)


class CaptureError(TapewireError):
    """A capture file is missing, not a capture, or corrupt; ``line`` says where."""

    def __init__(self, message: str, *, path: Path, line: int | None = None) -> None:
        where = f"{path}" + (f":{line}" if line is not None else "")
        super().__init__(f"{where}: {message}", hint="is it a file written by `tapewire record`?")
        self.path = path
        self.line = line


@dataclass(frozen=True)
class CaptureHeader:
    """The first line of a capture file."""

    version: int
    created_ns: int
    source: str


def record_to_json(record: dict[str, Any]) -> bytes:
    """One RawFrame as a JSON line (without the newline)."""
    out = {name: record.get(name) for name in _FIELDS}
    out["payload_b64"] = base64.b64encode(record["payload"]).decode("ascii")
    return orjson.dumps(out)


def record_from_json(line: bytes) -> dict[str, Any]:
    """A JSON line back to a RawFrame record (``payload`` as bytes)."""
    raw = orjson.loads(line)
    record = {name: raw.get(name) for name in _FIELDS}
    record["binary"] = bool(raw.get("binary", False))
    record["payload"] = base64.b64decode(raw["payload_b64"], validate=True)
    return record


class CaptureWriter:
    """Writes a capture file; a :class:`~tapewire.connectors.live.sink.FrameSink`."""

    def __init__(self, path: Path, *, source: str, compresslevel: int = 6) -> None:
        self.path = path
        self.count = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = gzip.open(  # noqa: SIM115 (closed in close())
            path, "wb", compresslevel=compresslevel
        )
        header = {
            "format": FORMAT,
            "version": VERSION,
            "schema": SCHEMA,
            "created_ns": time.time_ns(),
            "source": source,
        }
        self._file.write(orjson.dumps(header) + b"\n")

    def __call__(self, record: dict[str, Any]) -> None:
        self._file.write(record_to_json(record) + b"\n")
        self.count += 1

    def close(self) -> None:
        """Finish the gzip stream."""
        self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _parse_header(path: Path, line: bytes) -> CaptureHeader:
    try:
        header = orjson.loads(line)
    except orjson.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CaptureError("not a Tapewire capture (bad header line)", path=path, line=1)
    if header.get("version") != VERSION:
        raise CaptureError(f"capture version {header.get('version')} unsupported", path=path)
    return CaptureHeader(VERSION, int(header.get("created_ns", 0)), str(header.get("source", "")))


def read_header(path: Path) -> CaptureHeader:
    """The header of a capture file."""
    try:
        with gzip.open(path, "rb") as file:
            return _parse_header(path, file.readline())
    except (OSError, EOFError) as exc:
        raise CaptureError(f"cannot read: {exc}", path=path) from None


def iter_capture(file: gzip.GzipFile, path: Path) -> Iterator[dict[str, Any]]:
    """Records of an open (decompressing) capture stream."""
    _parse_header(path, file.readline())
    for number, line in enumerate(file, start=2):
        if not line.strip():
            continue
        try:
            yield record_from_json(line)
        except (orjson.JSONDecodeError, KeyError, ValueError, TypeError) as exc:
            raise CaptureError(f"corrupt record: {exc}", path=path, line=number) from None


def read_capture(path: Path) -> Iterator[dict[str, Any]]:
    """Every RawFrame record of a capture file, in order."""
    if not path.is_file():
        raise CaptureError("no such file", path=path)
    try:
        with gzip.open(path, "rb") as file:
            yield from iter_capture(file, path)
    except (OSError, EOFError) as exc:
        raise CaptureError(f"cannot read (truncated or not gzip?): {exc}", path=path) from None
