"""Read fixture frame files (JSON lines) into RawFrame records.

One line per frame: ``{"received_ns": int, "transport": "WEBSOCKET"|"REST", "channel": str,
"connection_id": str, "payload": str, "url": str (REST only), "status": int (REST, default
200)}``. ``payload`` is the frame's UTF-8 text exactly as the venue sent it. Used by the
tests (``tests/data/frames/<venue>/frames.jsonl``) and ``bench/bench_normalize.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


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


def read_frames(path: Path, venue: str) -> list[dict[str, Any]]:
    """All frames of a fixture file as RawFrame records, ``sequence`` = line index."""
    frames = []
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            row = json.loads(line)
            frames.append(
                raw_frame(
                    venue,
                    row["payload"].encode(),
                    received_ns=row["received_ns"],
                    sequence=i,
                    connection_id=row.get("connection_id", "c1"),
                    transport=row.get("transport", "WEBSOCKET"),
                    channel=row.get("channel"),
                    url=row.get("url"),
                    status=row.get("status"),
                )
            )
    return frames
