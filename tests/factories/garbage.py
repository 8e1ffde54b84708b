"""Ten kinds of garbage a Kafka topic may carry, for the poison-record probes."""

from __future__ import annotations

import random
from decimal import Decimal

from tapewire.core.kafka import MAX_MESSAGE_BYTES
from tapewire.schemas.codec import Codec
from tests.factories import T0

CODEC = Codec()


def garbage(topic: str, valid: bytes) -> dict[str, bytes | None]:
    """Garbage values for ``topic``, some derived from one ``valid`` message value: empty,
    tombstone, wrong magic byte, unregistered schema id, truncated, trailing bytes, another
    schema's record, JSON, random bytes, and a value of nearly 1,000,000 bytes."""
    other = "alerts" if topic != "alerts" else "md.trades"
    alert = {
        "alert_id": "a",
        "severity": "INFO",
        "source": "probe",
        "code": "X",
        "message": "not this topic's record",
        "event_ts_ns": T0,
    }
    if other == "md.trades":
        alert = {
            "venue": "probe",
            "instrument": "X",
            "trade_id": "1",
            "price": Decimal(1),
            "size": Decimal(1),
            "side": "BUY",
            "receive_ts_ns": T0,
            "process_ts_ns": T0,
        }
    noise = random.Random(7).randbytes(64)
    return {
        "empty value": b"",
        "tombstone": None,
        "wrong magic byte": b"\x01" + valid[1:],
        "unregistered schema id": b"\x00\x7f\xff\xff\xf0" + valid[5:],
        "truncated": valid[: len(valid) // 2],
        "trailing bytes": valid + b"\x00\x02",
        "another schema's record": CODEC.encode(other, alert),
        "JSON": b'{"venue": "binance", "price": 1.5}',
        "random bytes": b"\x02" + noise,
        "nearly 1 MB": b"\x00" + valid[1:5] + b"\x06" * (MAX_MESSAGE_BYTES + 40_000),
    }
