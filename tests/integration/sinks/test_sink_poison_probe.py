"""The sink role under the poison probe: ten kinds of garbage on every topic it reads.

Each garbage value is one dead letter (small enough to produce), the sink keeps running,
and every valid record, before and after the garbage, is stored once.
"""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal
from pathlib import Path

from tapewire.core.records import TypedRecord
from tapewire.core.settings import load_settings
from tapewire.records.market import (
    Bar,
    ConsolidatedDepth,
    CoverageEvent,
    DepthLevel,
    DerivativesTicker,
    RawFrame,
)
from tapewire.records.orders import ParentOrderEvent, ParentRequest
from tapewire.records.risk import Alert
from tapewire.runtime.kafka_io import produce_all, read_to_end
from tapewire.schemas.codec import Codec
from tapewire.sinks.clickhouse.client import connect
from tapewire.sinks.clickhouse.rows import DEFAULT_TOPICS, TRADING_TOPICS, mapping_for_topic
from tapewire.sinks.clickhouse.sink import SinkConfig, run_sink
from tests.factories import INST, T0
from tests.factories.garbage import garbage
from tests.factories.market import book, nbbo, quote, trade
from tests.factories.orders import approval, order_event, order_request
from tests.factories.trading import fill, position, tca_report
from tests.fixtures.kafka import TopicFactory

CODEC = Codec()


def _valid(topic: str, n: int) -> TypedRecord:
    """The ``n``-th distinct valid record of ``topic``."""
    ts = T0 + n * 1_000_000_000
    one = Decimal(1)
    if topic == "md.raw":
        return RawFrame(
            venue="binance",
            connection_id="c1",
            sequence=n,
            transport="WEBSOCKET",
            origin="REPLAY",
            payload=b'{"n": %d}' % n,
            receive_ts_ns=ts,
        )
    if topic == "md.trades":
        return trade(ts=ts, trade_id=f"t{n}")
    if topic == "md.book":
        return book("binance", [("100", "1")], [("101", "1")], ts=ts)
    if topic == "md.quotes":
        return quote("binance", ts=ts)
    if topic == "md.derivatives":
        return DerivativesTicker(
            venue="binanceusdm",
            instrument="BTC-USDT-PERP-USDT",
            mark_price=Decimal("42000.1"),
            funding_rate=Decimal("-0.0001"),
            receive_ts_ns=ts,
            process_ts_ns=ts,
        )
    if topic.startswith("md.bars."):
        interval = topic.removeprefix("md.bars.")
        length = 1_000_000_000 if interval == "1s" else 60_000_000_000
        return Bar(
            venue="binance",
            instrument=INST,
            interval=interval,
            interval_ns=length,
            start_ts_ns=T0 + n * length,
            end_ts_ns=T0 + (n + 1) * length,
            open=one,
            high=one,
            low=one,
            close=one,
            volume=one,
            quote_volume=one,
            trade_count=1,
            buy_volume=one,
            sell_volume=Decimal(0),
            process_ts_ns=ts,
        )
    if topic == "md.nbbo":
        return nbbo(ts=ts)
    if topic == "md.depth":
        level = DepthLevel(
            venue="binance", instrument=INST, price=one, size=one, effective_price=one
        )
        return ConsolidatedDepth(
            instrument=INST,
            levels=1,
            bids=[level],
            asks=[],
            venue_count=1,
            receive_ts_ns=ts,
            process_ts_ns=ts,
        )
    if topic == "oms.parent_requests":
        return ParentRequest(
            parent_id=f"p{n}",
            account="main",
            instrument=INST,
            side="BUY",
            quantity=one,
            requested_by="probe",
            request_ts_ns=ts,
        )
    if topic == "oms.parent_events":
        return ParentOrderEvent(
            event_id=f"p:{n}",
            parent_id="p",
            account="main",
            algo="SOR",
            instrument=INST,
            side="BUY",
            event_type="ParentNew",
            event="{}",
            status="PENDING_NEW",
            quantity=one,
            cum_qty=Decimal(0),
            leaves_qty=one,
            children=0,
            open_children=0,
            waves=0,
            event_ts_ns=ts,
        )
    if topic == "md.coverage":
        return CoverageEvent(
            venue="binance",
            instrument=INST,
            channel="book",
            event="GAP",
            from_ns=ts,
            reason="probe",
            process_ts_ns=ts,
        )
    if topic == "oms.requests":
        return order_request(f"o{n}", ts=ts)
    if topic == "oms.approved":
        return approval(f"o{n}", request=order_request(f"o{n}", ts=ts))
    if topic == "oms.denied":
        return approval(f"d{n}", request=order_request(f"d{n}", ts=ts), decision="DENIED")
    if topic == "oms.events":
        return order_event(f"o{n}", "NEW", 1)
    if topic == "oms.fills":
        return fill(f"f{n}", ts=ts)
    if topic == "positions":
        return position(ts=ts, instrument=INST)
    if topic == "tca":
        return tca_report(f"o{n}", ts=ts)
    if topic == "alerts":
        return Alert(
            alert_id=f"a{n}", severity="INFO", source="probe", code="X", message="m", event_ts_ns=ts
        )
    raise AssertionError(topic)


def test_garbage_on_every_sink_topic_is_one_dead_letter_each_and_valid_rows_are_stored(
    kafka_bootstrap: str, kafka_topic: TopicFactory, tmp_path: Path
) -> None:
    topics = dict.fromkeys((*DEFAULT_TOPICS, *TRADING_TOPICS))
    names = {kafka_topic(topic): topic for topic in topics}
    expected_rows: dict[str, int] = {}
    bad_total = 0
    for name, topic in names.items():
        valid = [_valid(topic, n) for n in range(3)]
        values = [CODEC.encode(topic, r) for r in valid]
        bad = garbage(topic, values[0])
        bad_total += len(bad)
        messages = [values[0], *bad.values(), *values[1:]]
        produce_all(kafka_bootstrap, name, [(b"k", v) for v in messages])
        table = mapping_for_topic(topic).table
        expected_rows[table] = expected_rows.get(table, 0) + len(valid)
    dlq = kafka_topic("dlq.sink")
    url = f"chdb://{tmp_path / 'chdb'}"
    stats = run_sink(
        load_settings(data_dir=tmp_path / "data"),
        stop_event=threading.Event(),
        config=SinkConfig(
            topics=names,
            group_id=f"probe-{uuid.uuid4().hex[:8]}",
            grid=100,
            flush_interval_s=0.2,
            dlq_topic=dlq,
            stop_when_caught_up=True,
        ),
        bootstrap=kafka_bootstrap,
        clickhouse_url=url,
    )
    assert stats.dead_letters == bad_total
    assert stats.rows == expected_rows
    letters = read_to_end(kafka_bootstrap, dlq)
    assert len(letters) == bad_total
    assert all(len(s.value or b"") < 100_000 for s in letters)  # bounded excerpts
    with connect(url, database="tapewire") as client:
        for table, count in expected_rows.items():
            stored = int(str(client.command(f"SELECT count() FROM {table} FINAL")))
            assert stored == count, table
