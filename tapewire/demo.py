"""``tapewire demo``: the whole market-data pipeline on embedded defaults, with live progress.

One process holds the embedded ClickHouse (chDB) and runs the sink in a thread and the
query endpoint that answers ``tapewire sql`` from other terminals; the stream processors
run as a Faust worker; the simulator (or a replay) publishes to ``md.raw``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from rich.console import Console
from rich.live import Live
from rich.table import Table

from schemas.codec import Codec
from sinks.clickhouse.client import mask_url
from sinks.clickhouse.migrations import migrate_url
from sinks.clickhouse.query import run_sql
from sinks.clickhouse.rows import DEFAULT_TOPICS
from sinks.clickhouse.sink import SinkConfig, SinkStats, run_sink
from streams.app import StreamsConfig, declare_topics, run_worker
from tapewire import metrics
from tapewire.demo_feed import RAW_TOPIC, SimulatorFeed
from tapewire.errors import TapewireError
from tapewire.query_server import QueryServer
from tapewire.runtime.kafka_io import create_topic
from tapewire.runtime.kafka_local import client_config
from tapewire.runtime.kafka_resolve import kafka_for
from tapewire.settings import Settings

SINK_GROUP = "tapewire-sink"
DLQ_TOPICS = ("dlq.normalize", "dlq.sink", "dlq.aggregate")
STORED_TABLES = ("raw_frames", "trades", "book_updates", "quotes", "bars", "nbbo", "coverage")


@dataclass(frozen=True)
class DemoOptions:
    """What ``tapewire demo`` runs."""

    duration_s: float | None = None
    rate: int = 2_000
    seed: int = 7
    max_frames: int | None = None
    refresh_s: float = 1.0


@dataclass
class DemoReport:
    """Totals at the end of a demo run."""

    frames_published: int = 0
    topic_messages: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    gaps: int = 0
    queries_answered: int = 0


def demo_topics() -> tuple[str, ...]:
    """Every topic the demo's stages read or write."""
    return tuple(dict.fromkeys((RAW_TOPIC, *DEFAULT_TOPICS, *DLQ_TOPICS)))


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
            TopicPartition(t, p) for t in DEFAULT_TOPICS for p in range(self._partitions.get(t, 0))
        ]
        committed = self._consumer.committed(parts, timeout=5)
        done = sum(max(tp.offset, 0) for tp in committed)
        return max(0, sum(ends.get(t, 0) for t in DEFAULT_TOPICS) - done)

    def close(self) -> None:
        self._consumer.close()


def _count_rows(url: str) -> tuple[dict[str, int], int]:
    rows: dict[str, int] = {}
    for table in STORED_TABLES:
        result = run_sql(url, f"SELECT count() FROM {table}")
        rows[table] = int(result.rows[0][0])
    gaps = run_sql(url, "SELECT count() FROM coverage WHERE event = 'GAP'")
    return rows, int(gaps.rows[0][0])


def _progress_table(
    elapsed: float,
    feed: SimulatorFeed,
    ends: dict[str, int],
    previous: dict[str, int],
    interval: float,
    lag: int,
    rows: dict[str, int],
    gaps: int,
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
                config=SinkConfig(migrate=False),
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
def _worker_thread(
    settings: Settings, config: StreamsConfig, bootstrap: str, errors: list[BaseException]
) -> Iterator[None]:
    stop, ready = threading.Event(), threading.Event()

    def run() -> None:
        try:
            run_worker(
                settings, config, stop_event=stop, bootstrap=bootstrap, ready=ready, declare=False
            )
        except BaseException as exc:  # reported by the demo loop, never swallowed
            errors.append(exc)
            ready.set()

    thread = threading.Thread(target=run, name="tapewire-streams", daemon=True)
    thread.start()
    ready.wait(timeout=120)
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=60)


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
        streams = StreamsConfig()
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
        stack.enter_context(_worker_thread(settings, streams, bootstrap, errors))
        console.print("streams: normalize, bars, nbbo agents running (Faust worker thread)")
        codec = Codec.from_settings(settings)
        feed = SimulatorFeed(
            bootstrap,
            seed=options.seed,
            rate=options.rate,
            max_frames=options.max_frames,
            codec=codec,
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
    return report
