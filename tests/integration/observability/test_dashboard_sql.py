"""Every ClickHouse panel and variable query of every dashboard, run on the real engine.

The schema is the sink's (all migrations, ``tests/fixtures/clickhouse.py``). Rows are
seeded the way the live path writes them, minus Kafka: records made by the real code,
mapped by ``tapewire.sinks.clickhouse.rows`` and inserted with Kafka provenance:

* the recorded real frames of ``tests/data/real`` (Binance 2021, OKX 2022, Bybit
  ``orderbook.1`` 2025) through the pure :class:`Normalizer`: trades, books, quotes,
  coverage (Binance books wait for their snapshot) and dead letters (Bybit: unknown
  instruments), with a normalizer clock = each frame's receive time;
* a seeded two-venue simulator run through the fused hot path (normalize, NBBO, strategy,
  risk, router, paper venues, positions), plus one oversized request the gate denies;
  1s bars from the pure :class:`BarAggregator` over its trades.

Each query is expanded exactly as Grafana and the ClickHouse plugin expand it
(``tapewire.observability.dashboards.macros``) for a fixed time range and interval, runs,
returns the panel's declared columns, and returns rows; a few panels are checked value by
value against plain Python over the seeded records.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.binding import quote_identifier
from clickhouse_connect.driver.client import Client

from tapewire.core.records import Record
from tapewire.observability.dashboards import (
    DASHBOARDS,
    MARKET_DATA,
    TRADING,
    Dashboard,
    QueryContext,
    Sql,
    expand_sql,
    market_data,
    trading,
)
from tapewire.sinks.clickhouse.client import connect
from tapewire.sinks.clickhouse.migrations import migrate
from tapewire.sinks.clickhouse.rows import mapping_for_topic
from tapewire.streams.aggregate import BarAggregator, BarConfig
from tapewire.streams.hotpath import build_hot_path
from tapewire.streams.normalize import Normalizer
from tapewire.streams.stages.base import InMsg
from tapewire.streams.trading.positions import PositionLimits
from tapewire.testing.frames import read_frames
from tests.factories.orders import order_request
from tests.hotpath_cases import CODEC, INST, config, frames

pytestmark = pytest.mark.integration

REAL = Path(__file__).resolve().parents[2] / "data" / "real"
S = 1_000_000_000
SIM_START = datetime(2024, 1, 1, tzinfo=UTC)
"""The simulator's clock starts here (hot-path run: 2024-01-01T00:00:00Z + 150 ms)."""


@dataclass
class Seeded:
    """What was inserted, per topic, as decoded records."""

    records: dict[str, list[Record]]
    wall_start: datetime
    wall_end: datetime

    def __getitem__(self, topic: str) -> list[Record]:
        return self.records.get(topic, [])


class _Inserter:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.offsets: dict[str, int] = defaultdict(int)

    def insert(self, topic: str, records: Sequence[Record], partition: int = 0) -> None:
        if not records:
            return
        mapping = mapping_for_topic(topic)
        rows = []
        for record in records:
            offset = self.offsets[topic]
            self.offsets[topic] = offset + 1
            rows.append(mapping.row(record, topic, partition, offset))
        self.client.insert(mapping.table, rows, column_names=list(mapping.columns))


def _clock(now: list[int]) -> Callable[[], int]:
    """A clock reading ``now[0]`` (set to each frame's receive time before processing)."""
    return lambda: now[0]


def _normalize_real(ins: _Inserter, out: dict[str, list[Record]]) -> None:
    for partition, (venue, name) in enumerate(
        (("binance", "frames"), ("okx", "frames"), ("bybit", "bbo"))
    ):
        now = [0]
        norm = Normalizer(clock=_clock(now))
        produced: dict[str, list[Record]] = defaultdict(list)
        for frame in read_frames(REAL / venue / f"{name}.jsonl", venue):
            now[0] = frame["receive_ts_ns"] + 1_000_000
            for topic, records in norm.process(frame).records.items():
                produced[topic].extend(dict(r) for r in records)
        for topic, produced_records in produced.items():
            ins.insert(topic, produced_records, partition)
            out[topic] += produced_records


def _run_hot_path(ins: _Inserter, out: dict[str, list[Record]]) -> None:
    # a slippage limit of -1000 bps: every fill raises a SLIPPAGE alert (alerts table)
    base = config()
    assert base.trading is not None
    trading_config = replace(
        base.trading, position_limits=PositionLimits(max_slippage_bps=Decimal(-1000))
    )
    hot = build_hot_path(CODEC, replace(base, trading=trading_config))
    published: list[tuple[str, bytes]] = []

    def publish(topic: str, msg: Any) -> None:
        published.append((topic, msg[2]))

    for msg in frames():
        hot.graph.push("md.raw", msg, publish)
    last_quote = CODEC.decode(
        "md.quotes", next(v for t, v in reversed(published) if t == "md.quotes")
    )
    oversized = order_request(
        "too-big",
        venue="binance",
        qty="5",  # max_order_qty is 1 in tests.hotpath_cases.config
        price=last_quote["ask_price"],
        ts=last_quote["receive_ts_ns"],
        requested_by="strategy:taker",
        strategy_id="taker",
    )
    hot.graph.push(
        "oms.requests", InMsg(0, 0, b"acct", CODEC.encode("oms.requests", oversized)), publish
    )
    produced: dict[str, list[Record]] = defaultdict(list)
    for topic, value in published:
        if topic != "md.markets":
            produced[topic].append(CODEC.decode(topic, value))
    bars = BarAggregator(BarConfig.from_strings(["1s"]), clock=lambda: 0)
    for trade in produced["md.trades"]:
        produced["md.bars.1s"].extend(bars.add(trade))
    produced["md.bars.1s"].extend(bars.flush())
    for topic, records in produced.items():
        ins.insert(topic, records, partition=3)
        out[topic] += records


@pytest.fixture(scope="module")
def seeded_db(clickhouse_url: str) -> Iterator[tuple[str, Seeded]]:
    """One migrated database with every table seeded (module scope: seeded once)."""
    database = f"test_dash_{uuid.uuid4().hex[:12]}"
    client = connect(clickhouse_url, missing_database="ignore")
    try:
        migrate(client, database)
        ins = _Inserter(client)
        out: dict[str, list[Record]] = defaultdict(list)
        wall_start = datetime.now(UTC)
        _normalize_real(ins, out)
        _run_hot_path(ins, out)
        seeded = Seeded(dict(out), wall_start, datetime.now(UTC))
    finally:
        client.close()
    try:
        yield database, seeded
    finally:
        client = connect(clickhouse_url, missing_database="ignore")
        try:
            client.command(f"DROP DATABASE IF EXISTS {quote_identifier(database)} SYNC")
        finally:
            client.close()


@pytest.fixture
def db(clickhouse_url: str, seeded_db: tuple[str, Seeded]) -> Iterator[Client]:
    client = connect(clickhouse_url, missing_database="ignore")
    client.database = seeded_db[0]
    try:
        yield client
    finally:
        client.close()


def _context(dashboard: Dashboard, seeded: Seeded, **variables: Any) -> QueryContext:
    """The range every panel is run over: all seeded data of the dashboard, 1 s interval."""
    if dashboard is TRADING:
        # trading rows carry the simulator's clock (requests) and the wall clock (decisions)
        start, end = SIM_START, seeded.wall_end + timedelta(hours=1)
        values: dict[str, Any] = {"account": ("acct",)}
    else:
        start, end = datetime(2021, 10, 12, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC)
        values = {"instrument": INST, "venue": "binance", "bar_interval": "1s"}
    return QueryContext(start, end, interval_ms=1000, variables={**values, **variables})


def _run(
    client: Client, sql: Sql, ctx: QueryContext
) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    result = client.query(expand_sql(sql.sql, ctx))
    return tuple(result.column_names), [tuple(r) for r in result.result_rows]


def _sql_queries() -> list[Any]:
    cases = []
    for dashboard in DASHBOARDS:
        for variable in dashboard.variables:
            if isinstance(variable.query, Sql):
                cases.append(
                    pytest.param(dashboard, variable.query, id=f"{dashboard.uid}:${variable.name}")
                )
        for panel in dashboard.panels:
            for i, query in enumerate(panel.queries):
                if isinstance(query, Sql):
                    cases.append(
                        pytest.param(dashboard, query, id=f"{dashboard.uid}:{panel.title}:{i}")
                    )
    return cases


SQL_CASES = _sql_queries()


def test_there_are_three_dashboards_and_many_clickhouse_panels() -> None:
    assert {d.uid for d in DASHBOARDS} == {
        "tapewire-market-data",
        "tapewire-trading",
        "tapewire-health",
    }
    assert len(SQL_CASES) >= 25


@pytest.mark.parametrize(("dashboard", "query"), SQL_CASES)
def test_every_clickhouse_query_runs_and_returns_rows(
    db: Client, seeded_db: tuple[str, Seeded], dashboard: Dashboard, query: Sql
) -> None:
    ctx = _context(dashboard, seeded_db[1])
    columns, rows = _run(db, query, ctx)
    assert columns == query.columns
    assert rows, f"no rows for {query.sql[:80]!r} over seeded data"
    if query.format.value == "timeseries" and query.columns[0] == "time":
        times = [r[0] for r in rows]
        assert times == sorted(times), "time series must be sorted by time (sqlds long-to-wide)"


# --- values ----------------------------------------------------------------------------


def test_volume_by_venue_and_side_equals_the_seeded_trades(
    db: Client, seeded_db: tuple[str, Seeded]
) -> None:
    seeded = seeded_db[1]
    ctx = _context(MARKET_DATA, seeded)
    _, rows = _run(db, market_data.VOLUME_TABLE, ctx)
    want: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
    for t in seeded["md.trades"]:
        if t["instrument"] == INST:
            acc = want[(t["venue"], t["side"].lower())]
            acc[0] += 1
            acc[1] += t["size"]
            acc[2] += t["price"] * t["size"]
    assert {(r[0], r[1]): [Decimal(r[2]), r[3], r[4]] for r in rows} == dict(want)
    assert {venue for venue, _ in want} == {"binance", "okx"}  # simulator and real OKX


def test_candles_equal_the_aggregated_bars(db: Client, seeded_db: tuple[str, Seeded]) -> None:
    seeded = seeded_db[1]
    ctx = _context(MARKET_DATA, seeded)
    _, rows = _run(db, market_data.CANDLES, ctx)
    bars = [b for b in seeded["md.bars.1s"] if b["venue"] == "binance" and b["instrument"] == INST]
    assert bars
    assert [(r[1], r[2], r[3], r[4], r[5]) for r in rows] == [
        (b["open"], b["high"], b["low"], b["close"], b["volume"]) for b in bars
    ]


def test_coverage_timeline_opens_and_closes_each_gap(
    db: Client, seeded_db: tuple[str, Seeded]
) -> None:
    seeded = seeded_db[1]
    ctx = _context(MARKET_DATA, seeded)
    _, rows = _run(db, market_data.COVERAGE_TIMELINE, ctx)
    gaps = [c for c in seeded["md.coverage"] if c["event"] == "GAP"]
    assert gaps
    assert sum(1 for r in rows if r[2] == 1) == len(gaps)
    assert sum(1 for r in rows if r[2] == 0) == len(gaps)
    series = {f"{g['venue']} {g['instrument']} {g['channel']}" for g in gaps}
    assert {r[1] for r in rows} == series


def test_dead_letters_are_the_bybit_unknown_instruments(
    db: Client, seeded_db: tuple[str, Seeded]
) -> None:
    seeded = seeded_db[1]
    ctx = _context(MARKET_DATA, seeded)
    _, rows = _run(db, market_data.DEAD_LETTERS_OVER_TIME, ctx)
    letters = seeded["dlq.normalize"]
    assert len(letters) == 145
    assert sum(r[2] for r in rows) == len(letters)
    assert {r[1] for r in rows} == {f"normalize {d['error_type']}" for d in letters}


def test_orders_by_state_fills_and_denials(db: Client, seeded_db: tuple[str, Seeded]) -> None:
    seeded = seeded_db[1]
    ctx = _context(TRADING, seeded)
    _, states = _run(db, trading.ORDERS_BY_STATE, ctx)
    last: dict[str, str] = {}
    for event in seeded["oms.events"]:
        last[event["client_order_id"]] = event["status"]
    want: dict[str, int] = defaultdict(int)
    for status in last.values():
        want[status] += 1
    assert dict(states) == dict(want)
    _, flow = _run(db, trading.ORDER_FLOW, ctx)
    assert flow == [
        (
            len([r for r in seeded["oms.requests"] if r["action"] == "NEW"]),
            len(seeded["oms.approved"]),
            len(seeded["oms.denied"]),
            len(seeded["oms.fills"]),
        )
    ]
    assert len(seeded["oms.denied"]) == 1
    _, denials = _run(db, trading.DENIALS_BY_RULE, ctx)
    assert [(r[1], r[2]) for r in denials] == [(seeded["oms.denied"][0]["rule"], 1)]


def test_slippage_against_the_arrival_mid(db: Client, seeded_db: tuple[str, Seeded]) -> None:
    seeded = seeded_db[1]
    ctx = _context(TRADING, seeded)
    _, rows = _run(db, trading.SLIPPAGE_BY_VENUE, ctx)
    mid = {d["client_order_id"]: d["reference_price"] for d in seeded["oms.approved"]}
    fills = seeded["oms.fills"]
    assert fills
    worst = max(
        (f["price"] - mid[f["client_order_id"]]) * 10000 / mid[f["client_order_id"]] for f in fills
    )
    ((venue, side, count, _, got_worst),) = rows
    assert (venue, side, count) == ("binance", "BUY", len(fills))
    assert abs(got_worst - worst) < Decimal("1e-15")


def test_tca_by_venue_is_the_tca_stages_reports(db: Client, seeded_db: tuple[str, Seeded]) -> None:
    """The hot path's TCA stage reported every finished (IOC) order; the panel aggregates
    its stored components exactly (sum of cost over sum of value, truncated at 18 places)."""
    seeded = seeded_db[1]
    ctx = _context(TRADING, seeded)
    _, rows = _run(db, trading.TCA_BY_VENUE, ctx)
    reports = [r for r in seeded["tca"] if r["kind"] == "ORDER" and r["filled_qty"] > 0]
    assert reports
    assert {r["order_id"] for r in reports} <= {f["client_order_id"] for f in seeded["oms.fills"]}
    cost = sum((Fraction(r["execution_cost"]) for r in reports), Fraction(0))
    value = sum(
        (Fraction(r["filled_qty"]) * Fraction(r["arrival_mid"]) for r in reports), Fraction(0)
    )
    shortfall = sum(
        (Fraction(r["execution_cost"]) + Fraction(r["fees_quote"]) for r in reports), Fraction(0)
    )
    paper = sum(
        (Fraction(r["quantity"]) * Fraction(r["arrival_mid"]) for r in reports), Fraction(0)
    )
    ((venue, side, orders, notional, arrival_bps, _, shortfall_bps),) = rows
    assert (venue, side, orders) == ("binance", "BUY", len(reports))
    assert notional == sum((r["notional"] for r in reports), Decimal(0))
    assert arrival_bps == _trunc18(cost * 10000 / value)
    assert shortfall_bps == _trunc18(shortfall * 10000 / paper)
    _, latest = _run(db, trading.TCA_LATEST, ctx)
    assert len(latest) == len(seeded["tca"])


def _trunc18(value: Fraction) -> Decimal:
    n = abs(value.numerator) * 10**18 // value.denominator
    return Decimal(n if value >= 0 else -n).scaleb(-18)


def test_positions_table_is_the_last_snapshot(db: Client, seeded_db: tuple[str, Seeded]) -> None:
    seeded = seeded_db[1]
    ctx = _context(TRADING, seeded)
    _, rows = _run(db, trading.POSITIONS, ctx)
    last = seeded["positions"][-1]
    ((account, venue, instrument, quantity, *_),) = rows
    assert (account, venue, instrument, quantity) == (
        last["account"],
        last["venue"],
        last["instrument"],
        last["quantity"],
    )


def test_time_filter_excludes_rows_outside_the_range(
    db: Client, seeded_db: tuple[str, Seeded]
) -> None:
    seeded = seeded_db[1]
    before = QueryContext(
        datetime(2020, 1, 1, tzinfo=UTC),
        datetime(2021, 1, 1, tzinfo=UTC),
        interval_ms=1000,
        variables=_context(MARKET_DATA, seeded).variables,
    )
    for query in (market_data.VOLUME_TABLE, market_data.CANDLES, market_data.SPREAD_BPS):
        assert _run(db, query, before)[1] == []
