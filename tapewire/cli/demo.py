"""``tapewire demo``: the whole pipeline on embedded defaults, with live progress.

One process holds the embedded ClickHouse (chDB) and runs the sink in a thread and the
query endpoint that answers ``tapewire sql`` from other terminals; the stream processors
run as the fused hot path (normalize, NBBO, strategy, risk, router, positions) plus a Faust
worker for the bars, or all as Faust agents with ``--topology agents``; the simulator
publishes to ``md.raw``. The example strategy (:class:`CrossVenueSpread`) trades
BTC-USDT-SPOT on two paper venues (binance, okx) through the risk gate, so the demo shows
orders, fills and PnL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from rich.console import Console
from rich.live import Live
from rich.table import Table

from tapewire.connectors.capture.paced import RAW_TOPIC, SimulatorFeed
from tapewire.connectors.markets import MARKETS_TOPIC
from tapewire.core import metrics
from tapewire.core.errors import ConfigError, TapewireError
from tapewire.core.kafka import client_config
from tapewire.core.settings import Settings
from tapewire.records.market import Quote
from tapewire.runtime.kafka_io import create_topic
from tapewire.runtime.kafka_resolve import kafka_for
from tapewire.runtime.topics import declare_topics
from tapewire.schemas.codec import Codec
from tapewire.sinks.clickhouse.client import mask_url
from tapewire.sinks.clickhouse.migrations import migrate_url
from tapewire.sinks.clickhouse.query import format_value, run_sql
from tapewire.sinks.clickhouse.query_server import QueryServer
from tapewire.sinks.clickhouse.rows import DEFAULT_TOPICS
from tapewire.sinks.clickhouse.rows import TRADING_TOPICS as SINK_TRADING_TOPICS
from tapewire.sinks.clickhouse.sink import SinkConfig, SinkStats, run_sink
from tapewire.streams.agents.app import run_worker
from tapewire.streams.execution.paper import PaperConfig
from tapewire.streams.hotpath import run_hot_path
from tapewire.streams.oms import OrderRequest
from tapewire.streams.risk import AccountLimits, InstrumentLimits, RiskConfig
from tapewire.streams.stages.config import (
    DEFAULT_AGENTS,
    TRADING_AGENTS,
    TRADING_TOPICS,
    StreamsConfig,
)
from tapewire.streams.trading import CrossVenueSpread, SpreadConfig
from tapewire.streams.trading.config import TradingConfig
from tapewire.streams.trading.positions import PositionLimits

SINK_GROUP = "tapewire-sink"
DLQ_TOPICS = ("dlq.normalize", "dlq.sink", "dlq.aggregate")
STORED_TABLES = ("raw_frames", "trades", "book_updates", "quotes", "bars", "nbbo", "coverage")
SINK_TOPICS = (*DEFAULT_TOPICS, *SINK_TRADING_TOPICS)
DEMO_ACCOUNT = "demo"
DEMO_INSTRUMENT = "BTC-USDT-SPOT"
DEMO_VENUES = ("binance", "okx")
DEMO_SPREAD_TICKS = 100
"""Quoted spread of the demo's simulated books, in ticks. With the simulator's default
one tick, okx's venue offset (0.5 bp) puts its bid above binance's ask: the NBBO is
crossed all the time and the risk gate denies every order (``missing_reference_price``,
fail closed). A wider spread gives an uncrossed NBBO while the venues' mids still differ
by about 0.5 bp, which the strategy's threshold below catches."""
TRADING_COUNTS = ("orders requested", "orders approved", "orders denied", "fills")


class DemoSpread(CrossVenueSpread):
    """:class:`CrossVenueSpread` that stays silent for its first ``warmup_ns`` of market
    time (by the quotes' receive time, so a replay decides alike): the risk gate denies
    until it has seen an NBBO, and a denied leg never becomes final on ``oms.events``, which
    would block the strategy for the rest of the run."""

    def __init__(self, config: SpreadConfig, warmup_ns: int) -> None:
        super().__init__(config)
        self.warmup_ns = warmup_ns
        self.first_ts_ns: int | None = None

    def on_quote(self, quote: Quote) -> list[OrderRequest]:
        ts = quote.receive_ts_ns
        if self.first_ts_ns is None:
            self.first_ts_ns = ts
        if ts - self.first_ts_ns < self.warmup_ns:
            return []
        return super().on_quote(quote)


def demo_trading_config() -> TradingConfig:
    """Paper venues binance and okx, the example strategy on BTC-USDT-SPOT (0.01 BTC a leg,
    at most 2 pairs), and risk limits that let its orders through.

    Two pairs, not more: after a third buy at a third price the position's average price
    is a division rounded to 18 places, and ``(mark - avg) * 0.03`` then has more than 18
    decimals, which the ``Position`` schema's decimal(38,18) refuses (the positions agent
    dead-letters the record). Averages over 0.01 and 0.02 stay short and exact."""
    limits = InstrumentLimits(
        max_order_qty=Decimal(1),
        max_order_notional=Decimal(100_000),
        max_position=Decimal(1),
        price_band_bps=Decimal(100),
    )
    account = AccountLimits(
        instruments={DEMO_INSTRUMENT: limits},
        max_open_orders=20,
        max_orders_per_window=100,
        rate_window_ms=1_000,
        daily_loss_limit=Decimal(10_000),
        stale_quote_ms=60_000,
    )
    spread = SpreadConfig(
        DEMO_INSTRUMENT,
        DEMO_VENUES,
        threshold_bps=Decimal("0.25"),
        quantity=Decimal("0.01"),
        account=DEMO_ACCOUNT,
        max_pairs=2,  # see below
    )
    return TradingConfig(
        risk=RiskConfig(accounts={DEMO_ACCOUNT: account}),
        paper_venues=tuple(PaperConfig(v) for v in DEMO_VENUES),
        strategies=(lambda: DemoSpread(spread, warmup_ns=2_000_000_000),),
        position_limits=PositionLimits(max_position={DEMO_INSTRUMENT: Decimal(1)}),
    )


TOPOLOGIES = ("fused", "agents")


@dataclass(frozen=True)
class DemoOptions:
    """What ``tapewire demo`` runs."""

    duration_s: float | None = None
    rate: int = 2_000
    seed: int = 7
    max_frames: int | None = None
    refresh_s: float = 1.0
    topology: str = "fused"
    """``fused``: the hot path (normalize → NBBO → strategy → risk → router → positions in
    one thread, ``docs/hot-path.md``) plus a Faust worker for the bars; ``agents``: every
    stage as its own Faust agent."""

    def __post_init__(self) -> None:
        if self.topology not in TOPOLOGIES:
            raise ConfigError(
                f"unknown demo topology {self.topology!r}",
                field="topology",
                value=self.topology,
                hint=f"choose one of {', '.join(TOPOLOGIES)}",
            )


@dataclass
class DemoReport:
    """Totals at the end of a demo run."""

    frames_published: int = 0
    topic_messages: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    gaps: int = 0
    queries_answered: int = 0
    trading: dict[str, int] = field(default_factory=dict)
    """Orders requested / approved / denied and fills stored in ClickHouse."""
    pnl: Decimal | None = None
    """Realized + unrealized - fees over the latest positions (None: no position yet)."""


def demo_topics() -> tuple[str, ...]:
    """Every topic the demo's stages read or write."""
    return tuple(dict.fromkeys((RAW_TOPIC, *DEFAULT_TOPICS, *DLQ_TOPICS, *TRADING_TOPICS)))


class _Offsets:
    """End offsets per topic and the sink's committed offsets, for the progress display."""

    def __init__(self, bootstrap: str, topics: tuple[str, ...]) -> None:
        admin = AdminClient(client_config(bootstrap))
        metadata = admin.list_topics(timeout=10).topics
        self._partitions = {t: len(metadata[t].partitions) if t in metadata else 0 for t in topics}
        self._consumer = Consumer(client_config(bootstrap) | {"group.id": SINK_GROUP})
        self._topics = topics

    def ends(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for topic in self._topics:
            total = 0
            for partition in range(self._partitions[topic]):
                _, high = self._consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=2, cached=False
                )
                total += max(high, 0)
            totals[topic] = total
        return totals

    def sink_lag(self, ends: dict[str, int]) -> int:
        parts = [
            TopicPartition(t, p) for t in SINK_TOPICS for p in range(self._partitions.get(t, 0))
        ]
        committed = self._consumer.committed(parts, timeout=5)
        done = sum(max(tp.offset, 0) for tp in committed)
        return max(0, sum(ends.get(t, 0) for t in SINK_TOPICS) - done)

    def close(self) -> None:
        self._consumer.close()


def _count_rows(url: str) -> tuple[dict[str, int], int]:
    rows: dict[str, int] = {}
    for table in STORED_TABLES:
        result = run_sql(url, f"SELECT count() FROM {table}")
        rows[table] = int(result.rows[0][0])
    gaps = run_sql(url, "SELECT count() FROM coverage WHERE event = 'GAP'")
    return rows, int(gaps.rows[0][0])


def _trading_totals(url: str) -> tuple[dict[str, int], Decimal | None]:
    """Orders and fills stored, and the PnL of the latest positions (exact)."""
    counts = run_sql(
        url,
        "SELECT (SELECT count() FROM order_requests FINAL),"
        " (SELECT countIf(decision = 'APPROVED') FROM risk_decisions FINAL),"
        " (SELECT countIf(decision = 'DENIED') FROM risk_decisions FINAL),"
        " (SELECT count() FROM fills FINAL)",
    )
    totals = dict(zip(TRADING_COUNTS, (int(v) for v in counts.rows[0]), strict=True))
    pnl = run_sql(
        url,
        "SELECT count(), sum(realized_pnl + unrealized_pnl - fees) FROM ("
        " SELECT realized_pnl, unrealized_pnl, fees FROM positions FINAL"
        " ORDER BY account, venue, instrument, update_ts DESC, kafka_topic DESC,"
        " kafka_partition DESC, kafka_offset DESC LIMIT 1 BY account, venue, instrument)",
    )
    n, total = pnl.rows[0]
    return totals, (Decimal(total) if int(n) else None)


def _progress_table(
    elapsed: float,
    feed: SimulatorFeed,
    ends: dict[str, int],
    previous: dict[str, int],
    interval: float,
    lag: int,
    rows: dict[str, int],
    gaps: int,
    trading: dict[str, int],
    pnl: Decimal | None,
) -> Table:
    table = Table(title=f"Tapewire demo: {elapsed:,.0f} s", expand=False)
    table.add_column("stage / topic")
    table.add_column("messages", justify="right")
    table.add_column("per second", justify="right")
    table.add_row("simulator → md.raw", f"{feed.stats.delivered:,}", "")
    for topic, count in ends.items():
        if count or topic.startswith("md."):
            rate = (count - previous.get(topic, 0)) / interval if interval > 0 else 0.0
            table.add_row(topic, f"{count:,}", f"{rate:,.0f}")
    table.add_row("sink consumer lag", f"{lag:,}", "")
    for name, count in rows.items():
        table.add_row(f"ClickHouse {name}", f"{count:,}", "")
    table.add_row("coverage gaps", f"{gaps:,}", "")
    for name, count in trading.items():
        table.add_row(name, f"{count:,}", "")
    table.add_row(
        "PnL (realized + unrealized - fees)", "-" if pnl is None else format_value(pnl), ""
    )
    return table


@contextmanager
def _sink_thread(
    settings: Settings, bootstrap: str, errors: list[BaseException]
) -> Iterator[SinkStats]:
    stop = threading.Event()
    stats = SinkStats()

    def run() -> None:
        try:
            result = run_sink(
                settings,
                stop_event=stop,
                config=SinkConfig(
                    migrate=False, topics={t: t for t in SINK_TOPICS}, flush_interval_s=2.0
                ),
                bootstrap=bootstrap,
                on_progress=lambda s: stats.__dict__.update(s.__dict__),
            )
            stats.__dict__.update(result.__dict__)
        except BaseException as exc:  # reported by the demo loop, never swallowed
            errors.append(exc)

    thread = threading.Thread(target=run, name="tapewire-sink", daemon=True)
    thread.start()
    try:
        yield stats
    finally:
        stop.set()
        thread.join(timeout=60)


@contextmanager
def _stage_thread(
    name: str,
    run: Callable[[threading.Event, threading.Event], object],
    errors: list[BaseException],
) -> Iterator[None]:
    """``run(stop, ready)`` on a daemon thread, until the block ends; its error is recorded
    in ``errors`` (the demo loop reports it), never swallowed."""
    stop, ready = threading.Event(), threading.Event()

    def body() -> None:
        try:
            run(stop, ready)
        except BaseException as exc:  # reported by the demo loop
            errors.append(exc)
            ready.set()

    thread = threading.Thread(target=body, name=name, daemon=True)
    thread.start()
    ready.wait(timeout=120)
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=60)


def _worker_thread(
    settings: Settings,
    config: StreamsConfig,
    bootstrap: str,
    errors: list[BaseException],
    agents: tuple[str, ...],
) -> AbstractContextManager[None]:
    """A Faust worker running ``agents``."""
    return _stage_thread(
        "tapewire-streams",
        lambda stop, ready: run_worker(
            settings,
            config,
            agents=agents,
            stop_event=stop,
            bootstrap=bootstrap,
            ready=ready,
            declare=False,
        ),
        errors,
    )


def _hot_path_thread(
    settings: Settings, config: StreamsConfig, bootstrap: str, errors: list[BaseException]
) -> AbstractContextManager[None]:
    """The fused hot path (``docs/hot-path.md``)."""
    return _stage_thread(
        "tapewire-hotpath",
        lambda stop, ready: run_hot_path(
            settings, config, stop_event=stop, ready=ready, bootstrap=bootstrap, declare=False
        ),
        errors,
    )


def run_demo(
    settings: Settings,
    options: DemoOptions,
    *,
    console: Console | None = None,
) -> DemoReport:
    """Run the demo until ``options.duration_s`` passes or Ctrl-C; return the totals."""
    console = console or Console()
    report = DemoReport()
    url = settings.resolved_clickhouse_url
    errors: list[BaseException] = []
    with ExitStack() as stack:
        kafka = stack.enter_context(kafka_for(settings, on_progress=console.print))
        bootstrap = kafka.bootstrap_servers
        console.print(f"kafka: {kafka.description}")
        streams = StreamsConfig(trading=demo_trading_config())
        declare_topics(bootstrap, streams)
        for topic in demo_topics():
            create_topic(bootstrap, topic, partitions=streams.partitions, exist_ok=True)
        migrate_url(url)
        console.print(f"clickhouse: {mask_url(url)}")
        server = stack.enter_context(QueryServer(url, settings.data_dir))
        console.print(f"queries: tapewire sql answers from this process ({server.endpoint.url})")
        endpoint = metrics.serve_metrics(settings.metrics_host, settings.metrics_port)
        if endpoint is not None:
            stack.callback(endpoint.stop)
            console.print(f"metrics: {endpoint.url}")
        stack.enter_context(_sink_thread(settings, bootstrap, errors))
        if options.topology == "fused":
            stack.enter_context(_hot_path_thread(settings, streams, bootstrap, errors))
            stack.enter_context(_worker_thread(settings, streams, bootstrap, errors, ("bars",)))
            console.print(
                "streams: hot path (normalize → nbbo → strategy → risk → router → positions, "
                "tca; one thread) + bars agent (Faust worker thread)"
            )
        else:
            agents = (*DEFAULT_AGENTS, *TRADING_AGENTS)
            stack.enter_context(_worker_thread(settings, streams, bootstrap, errors, agents))
            console.print(
                "streams: normalize, bars, nbbo + strategy, risk, router, positions, tca agents "
                "running (Faust worker thread)"
            )
        console.print(
            f"trading: CrossVenueSpread on {DEMO_INSTRUMENT} across paper venues "
            f"{', '.join(DEMO_VENUES)}, account {DEMO_ACCOUNT}"
        )
        codec = Codec.from_settings(settings)
        feed = SimulatorFeed(
            bootstrap,
            seed=options.seed,
            rate=options.rate,
            max_frames=options.max_frames,
            codec=codec,
            markets_topic=MARKETS_TOPIC,
            spread_ticks=DEMO_SPREAD_TICKS,
        ).start()
        stack.callback(feed.stop)
        offsets = _Offsets(bootstrap, demo_topics())
        stack.callback(offsets.close)
        started = time.monotonic()
        previous: dict[str, int] = {}
        last = started
        try:
            with Live(console=console, refresh_per_second=4, transient=False) as live:
                while options.duration_s is None or time.monotonic() - started < options.duration_s:
                    time.sleep(options.refresh_s)
                    if errors:
                        raise TapewireError(f"a demo stage failed: {errors[0]}") from errors[0]
                    now = time.monotonic()
                    ends = offsets.ends()
                    rows, gaps = _count_rows(url)
                    trading, pnl = _trading_totals(url)
                    live.update(
                        _progress_table(
                            now - started,
                            feed,
                            ends,
                            previous,
                            now - last,
                            offsets.sink_lag(ends),
                            rows,
                            gaps,
                            trading,
                            pnl,
                        )
                    )
                    previous, last = ends, now
        except KeyboardInterrupt:
            console.print("stopping (Ctrl-C)…")
        feed.stop()
        report.frames_published = feed.stats.delivered
        report.topic_messages = offsets.ends()
        report.queries_answered = server.queries_answered
    report.rows, report.gaps = _count_rows(url)
    report.trading, report.pnl = _trading_totals(url)
    return report
