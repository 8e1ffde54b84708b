"""The dead-letter record: an input a stage could not process, and why."""

from __future__ import annotations

import msgspec

from tapewire.core.records import TypedRecord


class DeadLetter(TypedRecord, frozen=True, kw_only=True, gc=False):
    """One rejected input with its bytes and the reason (``dlq.*``)."""

    stage: str
    source_topic: str
    source_partition: int | None = None
    source_offset: int | None = None
    key: bytes | None = None
    payload: bytes
    error_type: str
    reason: str
    labels: dict[str, str] = msgspec.field(default_factory=dict)
    failed_ts_ns: int
