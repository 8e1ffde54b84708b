"""Acceptance 3 and 5 of the trading core, through the real broker and the real agents.

3: market data on two paper venues -> the example strategy's intent -> risk approval ->
   paper fills -> order events -> positions and PnL, all stored in ClickHouse by the sink
   (and the worked audit query of ``docs/trading.md`` answers from it).
5: resting orders on three paper venues, then the kill switch -> every order CANCELED on
   its venue, and a later request is denied by ``trading_state`` (HALTED). Before the
   kill, a losing ``positions`` record makes the gate deny by ``daily_loss_limit``.

Books and NBBO are published first and the test waits until the worker's consumer group
has committed them (the gate denies without an NBBO, fail closed); one partition per topic
keeps every topic in order. No sleeps standing in for synchronisation.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from confluent_kafka import Consumer, TopicPartition

from tapewire.core import records
from tapewire.core.kafka import client_config
from tapewire.core.settings import load_settings
from tapewire.records.orders import ParentRequest
from tapewire.runtime.kafka_io import Record, delete_topics, produce_all
from tapewire.runtime.topics import declare_topics
from tapewire.schemas.codec import Codec
from tapewire.sinks.clickhouse.sink import SinkConfig, run_sink
from tapewire.streams.execution.fees import FeeSchedule
from tapewire.streams.execution.paper import PaperConfig
from tapewire.streams.stages.config import TRADING_TOPICS, StreamsConfig
from tapewire.streams.trading import CrossVenueSpread, SpreadConfig
from tapewire.streams.trading.config import TradingConfig
from tests.factories import INST
from tests.factories.market import nbbo, quote, top_book
from tests.factories.orders import order_request, trading_state_command
from tests.factories.trading import position, risk_config
from tests.fixtures.kafka import consume_n
from tests.fixtures.workers import WorkerThread

D = Decimal
CODEC = Codec()
RISK = risk_config(stale_quote_ms=120_000)
DOCS = Path(__file__).resolve().parents[3] / "docs" / "trading.md"


class Flow:
    """A prefixed topic set, a publisher and a reader for one test."""

    def __init__(self, bootstrap: str, config: StreamsConfig) -> None:
        self.bootstrap = bootstrap
        self.config = config

    def name(self, canonical: str) -> str:
        return self.config.topics.name(canonical)

    def publish(self, canonical: str, records: Sequence[records.Record]) -> None:
        items = [(CODEC.key(canonical, r), CODEC.encode(canonical, r)) for r in records]
        produce_all(self.bootstrap, self.name(canonical), items)

    def wait_consumed(self, offsets: Mapping[str, int], timeout_s: float = 60.0) -> None:
        """Wait until the worker's group committed ``offsets`` (partition 0 of each topic):
        the agents have processed the context (books, NBBO) before the test goes on.
        The risk gate denies while it has no NBBO (fail closed), so this is needed."""
        consumer = Consumer(client_config(self.bootstrap) | {"group.id": self.config.app_id})
        try:
            wanted = [TopicPartition(self.name(t), 0) for t in offsets]
            deadline = time.monotonic() + timeout_s
            while True:
                done = {tp.topic: tp.offset for tp in consumer.committed(wanted, timeout=10)}
                if all(done[self.name(t)] >= n for t, n in offsets.items()):
                    return
                assert time.monotonic() < deadline, f"not consumed in {timeout_s}s: {done}"
                time.sleep(0.1)
        finally:
            consumer.close()

    def read(self, canonical: str, n: int, timeout_s: float = 60.0) -> list[dict[str, Any]]:
        got: list[Record] = consume_n(self.bootstrap, self.name(canonical), n, timeout_s=timeout_s)
        ordered = sorted(got, key=lambda r: (r.partition, r.offset))
        return [CODEC.decode(canonical, r.value or b"") for r in ordered]


@contextmanager
def trading_worker(
    bootstrap: str, trading: TradingConfig, agents: Sequence[str]
) -> Iterator[tuple[Flow, Callable[[], None]]]:
    """Declared topics; yields (flow, start); the worker is stopped and topics deleted."""
    tag = uuid.uuid4().hex[:10]
    config = StreamsConfig(
        app_id=f"tapewire-trading-{tag}",
        topic_prefix=f"t{tag}.",
        partitions=1,
        batch_within_s=0.02,
        trading=trading,
    )
    declare_topics(bootstrap, config)
    worker = WorkerThread(bootstrap, config, agents=agents, name="trading-worker")
    try:
        yield Flow(bootstrap, config), worker.start
    finally:
        worker.halt()
        delete_topics(bootstrap, config.topics.all())
    worker.check()


def audit_query() -> str:
    """The worked audit query of docs/trading.md (the block after ``audit-query``)."""
    match = re.search(r"<!-- audit-query -->\s*```sql\n(.*?)```", DOCS.read_text(), re.S)
    assert match, "docs/trading.md has no audit-query block"
    return match.group(1)


@pytest.mark.timeout(240)
def test_strategy_intent_to_fill_position_and_pnl_stored_in_clickhouse(
    kafka_bootstrap: str, clickhouse_url: str, clickhouse: Client
) -> None:
    fees = FeeSchedule(maker_bps=D(1), taker_bps=D(10))
    trading = TradingConfig(
        risk=RISK,
        paper_venues=(PaperConfig("binance", fees=fees), PaperConfig("okx", fees=fees)),
        strategies=(
            lambda: CrossVenueSpread(
                SpreadConfig(INST, ("binance", "okx"), D(50), D("0.5"), account="acct")
            ),
        ),
    )
    started = time.monotonic()
    with trading_worker(kafka_bootstrap, trading, ("strategy", "risk", "router", "positions")) as (
        flow,
        start,
    ):
        t0 = time.time_ns()
        flow.publish(
            "md.book",
            [top_book("binance", "100", "102", ts=t0), top_book("okx", "101", "103", ts=t0)],
        )
        flow.publish("md.nbbo", [nbbo("101", "102", ts=t0)])
        start()
        flow.wait_consumed({"md.book": 2, "md.nbbo": 1})
        flow.publish(
            "md.quotes",
            [quote("binance", "100", "102", ts=t0), quote("okx", "101", "103", ts=t0 + 1)],
        )
        requests = flow.read("oms.requests", 2)
        approved = flow.read("oms.approved", 2)
        events = flow.read("oms.events", 4)
        fills = flow.read("oms.fills", 2)
        positions = flow.read("positions", 2)
        flow_s = time.monotonic() - started
        ids = [f"xspread:{t0 + 1}:binance:buy", f"xspread:{t0 + 1}:okx:sell"]
        assert [r["client_order_id"] for r in requests] == ids
        assert [(d["decision"], d["rule"], d["reference_price"]) for d in approved] == [
            ("APPROVED", None, D("101.5"))
        ] * 2
        assert sorted((e["venue"], e["exec_type"], e["status"]) for e in events) == [
            ("binance", "NEW", "NEW"),
            ("binance", "TRADE", "FILLED"),
            ("okx", "NEW", "NEW"),
            ("okx", "TRADE", "FILLED"),
        ]
        assert [(f["venue"], f["side"], f["price"], f["quantity"], f["fee"]) for f in fills] == [
            ("binance", "BUY", D(102), D("0.5"), D("0.051")),
            ("okx", "SELL", D(101), D("0.5"), D("0.0505")),
        ]
        latest = {p["venue"]: p for p in positions}
        assert {
            v: (p["quantity"], p["avg_price"], p["unrealized_pnl"], p["fees"])
            for v, p in latest.items()
        } == {
            "binance": (D("0.5"), D(102), D("-0.25"), D("0.051")),
            "okx": (D("-0.5"), D(101), D("-0.25"), D("0.0505")),
        }
        sink_started = time.monotonic()
        stats = run_sink(
            load_settings(),
            {flow.name(t): t for t in TRADING_TOPICS if not t.startswith("dlq.")},
            config=SinkConfig(group_id=f"sink-{uuid.uuid4().hex[:8]}", stop_when_caught_up=True),
            bootstrap=kafka_bootstrap,
            clickhouse_url=clickhouse_url,
            database=clickhouse.database,
        )
        sink_s = time.monotonic() - sink_started
    print(f"\nflow through the agents {flow_s:.1f}s, sink {sink_s:.1f}s ({stats})")

    def rows(sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in clickhouse.query(sql).result_rows]

    assert rows(
        "SELECT client_order_id, requested_by, venue, side, quantity, limit_price, "
        "time_in_force FROM order_requests FINAL ORDER BY client_order_id"
    ) == [
        (ids[0], "strategy:xspread", "binance", "BUY", D("0.5"), D(102), "IOC"),
        (ids[1], "strategy:xspread", "okx", "SELL", D("0.5"), D(101), "IOC"),
    ]
    assert rows(
        "SELECT client_order_id, decision, rule, reason, trading_state, reference_price, "
        "length(rules_evaluated) > 10 FROM risk_decisions FINAL ORDER BY client_order_id"
    ) == [(cid, "APPROVED", None, None, "ACTIVE", D("101.5"), 1) for cid in ids]
    assert rows(
        "SELECT venue, exec_type, status, cum_qty, avg_price FROM order_events FINAL "
        "ORDER BY venue, event_ts, event_id"
    ) == [
        ("binance", "NEW", "NEW", D(0), None),
        ("binance", "TRADE", "FILLED", D("0.5"), D(102)),
        ("okx", "NEW", "NEW", D(0), None),
        ("okx", "TRADE", "FILLED", D("0.5"), D(101)),
    ]
    assert rows(
        "SELECT venue, side, price, quantity, fee, fee_currency, liquidity FROM fills FINAL "
        "ORDER BY venue"
    ) == [
        ("binance", "BUY", D(102), D("0.5"), D("0.051"), "USDT", "TAKER"),
        ("okx", "SELL", D(101), D("0.5"), D("0.0505"), "USDT", "TAKER"),
    ]
    assert rows(
        "SELECT venue, argMax(quantity, (update_ts, kafka_offset)), "
        "argMax(avg_price, (update_ts, kafka_offset)), "
        "argMax(realized_pnl, (update_ts, kafka_offset)), "
        "argMax(unrealized_pnl, (update_ts, kafka_offset)), "
        "argMax(mark_price, (update_ts, kafka_offset)) "
        "FROM positions FINAL GROUP BY venue ORDER BY venue"
    ) == [
        ("binance", D("0.5"), D(102), D(0), D("-0.25"), D("101.5")),
        ("okx", D("-0.5"), D(101), D(0), D("-0.25"), D("101.5")),
    ]
    # the worked audit query of docs/trading.md: one line per step of each order
    audit = clickhouse.query(audit_query(), parameters={"account": "acct"})
    steps = [(r[1], r[2]) for r in audit.result_rows if r[0] == ids[0]]
    assert steps == [
        ("request", "NEW by strategy:xspread"),
        ("risk", "APPROVED"),
        ("venue", "NEW NEW"),
        ("venue", "TRADE FILLED"),
        ("fill", "BUY 0.5 @ 102 fee 0.051 TAKER"),
    ]


@pytest.mark.timeout(240)
def test_kill_switch_cancels_open_orders_on_three_venues_and_denies_new_requests(
    kafka_bootstrap: str,
) -> None:
    venues = ("binance", "okx", "kraken")
    trading = TradingConfig(risk=RISK, paper_venues=tuple(PaperConfig(v) for v in venues))
    with trading_worker(kafka_bootstrap, trading, ("risk", "router")) as (flow, start):
        t0 = time.time_ns()
        flow.publish("md.book", [top_book(v, "100", "102", ts=t0) for v in venues])
        flow.publish("md.nbbo", [nbbo("100", "102", ts=t0)])
        start()
        flow.wait_consumed({"md.book": 3, "md.nbbo": 1})
        flow.publish(
            "oms.requests", [order_request(f"rest-{v}", venue=v, price="99", ts=t0) for v in venues]
        )
        opened = flow.read("oms.events", 3)
        assert sorted((e["venue"], e["client_order_id"], e["status"]) for e in opened) == [
            (v, f"rest-{v}", "NEW") for v in sorted(venues)
        ]
        # the daily loss limit is fed live from the positions topic: a loss of 1000.5
        # today (realized + unrealized - fees) denies a risk-increasing order
        now = time.time_ns()
        losing = position(
            now,
            realized="-900",
            unrealized="-100",
            fees="0.5",
            venue="okx",
            avg_price="2000",
            mark_price="101",
            last_fill_id="f-loss",
        )
        flow.publish("positions", [losing])
        flow.wait_consumed({"positions": 1})
        flow.publish("oms.requests", [order_request("after-loss", venue="okx", price="99", ts=now)])
        loss = flow.read("oms.denied", 1)
        assert [(d["client_order_id"], d["rule"]) for d in loss] == [
            ("after-loss", "daily_loss_limit")
        ]
        flow.publish("oms.requests", [trading_state_command("kill-switch-1", ts=t0)])
        events = flow.read("oms.events", 6)
        canceled = [e for e in events if e["exec_type"] == "CANCELED"]
        assert sorted((e["venue"], e["client_order_id"], e["status"]) for e in canceled) == [
            (v, f"rest-{v}", "CANCELED") for v in sorted(venues)
        ]
        assert all(e["leaves_qty"] == 0 for e in canceled)
        flow.publish(
            "oms.requests",
            [order_request("after-kill", venue="okx", price="99", ts=time.time_ns())],
        )
        denied = flow.read("oms.denied", 2)[1:]
        assert [(d["client_order_id"], d["rule"], d["trading_state"]) for d in denied] == [
            ("after-kill", "trading_state", "HALTED")
        ]
        alerts = flow.read("alerts", 1)
        assert [(a["code"], a["labels"]["state"]) for a in alerts] == [("TRADING_STATE", "HALTED")]
        approved = flow.read("oms.approved", 4)
        assert [d["request"]["action"] for d in approved] == ["NEW"] * 3 + ["CANCEL_ALL"]
        assert flow.read("oms.events", 6)[-3:] == events[-3:]  # nothing for after-kill


@pytest.mark.timeout(240)
def test_a_parent_order_through_the_agents_is_split_over_two_venues_and_filled(
    kafka_bootstrap: str,
) -> None:
    trading = TradingConfig(
        risk=RISK,
        paper_venues=(
            PaperConfig("binance", fees=FeeSchedule(taker_bps=D(10))),
            PaperConfig("okx", fees=FeeSchedule(taker_bps=D(2))),
        ),
    )
    with trading_worker(kafka_bootstrap, trading, ("sor", "risk", "router")) as (flow, start):
        t0 = time.time_ns()
        flow.publish(
            "md.book",
            [top_book("binance", "100", "101", ts=t0), top_book("okx", "100", "101.05", ts=t0)],
        )
        flow.publish("md.nbbo", [nbbo("100", "101", ts=t0)])
        start()
        flow.wait_consumed({"md.book": 2, "md.nbbo": 1})
        parent = ParentRequest(
            parent_id="p1",
            account="acct",
            instrument=INST,
            side="BUY",
            quantity=D("1.5"),
            requested_by="test",
            request_ts_ns=t0,
        )
        flow.publish("oms.parent_requests", [parent])
        # ParentNew, ChildrenRouted, then a fill and a final report per child
        events = flow.read("oms.parent_events", 6)
        requests = flow.read("oms.requests", 2)
        fills = flow.read("oms.fills", 2)
    # okx first: 101.05 x (1 + 2 bp) = 101.070 beats binance's 101 x (1 + 10 bp) = 101.101
    assert [(r["venue"], r["quantity"], r["limit_price"]) for r in requests] == [
        ("binance", D("0.5"), D(101)),
        ("okx", D(1), D("101.05")),
    ]
    assert sorted((f["venue"], f["quantity"], f["price"]) for f in fills) == [
        ("binance", D("0.5"), D(101)),
        ("okx", D(1), D("101.05")),
    ]
    final = events[-1]
    assert (final["status"], final["cum_qty"], final["leaves_qty"]) == ("FILLED", D("1.5"), 0)
    assert final["avg_price"] == D("101.033333333333333333")  # (50.5 + 101.05) / 1.5
