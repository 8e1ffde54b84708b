"""Frame files in JSON lines (the test fixtures' format) -> RawFrame records.

One line per frame: ``{"received_ns": int, "transport": "WEBSOCKET"|"REST", "channel": str,
"connection_id": str, "payload": str, "url": str (REST only), "status": int (REST, default
200)}``. ``payload`` is the frame's UTF-8 text exactly as the venue sent it; the venue is
not in the file (``tests/data/<kind>/<venue>/*.jsonl``: the folder names it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

REQUIRED = ("received_ns", "payload")
"""Keys every line has (how a reader recognises the format)."""


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
        "binary": False,
        "receive_ts_ns": received_ns,
        "request_ts_ns": received_ns if rest else None,
        "rest_url": url if rest else None,
        "rest_status": (status or 200) if rest else None,
    }


def frame_from_row(row: dict[str, Any], venue: str, sequence: int) -> dict[str, Any]:
    """One decoded line as a RawFrame record."""
    return raw_frame(
        venue,
        row["payload"].encode(),
        received_ns=row["received_ns"],
        sequence=sequence,
        connection_id=row.get("connection_id", "c1"),
        transport=row.get("transport", "WEBSOCKET"),
        channel=row.get("channel"),
        url=row.get("url"),
        status=row.get("status"),
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
