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

from tapewire.core.kafka import client_config
from tapewire.core.settings import load_settings
from tapewire.runtime.kafka_io import Record, delete_topics, produce_all
from tapewire.runtime.topics import declare_topics
from tapewire.schemas.codec import Codec
from tapewire.sinks.clickhouse.sink import SinkConfig, run_sink
from tapewire.streams.execution.fees import FeeSchedule
from tapewire.streams.execution.paper import PaperConfig
from tapewire.streams.risk import AccountLimits, InstrumentLimits, RiskConfig
from tapewire.streams.stages.config import TRADING_TOPICS, StreamsConfig
from tapewire.streams.trading import CrossVenueSpread, SpreadConfig
from tapewire.streams.trading.config import TradingConfig
from tests.fixtures.kafka import consume_n
from tests.fixtures.workers import WorkerThread

D = Decimal
INST = "BTC-USDT-SPOT"
CODEC = Codec()
DOCS = Path(__file__).resolve().parents[3] / "docs" / "trading.md"


def risk_config() -> RiskConfig:
    limits = InstrumentLimits(
        max_order_qty=D(5), max_order_notional=D(10_000), max_position=D(10), price_band_bps=D(500)
    )
    account = AccountLimits(
        instruments={INST: limits},
        max_open_orders=10,
        max_orders_per_window=100,
        rate_window_ms=1000,
        daily_loss_limit=D(1000),
        stale_quote_ms=120_000,
    )
    return RiskConfig(accounts={"acct": account})


def book(venue: str, bid: str, ask: str, ts: int) -> dict[str, Any]:
    return {
        "venue": venue,
        "instrument": INST,
        "kind": "SNAPSHOT",
        "bids": [{"price": D(bid), "size": D(1)}],
        "asks": [{"price": D(ask), "size": D(1)}],
        "depth": None,
        "first_sequence": None,
        "last_sequence": None,
        "prev_sequence": None,
        "checksum": None,
        "exchange_ts_ns": ts,
        "receive_ts_ns": ts,
        "process_ts_ns": ts,
    }


def quote(venue: str, bid: str, ask: str, ts: int) -> dict[str, Any]:
    return {
        "venue": venue,
        "instrument": INST,
        "bid_price": D(bid),
        "bid_size": D(1),
        "ask_price": D(ask),
        "ask_size": D(1),
        "source": "VENUE_BBO",
        "exchange_ts_ns": ts,
        "receive_ts_ns": ts,
        "process_ts_ns": ts,
    }


def nbbo(bid: str, ask: str, ts: int) -> dict[str, Any]:
    return {
        "instrument": INST,
        "bid_price": D(bid),
        "bid_size": D(1),
        "bid_venue": "okx",
        "ask_price": D(ask),
        "ask_size": D(1),
        "ask_venue": "binance",
        "venue_count": 2,
        "bid_receive_ts_ns": ts,
        "ask_receive_ts_ns": ts,
        "process_ts_ns": ts,
    }


def request(cid: str, venue: str, ts: int, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "client_order_id": cid,
        "account": "acct",
        "venue": venue,
        "instrument": INST,
        "action": "NEW",
        "orig_client_order_id": None,
        "side": "BUY",
        "order_type": "LIMIT",
        "time_in_force": "GTC",
        "quantity": D(1),
        "limit_price": D(99),
        "stop_price": None,
        "trailing_offset": None,
        "trailing_offset_type": None,
        "post_only": False,
        "reduce_only": False,
        "expire_ts_ns": None,
        "strategy_id": None,
        "requested_by": "test",
        "request_ts_ns": ts,
        "tags": {},
    }
    return base | changes


def losing_position(ts: int) -> dict[str, Any]:
    """A ``Position`` record of ``acct`` with a total PnL of -1000.5 (limit 1000)."""
    return {
        "account": "acct",
        "venue": "okx",
        "instrument": INST,
        "quantity": D(1),
        "avg_price": D(2000),
        "realized_pnl": D(-900),
        "unrealized_pnl": D(-100),
        "fees": D("0.5"),
        "mark_price": D(101),
        "mark_ts_ns": ts,
        "pnl_currency": "USDT",
        "last_fill_id": "f-loss",
        "update_ts_ns": ts,
    }


class Flow:
    """A prefixed topic set, a publisher and a reader for one test."""

    def __init__(self, bootstrap: str, config: StreamsConfig) -> None:
        self.bootstrap = bootstrap
        self.config = config

    def name(self, canonical: str) -> str:
        return self.config.topics.name(canonical)

    def publish(self, canonical: str, records: Sequence[Mapping[str, Any]]) -> None:
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
        risk=risk_config(),
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
        flow.publish("md.book", [book("binance", "100", "102", t0), book("okx", "101", "103", t0)])
        flow.publish("md.nbbo", [nbbo("101", "102", t0)])
        start()
        flow.wait_consumed({"md.book": 2, "md.nbbo": 1})
        flow.publish(
            "md.quotes", [quote("binance", "100", "102", t0), quote("okx", "101", "103", t0 + 1)]
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
    trading = TradingConfig(risk=risk_config(), paper_venues=tuple(PaperConfig(v) for v in venues))
    with trading_worker(kafka_bootstrap, trading, ("risk", "router")) as (flow, start):
        t0 = time.time_ns()
        flow.publish("md.book", [book(v, "100", "102", t0) for v in venues])
        flow.publish("md.nbbo", [nbbo("100", "102", t0)])
        start()
        flow.wait_consumed({"md.book": 3, "md.nbbo": 1})
        flow.publish("oms.requests", [request(f"rest-{v}", v, t0) for v in venues])
        opened = flow.read("oms.events", 3)
        assert sorted((e["venue"], e["client_order_id"], e["status"]) for e in opened) == [
            (v, f"rest-{v}", "NEW") for v in sorted(venues)
        ]
        # the daily loss limit is fed live from the positions topic: a loss of 1000.5
        # today (realized + unrealized - fees) denies a risk-increasing order
        now = time.time_ns()
        flow.publish("positions", [losing_position(now)])
        flow.wait_consumed({"positions": 1})
        flow.publish("oms.requests", [request("after-loss", "okx", now)])
        loss = flow.read("oms.denied", 1)
        assert [(d["client_order_id"], d["rule"]) for d in loss] == [
            ("after-loss", "daily_loss_limit")
        ]
        kill = request(
            "kill-switch-1",
            "",
            t0,
            account="*",
            instrument="",
            action="CANCEL_ALL",
            limit_price=None,
            requested_by="cli:ops",
            tags={"trading_state": "HALTED"},
        )
        flow.publish("oms.requests", [kill])
        events = flow.read("oms.events", 6)
        canceled = [e for e in events if e["exec_type"] == "CANCELED"]
        assert sorted((e["venue"], e["client_order_id"], e["status"]) for e in canceled) == [
            (v, f"rest-{v}", "CANCELED") for v in sorted(venues)
        ]
        assert all(e["leaves_qty"] == 0 for e in canceled)
        flow.publish("oms.requests", [request("after-kill", "okx", time.time_ns())])
        denied = flow.read("oms.denied", 2)[1:]
        assert [(d["client_order_id"], d["rule"], d["trading_state"]) for d in denied] == [
            ("after-kill", "trading_state", "HALTED")
        ]
        alerts = flow.read("alerts", 1)
        assert [(a["code"], a["labels"]["state"]) for a in alerts] == [("TRADING_STATE", "HALTED")]
        approved = flow.read("oms.approved", 4)
        assert [d["request"]["action"] for d in approved] == ["NEW"] * 3 + ["CANCEL_ALL"]
        assert flow.read("oms.events", 6)[-3:] == events[-3:]  # nothing for after-kill
