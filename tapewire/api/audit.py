"""One audit record per API request, written to ClickHouse ``api_audit`` or a file.

The ClickHouse sink batches: :meth:`ClickHouseAuditSink.record` only appends to a buffer,
a background thread inserts it about once a second, and :meth:`close` writes the rest.
The file sink appends JSON lines (for deployments whose ClickHouse the API may not write).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import asdict, astuple, dataclass, fields
from pathlib import Path
from typing import Protocol

import orjson

from tapewire.sinks.clickhouse.client import connect, target_database

log = logging.getLogger("tapewire.api.audit")
AUDIT_TABLE = "api_audit"


@dataclass(frozen=True)
class AuditEntry:
    """A request as the audit trail keeps it."""

    request_id: str
    ts_ns: int
    user: str
    role: str
    token_id: str
    client: str
    method: str
    path: str
    route: str
    status: int
    duration_us: int
    detail: str


AUDIT_COLUMNS = tuple("ts" if f.name == "ts_ns" else f.name for f in fields(AuditEntry))


class AuditSink(Protocol):
    """Where audit entries go."""

    def record(self, entry: AuditEntry) -> None:
        """Keep ``entry`` (may buffer; never raises on the request path)."""

    def close(self) -> None:
        """Write what is buffered and stop."""


class ClickHouseAuditSink:
    """Batched inserts into ``api_audit`` (the table is made by the migrations)."""

    def __init__(self, url: str, *, flush_interval_s: float = 1.0) -> None:
        self._url = url
        self._buffer: list[AuditEntry] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._interval = flush_interval_s
        self._thread = threading.Thread(target=self._run, name="api-audit", daemon=True)
        self._thread.start()

    def record(self, entry: AuditEntry) -> None:
        """Buffer ``entry``; the next flush inserts it."""
        with self._lock:
            self._buffer.append(entry)

    def flush(self) -> int:
        """Insert the buffered entries now; returns how many. On failure they stay
        buffered (and are retried at the next flush)."""
        with self._lock:
            batch, self._buffer = self._buffer, []
        if not batch:
            return 0
        try:
            with connect(self._url, database=target_database(self._url)) as client:
                client.insert(AUDIT_TABLE, [astuple(e) for e in batch], column_names=AUDIT_COLUMNS)
        except Exception:
            log.exception("audit: %d entries not written yet; retrying", len(batch))
            with self._lock:
                self._buffer[:0] = batch
            return 0
        return len(batch)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.flush()

    def close(self) -> None:
        """Stop the flusher and write the rest."""
        self._stop.set()
        self._thread.join(timeout=10)
        self.flush()


class FileAuditSink:
    """Appends one JSON object per line to ``path`` (created if missing, mode 0600)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._file = os.fdopen(fd, "ab", buffering=0)
        self._lock = threading.Lock()

    def record(self, entry: AuditEntry) -> None:
        """Append ``entry`` as one line."""
        line = orjson.dumps(asdict(entry)) + b"\n"
        with self._lock:
            self._file.write(line)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._file.close()
