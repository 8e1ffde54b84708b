"""``tapewire demo``: ``tapewire run all`` over ``examples/demo.toml``, with live progress.

The demo starts (or finds) Kafka, writes ``examples/demo.toml`` with the run's options to
``<data_dir>/demo/demo.toml`` (:mod:`tapewire.cli.demo_config`) and supervises one process
per role, as ``run all`` does: the connector (the market simulator, publishing to
``md.raw``), normalize (the hot-path shell with ``--topology fused``, Faust agents with
``agents``), aggregate (bars, NBBO, depth as Faust agents), trade (the example strategy
:class:`CrossVenueSpread` on BTC-USDT-SPOT across paper venues binance and okx, through
the risk gate, on the hot path) and the sink. The sink process holds the embedded
ClickHouse (chDB: one process per data directory) and answers ``tapewire sql``, including
the demo's own progress and report queries. Role logs go to ``<data_dir>/demo/logs/``.

At the end the demo stops the connector, waits until the stages have caught up (their
topics stop growing), stops them, waits until the sink has stored what they wrote, takes
the report through the sink's endpoint, then stops the sink.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.live import Live

from tapewire.cli.demo_config import TOPOLOGIES, write_demo_config
from tapewire.cli.demo_progress import (
    Offsets,
    count_rows,
    progress_table,
    trading_totals,
)
from tapewire.connectors.capture.paced import RAW_TOPIC
from tapewire.core.errors import ConfigError, TapewireError
from tapewire.core.settings import CONFIG_FILE_ENV, Settings
from tapewire.deploy.config import DeployConfig
from tapewire.deploy.supervisor import Supervisor
from tapewire.runtime.kafka_io import create_topic
from tapewire.runtime.kafka_resolve import kafka_for
from tapewire.runtime.topics import declare_topics
from tapewire.sinks.clickhouse.client import mask_url
from tapewire.sinks.clickhouse.migrations import migrate_url
from tapewire.sinks.clickhouse.query import run_sql
from tapewire.sinks.clickhouse.query_server import (
    QueryEndpoint,
    TextResult,
    find_query_server,
    remote_queries_answered,
    remote_sql,
    render,
)
from tapewire.sinks.clickhouse.rows import DEFAULT_TOPICS
from tapewire.sinks.clickhouse.rows import TRADING_TOPICS as SINK_TRADING_TOPICS
from tapewire.streams.stages.config import TRADING_TOPICS

log = logging.getLogger("tapewire.demo")
DLQ_TOPICS = ("dlq.normalize", "dlq.sink", "dlq.aggregate")
SINK_TOPICS = (*DEFAULT_TOPICS, *SINK_TRADING_TOPICS)
TIMER_TOPICS = ("md.bars.", "md.depth")
DEMO_ACCOUNT = "paper"
"""The account of ``examples/demo.toml``'s strategy."""
STARTUP_TIMEOUT_S = 180.0
"""How long the sink process may take to open ClickHouse and serve queries."""
DRAIN_TIMEOUT_S = 60.0
"""How long the sink may take, once the other roles stopped, to store what they wrote."""
SETTLE_QUIET_S = 3.0
"""Once the connector stopped: the stages have caught up when their topics have not grown
for this long (bars and depth excepted: they are published on timers)."""
SETTLE_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class DemoOptions:
    """What ``tapewire demo`` runs."""

    duration_s: float | None = None
    rate: int = 2_000
    seed: int = 7
    max_frames: int | None = None
    refresh_s: float = 1.0
    topology: str = "fused"
    """``fused``: the normalize role runs on the hot-path shell; ``agents``: as Faust
    agents. Trading runs on the hot path and aggregation as Faust agents in both."""

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
    """Frames the simulator added to ``md.raw`` during this run."""
    topic_messages: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    gaps: int = 0
    queries_answered: int = 0
    """``tapewire sql`` statements the sink process answered for others (not the demo's)."""
    trading: dict[str, int] = field(default_factory=dict)
    """Orders requested / approved / denied and fills stored in ClickHouse."""
    pnl: Decimal | None = None
    """Realized + unrealized - fees over the latest positions (None: no position yet)."""
    sink_pid: int | None = None
    """The process that held ClickHouse and answered the queries."""
    restarts: dict[str, int] = field(default_factory=dict)
    """Restarts per role process (0 in a healthy run)."""
    config_path: Path | None = None
    log_dir: Path | None = None


def demo_topics() -> tuple[str, ...]:
    """Every topic the demo's roles read or write."""
    return tuple(dict.fromkeys((RAW_TOPIC, *DEFAULT_TOPICS, *DLQ_TOPICS, *TRADING_TOPICS)))


def child_env(settings: Settings) -> dict[str, str]:
    """The settings the role processes must share with the demo (whatever the demo was
    given in code): the data directory (the query endpoint's file), ClickHouse, the
    schema registry."""
    env = {
        "TAPEWIRE_DATA_DIR": str(settings.data_dir.resolve()),
        "TAPEWIRE_CLICKHOUSE_URL": settings.resolved_clickhouse_url,
        "TAPEWIRE_METRICS_PORT": str(settings.metrics_port),
    }
    if settings.schema_registry_url:
        env["TAPEWIRE_SCHEMA_REGISTRY_URL"] = settings.schema_registry_url
    config_file = os.environ.get(CONFIG_FILE_ENV)
    if config_file:  # the children run in another folder
        env[CONFIG_FILE_ENV] = str(Path(config_file).resolve())
    return env


class _Queries:
    """Where the demo's counts come from: the sink's endpoint on chDB (counting the
    statements the demo itself sends), else the ClickHouse server directly."""

    def __init__(self, url: str, endpoint: QueryEndpoint | None) -> None:
        self.url = url
        self.endpoint = endpoint
        self.sent = 0

    def run(self, sql: str) -> TextResult:
        if self.endpoint is None:
            return render(run_sql(self.url, sql))
        self.sent += 1
        return remote_sql(self.endpoint, sql)

    def rows(self) -> tuple[dict[str, int], int]:
        return count_rows(self.run)

    def trading(self) -> tuple[dict[str, int], Decimal | None]:
        return trading_totals(self.run)

    def answered_for_others(self) -> int:
        if self.endpoint is None:
            return 0
        return max(0, remote_queries_answered(self.endpoint) - self.sent)


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stop`` (main thread only; elsewhere a no-op). The role
    processes run in a session of their own, so only the demo gets the terminal's Ctrl-C
    and stops them in order."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = lambda _signum, _frame: stop.set()  # noqa: E731
    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _log_tail(log_dir: Path, name: str, lines: int = 20) -> str:
    path = log_dir / f"{name}.log"
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _check_roles(supervisor: Supervisor, log_dir: Path) -> None:
    """Raise if a role refused its configuration (it is not restarted)."""
    for name, state, *_ in supervisor.status():
        if state == "failed":
            raise TapewireError(
                f"demo role {name} refused its configuration; its log "
                f"({log_dir / (name + '.log')}) ends with:\n{_log_tail(log_dir, name)}"
            )


def _wait_for_endpoint(
    supervisor: Supervisor, data_dir: Path, log_dir: Path, stop: threading.Event
) -> QueryEndpoint:
    """The sink process's query endpoint, once it serves."""
    sink = next(c for c in supervisor.children if c.role == "sink")
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline and not stop.is_set():
        supervisor.poll()
        _check_roles(supervisor, log_dir)
        endpoint = find_query_server(data_dir)
        if endpoint is not None and sink.process is not None and endpoint.pid == sink.process.pid:
            return endpoint
        time.sleep(0.5)
    if stop.is_set():
        raise TapewireError("the demo was stopped before the sink role served queries")
    raise TapewireError(
        f"the sink role did not serve queries within {STARTUP_TIMEOUT_S:.0f} s; its log "
        f"({log_dir / 'sink.log'}) ends with:\n{_log_tail(log_dir, 'sink')}"
    )


def _settle(offsets: Offsets, quiet_s: float, timeout_s: float) -> bool:
    """Wait until the stages have processed what the connector published: no topic of
    theirs grew for ``quiet_s`` (at most ``timeout_s``). Stopped with a backlog, the next
    run's trade role would start on it, with quotes the risk gate calls stale."""
    deadline = time.monotonic() + timeout_s
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        ends = {t: n for t, n in offsets.ends().items() if not t.startswith(TIMER_TOPICS)}
        if ends != last:
            last, since = ends, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return True
        time.sleep(0.5)
    return False


def _stream_groups(config: DeployConfig) -> list[str]:
    """The consumer groups of the normalize and aggregate roles (Faust: the app id; the
    hot-path shell: ``<app id>-hotpath``)."""
    prefix = config.kafka.topic_prefix
    normalize = f"{prefix}tapewire-normalize"
    hotpath = config.normalize is not None and config.normalize.shell == "hotpath"
    groups = [f"{normalize}-hotpath" if hotpath else normalize]
    if config.aggregate_agents():  # none left when normalize fuses them: no process
        groups.append(f"{prefix}tapewire-aggregate")
    return groups


def _wait_for_groups(
    supervisor: Supervisor,
    offsets: Offsets,
    groups: list[str],
    log_dir: Path,
    stop: threading.Event,
) -> None:
    """Until the stream roles have joined their groups (at most ``STARTUP_TIMEOUT_S``): a
    market that starts before them would be all quotes before the first NBBO."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline and not stop.is_set():
        supervisor.poll()
        _check_roles(supervisor, log_dir)
        if offsets.groups_ready(groups):
            return
        time.sleep(1.0)
    log.warning(
        "consumer groups %s not ready after %.0f s: starting anyway", groups, STARTUP_TIMEOUT_S
    )


def _drain(offsets: Offsets, timeout_s: float) -> int:
    """Wait until the sink has committed everything on its topics; the lag left."""
    deadline = time.monotonic() + timeout_s
    while (lag := offsets.lag(offsets.ends(), SINK_TOPICS)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return lag


def _prepare(bootstrap: str, config: DeployConfig) -> None:
    """Every topic of the demo, before the roles and the progress reader start."""
    declare_topics(bootstrap, config.streams_config(app_id="tapewire-demo"))
    for topic in demo_topics():
        create_topic(bootstrap, topic, partitions=config.kafka.partitions, exist_ok=True)


def run_demo(
    settings: Settings,
    options: DemoOptions,
    *,
    console: Console | None = None,
) -> DemoReport:
    """Run the demo until ``options.duration_s`` passes, Ctrl-C or SIGTERM; return the
    totals (read through the sink process before it stops)."""
    console = console or Console()
    report = DemoReport()
    data_dir = settings.data_dir.resolve()
    stop = threading.Event()
    with ExitStack() as stack:
        stack.enter_context(_stop_on_signals(stop))
        held = find_query_server(data_dir)
        if held is not None:
            raise TapewireError(
                f"process {held.pid} already holds {data_dir}'s ClickHouse (another demo or "
                "sink role)",
                hint="stop it first, or set TAPEWIRE_DATA_DIR to another folder",
            )
        kafka = stack.enter_context(kafka_for(settings, on_progress=console.print))
        bootstrap = kafka.bootstrap_servers
        console.print(f"kafka: {kafka.description}")
        path, config = write_demo_config(
            settings,
            bootstrap,
            seed=options.seed,
            rate=options.rate,
            max_frames=options.max_frames,
            topology=options.topology,
        )
        report.config_path, report.log_dir = path, path.parent / "logs"
        _prepare(bootstrap, config)
        url = config.clickhouse.url or settings.resolved_clickhouse_url
        if not url.startswith("chdb://"):  # a server: this process queries it directly
            migrate_url(url)
        offsets = Offsets(bootstrap, demo_topics(), config.sink.group_id if config.sink else "")
        stack.callback(offsets.close)
        raw_before = offsets.ends()[RAW_TOPIC]
        roles = config.processes()
        supervisor = Supervisor(
            path,
            roles,
            bootstrap,
            log_dir=report.log_dir,
            env=child_env(settings),
            cwd=path.parent,  # Faust keeps <app id>-data in the working directory
            own_session=True,
        )
        stack.callback(supervisor.stop)  # every role, whatever happens below
        supervisor.start([r for r in roles if r != "connector"])
        console.print(
            f"run all: {', '.join(roles)} as processes over {path} "
            f"(examples/demo.toml + this run's options); logs in {report.log_dir}"
        )
        normalize = "hot-path shell" if options.topology == "fused" else "Faust agents"
        console.print(
            f"streams: normalize ({normalize}), aggregate (bars, nbbo, depth: Faust agents), "
            "trade (strategy → risk → router → positions, tca: hot path)"
        )
        console.print(
            f"trading: CrossVenueSpread on BTC-USDT-SPOT across paper venues binance, okx, "
            f"account {DEMO_ACCOUNT}"
        )
        if config.metrics.port is not None:
            ports = config.metrics_ports().items()
            listed = ", ".join(f"{role} {port}" for (role, _), port in ports)
            console.print(f"metrics: /metrics on {config.metrics.host}: {listed}")
        console.print(f"clickhouse: {mask_url(url)}")
        endpoint = None
        if url.startswith("chdb://"):
            endpoint = _wait_for_endpoint(supervisor, data_dir, report.log_dir, stop)
            report.sink_pid = endpoint.pid
            console.print(f"queries: tapewire sql answers from the sink (pid {endpoint.pid})")
        queries = _Queries(url, endpoint)
        _wait_for_groups(supervisor, offsets, _stream_groups(config), report.log_dir, stop)
        supervisor.start(["connector"])  # the market starts once its readers are there
        console.print("connector: the simulator publishes to md.raw")
        _watch(options, supervisor, offsets, queries, raw_before, report.log_dir, stop, console)
        console.print(
            "stopping: the connector; the stages catch up; then normalize, aggregate, trade"
        )
        supervisor.stop(["connector"])
        if not _settle(offsets, SETTLE_QUIET_S, SETTLE_TIMEOUT_S):
            console.print("[yellow]the stages were still busy after 60 s[/yellow]")
        supervisor.stop([r for r in roles if r != "sink"])
        console.print("stopping: the sink stores what the stages wrote, then stops")
        lag = _drain(offsets, DRAIN_TIMEOUT_S)
        if lag:
            console.print(f"[yellow]the sink still lags {lag:,} message(s)[/yellow]")
        report.topic_messages = offsets.ends()
        report.frames_published = report.topic_messages[RAW_TOPIC] - raw_before
        report.rows, report.gaps = queries.rows()
        report.trading, report.pnl = queries.trading()
        report.queries_answered = queries.answered_for_others()
        supervisor.stop()
        report.restarts = {name: restarts for name, _, _, restarts, _ in supervisor.status()}
    return report


def _watch(
    options: DemoOptions,
    supervisor: Supervisor,
    offsets: Offsets,
    queries: _Queries,
    raw_before: int,
    log_dir: Path,
    stop: threading.Event,
    console: Console,
) -> None:
    """The live progress table, until the duration passes or ``stop`` (a signal)."""
    started = last = time.monotonic()
    previous: dict[str, int] = {}
    try:
        with Live(console=console, refresh_per_second=4, transient=False) as live:
            while not stop.wait(options.refresh_s):
                supervisor.poll()
                _check_roles(supervisor, log_dir)
                now = time.monotonic()
                ends = offsets.ends()
                interval = now - last
                rates = {t: (n - previous.get(t, n)) / interval for t, n in ends.items()}
                rows, gaps = queries.rows()
                trading, pnl = queries.trading()
                live.update(
                    progress_table(
                        now - started,
                        ends[RAW_TOPIC] - raw_before,
                        ends,
                        rates,
                        offsets.lag(ends, SINK_TOPICS),
                        rows,
                        gaps,
                        trading,
                        pnl,
                        supervisor.status(),
                    )
                )
                previous, last = ends, now
                if options.duration_s is not None and now - started >= options.duration_s:
                    break
    except KeyboardInterrupt:  # Ctrl-C outside the main thread's handler
        pass
    if stop.is_set():
        console.print("stopping (signal)…")
