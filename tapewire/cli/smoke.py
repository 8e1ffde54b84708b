"""``tapewire smoke``: Avro trades through the real Kafka into ClickHouse and back, compared.

It proves the foundation on a machine in one command: the broker answers, schemas
encode exact decimals and nanosecond times, a second client reads what the first
wrote, and ClickHouse stores the same values.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from tapewire.core.errors import TapewireError
from tapewire.core.kafka import client_config
from tapewire.core.settings import Settings
from tapewire.runtime.kafka_io import Record, create_topic, produce_all
from tapewire.runtime.kafka_resolve import kafka_for
from tapewire.schemas.codec import Codec
from tapewire.schemas.registry import message_key
from tapewire.sinks.clickhouse.client import connect, target_database
from tapewire.sinks.clickhouse.migrations import migrate_url

TOPIC = "md.trades"
PARTITIONS = 3
# Prices and sizes chosen to break float: tiny, large, and many significant digits.
_PRICES = (Decimal("0.00000812"), Decimal("68123.45"), Decimal("0.1"), Decimal("1234567.123456789"))
_SIZES = (Decimal("1000000"), Decimal("0.00012"), Decimal("3.3"), Decimal("0.000000000000000001"))


def smoke_trades(count: int, run_id: str, *, start_ns: int | None = None) -> list[dict[str, Any]]:
    """``count`` deterministic trade records of this run (ids ``<run_id>-<n>``)."""
    base = start_ns if start_ns is not None else time.time_ns()
    venues = ("binance", "okx", "coinbase")
    return [
        {
            "venue": venues[n % len(venues)],
            "instrument": "BTC-USDT.SPOT" if n % 2 else "PEPE-USDT.SPOT",
            "trade_id": f"{run_id}-{n}",
            "price": _PRICES[n % len(_PRICES)],
            "size": _SIZES[n % len(_SIZES)],
            "side": ("BUY", "SELL", "UNKNOWN")[n % 3],
            "exchange_ts_ns": base + n * 1_000_001 + 7,
            "receive_ts_ns": base + n * 1_000_001 + 123_456_789,
            "process_ts_ns": base + n * 1_000_001 + 223_456_789,
            "connection_id": None,
            "frame_sequence": n,
        }
        for n in range(count)
    ]


def _read_back(bootstrap: str, delivered: list[Record], timeout_s: float) -> list[Record]:
    """Read exactly the records the producer's delivery reports say were stored."""
    wanted = {(r.partition, r.offset) for r in delivered}
    start: dict[int, int] = {}
    for r in delivered:
        start[r.partition] = min(r.offset, start.get(r.partition, r.offset))
    count = len(wanted)
    consumer = Consumer(
        client_config(bootstrap)
        | {"group.id": f"tapewire-smoke-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False}
    )
    records: list[Record] = []
    try:
        consumer.assign([TopicPartition(TOPIC, part, offset) for part, offset in start.items()])
        deadline = time.monotonic() + timeout_s
        while len(records) < count and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=500, timeout=0.5):
                if msg.error() is not None:
                    raise TapewireError(f"consumer error: {msg.error()}")
                partition, offset = msg.partition(), msg.offset()
                assert partition is not None
                assert offset is not None
                if (partition, offset) in wanted:
                    records.append(Record(partition, offset, msg.key(), msg.value()))
    finally:
        consumer.close()
    if len(records) != count:
        raise TapewireError(f"read {len(records)} of {count} trades back from {TOPIC}")
    return records


def _compare(what: str, sent: list[dict[str, Any]], got: list[dict[str, Any]]) -> None:
    fields = ("venue", "instrument", "trade_id", "price", "size", "side", "exchange_ts_ns")
    by_id = {r["trade_id"]: r for r in got}
    if len(by_id) != len(sent):
        raise TapewireError(f"{what}: expected {len(sent)} trades, found {len(by_id)}")
    for record in sent:
        other = by_id.get(record["trade_id"])
        if other is None:
            raise TapewireError(f"{what}: trade {record['trade_id']} is missing")
        for field in fields:
            if other[field] != record[field]:
                raise TapewireError(
                    f"{what}: trade {record['trade_id']} field {field}: "
                    f"sent {record[field]!r}, got {other[field]!r}"
                )


def run_smoke(settings: Settings, *, count: int = 100, log: Callable[[str], None] = print) -> str:
    """Run the round trip; raise :class:`TapewireError` on the first difference."""
    run_id = uuid.uuid4().hex[:12]
    sent = smoke_trades(count, run_id)
    codec = Codec.from_settings(settings)
    serde = codec.for_topic(TOPIC)
    with kafka_for(settings, on_progress=log) as kafka:
        log(f"kafka: {kafka.description}")
        create_topic(kafka.bootstrap_servers, TOPIC, partitions=PARTITIONS, exist_ok=True)
        items = [(message_key(TOPIC, r), serde.encode(r)) for r in sent]
        delivered = produce_all(kafka.bootstrap_servers, TOPIC, items)
        log(f"produced {count} Avro trades to {TOPIC}")
        records = _read_back(kafka.bootstrap_servers, delivered, timeout_s=60)
    decoded = [serde.decode(r.value or b"") for r in records]
    _compare("kafka", sent, decoded)
    log(f"consumed {count} trades in a second client: values equal")

    url = settings.resolved_clickhouse_url
    migrate_url(url)
    client = connect(url, database=target_database(url))
    try:
        rows = []
        for record, trade in zip(records, decoded, strict=True):
            rows.append(
                [
                    trade["venue"],
                    trade["instrument"],
                    trade["trade_id"],
                    trade["price"],
                    trade["size"],
                    trade["side"].lower(),
                    trade["exchange_ts_ns"],
                    trade["receive_ts_ns"],
                    TOPIC,
                    record.partition,
                    record.offset,
                ]
            )
        client.insert(
            "trades",
            rows,
            column_names=[
                "venue",
                "instrument",
                "trade_id",
                "price",
                "size",
                "side",
                "exchange_ts",
                "receive_ts",
                "kafka_topic",
                "kafka_partition",
                "kafka_offset",
            ],
        )
        result = client.query(
            "SELECT venue, instrument, trade_id, price, size, upper(toString(side)), "
            "toUnixTimestamp64Nano(exchange_ts) FROM trades FINAL "
            "WHERE startsWith(trade_id, {prefix:String})",
            parameters={"prefix": f"{run_id}-"},
        )
    finally:
        client.close()
    stored = [
        dict(
            zip(
                ("venue", "instrument", "trade_id", "price", "size", "side", "exchange_ts_ns"),
                row,
                strict=True,
            )
        )
        for row in result.result_rows
    ]
    _compare("clickhouse", sent, stored)
    log(f"stored {count} trades in ClickHouse and read them back: values equal")
    return f"{count} trades round-tripped exactly through Kafka and ClickHouse (run {run_id})"
