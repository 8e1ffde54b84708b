"""Frame files in JSON lines (the test fixtures' format) -> RawFrame records.

One line per frame: ``{"received_ns": int, "transport": "WEBSOCKET"|"REST", "channel": str,
"connection_id": str, "payload": str, "url": str (REST only), "status": int (REST, default
200)}``. ``payload`` is the frame's UTF-8 text exactly as the venue sent it; a binary frame
(e.g. HTX's gzip) has ``"payload_b64"`` (its bytes, base64) and ``"binary": true`` instead.
The venue is not in the file (``tests/data/<kind>/<venue>/*.jsonl``: the folder names it).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

REQUIRED = ("received_ns", "payload")
"""Keys every text frame's line has (a binary frame's has ``payload_b64`` for ``payload``)."""


def is_frame_line(row: Any) -> bool:
    """True when a decoded line is one of this format's (how a reader recognises it)."""
    return (
        isinstance(row, dict)
        and "received_ns" in row
        and ("payload" in row or "payload_b64" in row)
    )


def raw_frame(
    venue: str,
    payload: bytes,
    *,
    received_ns: int,
    sequence: int = 0,
    connection_id: str = "c1",
    transport: str = "WEBSOCKET",
    channel: str | None = None,
    url: str | None = None,
    status: int | None = None,
    binary: bool = False,
) -> dict[str, Any]:
    """A RawFrame record (as decoded from md.raw) around one payload."""
    rest = transport == "REST"
    return {
        "venue": venue,
        "connection_id": connection_id,
        "sequence": sequence,
        "transport": transport,
        "origin": "REPLAY",
        "channel": channel,
        "symbol": None,
        "payload": payload,
        "binary": binary,
        "receive_ts_ns": received_ns,
        "request_ts_ns": received_ns if rest else None,
        "rest_url": url if rest else None,
        "rest_status": (status or 200) if rest else None,
    }


def frame_from_row(row: dict[str, Any], venue: str, sequence: int) -> dict[str, Any]:
    """One decoded line as a RawFrame record."""
    b64 = row.get("payload_b64")
    payload = base64.b64decode(b64) if b64 is not None else row["payload"].encode()
    return raw_frame(
        venue,
        payload,
        received_ns=row["received_ns"],
        sequence=sequence,
        connection_id=row.get("connection_id", "c1"),
        transport=row.get("transport", "WEBSOCKET"),
        channel=row.get("channel"),
        url=row.get("url"),
        status=row.get("status"),
        binary=bool(row.get("binary", False)),
    )


def iter_frame_lines(lines: Iterable[bytes | str], venue: str) -> Iterator[dict[str, Any]]:
    """RawFrame records of a frame file's lines, ``sequence`` numbered per connection (as
    the connector numbers md.raw). Blank lines are skipped."""
    counters: dict[str, int] = {}
    for line in lines:
        if not line.strip():
            continue
        row = json.loads(line)
        conn = row.get("connection_id", "c1")
        sequence = counters.get(conn, 0)
        counters[conn] = sequence + 1
        yield frame_from_row(row, venue, sequence)


def read_frames(path: Path, venue: str) -> list[dict[str, Any]]:
    """All frames of a frame file as RawFrame records, ``sequence`` = line index."""
    with path.open(encoding="utf-8") as fh:
        return [frame_from_row(json.loads(line), venue, i) for i, line in enumerate(fh)]
