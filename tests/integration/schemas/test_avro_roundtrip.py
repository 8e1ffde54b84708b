"""Acceptance: Avro trades with exact decimals through the real broker, read by another client."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tapewire.cli.smoke import run_smoke, smoke_trades
from tapewire.core.settings import load_settings
from tapewire.runtime.kafka_io import produce_all
from tapewire.schemas.codec import Codec
from tapewire.schemas.registry import message_key
from tests.fixtures.kafka import TopicFactory, consume_n


def test_avro_trades_round_trip_exactly_between_two_clients(
    kafka_bootstrap: str, kafka_topic: TopicFactory
) -> None:
    topic = kafka_topic("md.trades", partitions=3)
    serde = Codec().for_topic("md.trades")
    sent = smoke_trades(60, "roundtrip", start_ns=1_700_000_000_123_456_789)
    assert sent[0]["price"] == Decimal("0.00000812")
    delivered = produce_all(
        kafka_bootstrap, topic, [(message_key("md.trades", t), serde.encode(t)) for t in sent]
    )
    assert len(delivered) == len(sent)

    received = consume_n(kafka_bootstrap, topic, len(sent))
    decoded = {}
    for record in received:
        assert record.value is not None
        assert record.value[0] == 0  # Confluent wire format: magic byte, then schema id
        trade = serde.decode(record.value)
        assert record.key == message_key("md.trades", trade)
        decoded[trade["trade_id"]] = trade

    assert len(decoded) == len(sent)
    for trade in sent:
        got = decoded[trade["trade_id"]]
        assert got == trade
        assert isinstance(got["price"], Decimal)
        assert isinstance(got["exchange_ts_ns"], int)
    assert decoded["roundtrip-0"]["price"] == Decimal("0.00000812")
    assert decoded["roundtrip-0"]["exchange_ts_ns"] == 1_700_000_000_123_456_796
    # One instrument's trades stay on one partition (the key carries venue and instrument).
    partitions: dict[bytes | None, set[int]] = {}
    for record in received:
        partitions.setdefault(record.key, set()).add(record.partition)
    assert all(len(p) == 1 for p in partitions.values())


def test_smoke_command_round_trips_through_kafka_and_clickhouse(
    kafka_bootstrap: str, clickhouse_url: str, tmp_path: Path
) -> None:
    settings = load_settings(
        data_dir=tmp_path,
        kafka_bootstrap_servers=kafka_bootstrap,
        clickhouse_url=clickhouse_url,
    )
    lines: list[str] = []
    report = run_smoke(settings, count=50, log=lines.append)
    assert "50 trades round-tripped exactly" in report
    assert any("values equal" in line for line in lines)
