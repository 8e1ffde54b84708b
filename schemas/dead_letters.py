"""DeadLetter records that always fit on a broker, however large the message they report.

A dead letter repeats the failed message (``payload``, ``key``) and says why (``reason``,
``labels``). A message near the broker's size limit (1,000,000 bytes by default) would make
its own dead letter too large to produce; the stage's produce then fails, and a worker that
restarts at the same offset fails again. :func:`bounded` cuts ``payload`` and ``key`` to an
excerpt of their first bytes and the texts to a bounded length, and records the original
sizes in ``labels`` (``payload_bytes``, ``payload_truncated``). The whole message stays
where ``source_topic``/``source_partition``/``source_offset`` point (md.raw is also stored
byte for byte in ClickHouse ``raw_frames``).
"""

from __future__ import annotations

from collections.abc import Mapping

from tapewire.core.records import Record

MAX_PAYLOAD_BYTES = 64 * 1024
"""Bytes of ``payload`` a dead letter keeps (the excerpt of a larger message)."""
MAX_KEY_BYTES = 1024
MAX_TEXT_CHARS = 4096
"""Characters kept of ``reason``, ``error_type``, ``source_topic`` and each label."""
MAX_LABELS = 64


def _text(value: str) -> str:
    if len(value) <= MAX_TEXT_CHARS:
        return value
    return f"{value[:MAX_TEXT_CHARS]}... ({len(value)} characters)"


def bounded(record: Record) -> Record:
    """``record`` (a DeadLetter) if it is within the limits, else a copy cut to them."""
    payload = record.get("payload") or b""
    key = record.get("key")
    labels: Mapping[str, str] = record.get("labels") or {}
    small = (
        len(payload) <= MAX_PAYLOAD_BYTES
        and (key is None or len(key) <= MAX_KEY_BYTES)
        and len(str(record.get("reason", ""))) <= MAX_TEXT_CHARS
        and len(str(record.get("error_type", ""))) <= MAX_TEXT_CHARS
        and len(str(record.get("source_topic", ""))) <= MAX_TEXT_CHARS
        and len(labels) <= MAX_LABELS
        and all(len(k) + len(v) <= MAX_TEXT_CHARS for k, v in labels.items())
    )
    if small:
        return record
    out = dict(record)
    kept = {_text(k)[:256]: _text(v) for k, v in list(labels.items())[:MAX_LABELS]}
    if len(payload) > MAX_PAYLOAD_BYTES:
        out["payload"] = bytes(payload[:MAX_PAYLOAD_BYTES])
        kept["payload_bytes"] = str(len(payload))
        kept["payload_truncated"] = "true"
    if key is not None and len(key) > MAX_KEY_BYTES:
        out["key"] = bytes(key[:MAX_KEY_BYTES])
        kept["key_bytes"] = str(len(key))
    for field in ("reason", "error_type", "source_topic"):
        out[field] = _text(str(record.get(field, "")))
    out["labels"] = kept
    return out
