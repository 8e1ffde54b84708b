"""Dead letters stay small enough to produce, whatever they report."""

from __future__ import annotations

from typing import Any

from tapewire.schemas.codec import Codec
from tapewire.schemas.dead_letters import MAX_PAYLOAD_BYTES, MAX_TEXT_CHARS, bounded

CODEC = Codec()


def letter(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "stage": "normalize",
        "source_topic": "md.raw",
        "source_partition": 2,
        "source_offset": 41,
        "key": b"binance",
        "payload": b"not json",
        "error_type": "ParseError",
        "reason": "frame is not JSON",
        "labels": {"venue": "binance"},
        "failed_ts_ns": 1,
    }
    return record | changes


def test_a_small_dead_letter_is_left_as_it_is() -> None:
    record = letter()
    assert bounded(record) is record


def test_a_payload_near_the_broker_limit_becomes_an_excerpt_with_its_size() -> None:
    payload = bytes(range(256)) * 3906  # 999,936 bytes: its dead letter would not fit
    out = bounded(letter(payload=payload))
    assert out["payload"] == payload[:MAX_PAYLOAD_BYTES]
    assert out["labels"] == {
        "venue": "binance",
        "payload_bytes": "999936",
        "payload_truncated": "true",
    }
    assert (out["source_topic"], out["source_partition"], out["source_offset"]) == (
        "md.raw",
        2,
        41,
    )
    encoded = CODEC.encode("dlq.normalize", out)
    assert len(encoded) < 70_000
    assert CODEC.decode("dlq.normalize", encoded)["payload"] == payload[:MAX_PAYLOAD_BYTES]


def test_a_huge_key_reason_and_labels_are_cut_and_say_so() -> None:
    out = bounded(
        letter(
            key=b"k" * 340_000,
            reason="client_order_id " + "x" * 340_000,
            labels={f"l{i}": "v" for i in range(100)} | {"big": "y" * 10_000},
        )
    )
    assert len(out["key"]) == 1024
    assert out["labels"]["key_bytes"] == "340000"
    assert out["reason"].startswith("client_order_id xxx")
    assert out["reason"].endswith("(340016 characters)")
    assert len(out["reason"]) < MAX_TEXT_CHARS + 40
    assert len(CODEC.encode("dlq.normalize", out)) < 70_000
