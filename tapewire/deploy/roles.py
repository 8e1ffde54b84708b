"""One role of a deployment, run in this process until it is told to stop.

Each role wires building blocks that already run elsewhere (the demo, the tests):

- ``connector``: the market simulator paced to ``rate`` frames/s (``SimulatorFeed``) or
  one ccxt.pro connector per exchange (``LiveConnector``), publishing to ``md.raw``;
- ``normalize``: ``md.raw`` → trades, books, quotes: Faust agents (a consumer group: run
  several processes to spread the partitions) or the hot-path shell; with
  ``[normalize] fuse`` one hot-path process also runs those aggregate stages in its graph;
- ``aggregate``: bars, the NBBO re-key and NBBO (and the BBO from books) as Faust agents,
  those not fused into normalize;
- ``trade``: strategy and SOR → risk → router → positions on the hot path, which first
  rebuilds its state from its own record (``streams/hotpath/restore.py``): open paper
  orders, risk's open orders, positions, daily PnL, used ids, trading states, parent
  orders. With ``[[trading.shards]]`` one process per shard, each owning its accounts;
  with ``colocate_connector`` the connector runs inside it (``tapewire/deploy/colocate.py``);
- ``router``: one live venue of ``[trading.ccxt]`` (its accounts' keys from the key
  store): the approvals for it on ``oms.approved`` → the exchange through ccxt, its
  reports → ``oms.events``/``oms.fills`` (``tapewire/deploy/ccxt_router.py``; the trade
  role's router leaves those approvals to it);
- ``sink``: every market-data topic (and the trading topics) into ClickHouse; on chDB it
  also answers ``tapewire sql`` (the only process that can open the database);
- ``api``: the authenticated HTTP/WebSocket API (``docs/api.md``): reads ClickHouse,
  sends orders to ``oms.requests``, streams ``oms.events`` / ``oms.fills``.
- ``notifier``: alerts (and fills, feed health, daily PnL) to people's webhooks and
  e-mail (``sinks/notify``, ``docs/notifications.md``).

Topics are declared by every role before it starts (idempotent), so roles can start in
any order. With ``[kafka.security]`` a role logs in as its own Kafka user: ``run_role``
sets the process's client security once (:func:`tapewire.core.kafka.use_security`) and
checks the login before anything else.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import TypeVar

from tapewire.api.server import api_services, serve
from tapewire.connectors.capture.paced import SimulatorFeed
from tapewire.connectors.live.connector import LiveConnector
from tapewire.connectors.live.sink import KafkaRawSink
from tapewire.core import metrics
from tapewire.core.errors import ConfigError
from tapewire.core.kafka import process_security, use_security
from tapewire.core.settings import Settings
from tapewire.deploy.ccxt_router import RouterSpec, run_ccxt_router
from tapewire.deploy.colocate import run_colocated
from tapewire.deploy.config import DeployConfig
from tapewire.runtime.kafka_io import create_topic, produce_all
from tapewire.runtime.kafka_security import check_login
from tapewire.runtime.topics import declare_topics
from tapewire.schemas.codec import Codec
from tapewire.sinks.clickhouse.migrations import migrate_url
from tapewire.sinks.clickhouse.query_server import QueryServer
from tapewire.sinks.clickhouse.rows import DEFAULT_TOPICS, TRADING_TOPICS
from tapewire.sinks.clickhouse.sink import SinkConfig, run_sink
from tapewire.sinks.notify.role import DLQ, NotifierRole, RoleSettings, input_topics
from tapewire.streams.agents.app import run_worker
from tapewire.streams.hotpath.gc_tuning import tune_for_throughput
from tapewire.streams.hotpath.restore import read_trading_history, restore_trading
from tapewire.streams.hotpath.worker import HotPathWorker, build_hot_path, run_hot_path
from tapewire.streams.risk import RiskConfig
from tapewire.streams.stages.base import OutMsg
from tapewire.streams.stages.config import StreamsConfig

log = logging.getLogger("tapewire.deploy")
T = TypeVar("T")

TRADING_STAGES = ("strategy", "sor", "risk", "router", "positions", "tca")
RoleRunner = Callable[[DeployConfig, Settings, str, threading.Event], None]


def _streams(config: DeployConfig, role: str) -> StreamsConfig:
    # the topic prefix also prefixes the consumer groups: two deployments on one cluster
    # never join each other's groups
    return config.streams_config(app_id=f"{config.kafka.topic_prefix}tapewire-{role}")


def run_connector(
    config: DeployConfig, settings: Settings, bootstrap: str, stop: threading.Event
) -> None:
    """Publish ``md.raw`` until ``stop`` (or, for the simulator, ``max_frames``)."""
    section = _section(config.connector, "connector")
    if config.colocated_connector():
        raise ConfigError(
            "the connector runs inside a trade process (colocate_connector = true): a "
            "connector process too would publish every frame twice",
            field="trading.colocate_connector",
            value=True,
            hint="run the trade role, or set colocate_connector = false",
        )
    streams = _streams(config, "connector")
    declare_topics(bootstrap, streams)
    raw = streams.topics.raw
    codec = Codec.from_settings(settings)
    source = section.source
    if source.kind == "simulator":
        feed = SimulatorFeed(
            bootstrap,
            seed=source.seed,
            rate=source.rate,
            max_frames=source.max_frames,
            codec=codec,
            topic=raw,
            markets_topic=streams.topics.markets,
            spread_ticks=source.spread_ticks,
            start_ns=source.start_ns,
        ).start()
        try:
            while not stop.wait(0.5) and not feed.stats.done:
                pass
        finally:
            feed.stop()
        log.info("connector: %d frames delivered to %s", feed.stats.delivered, raw)
        return

    async def live() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        threading.Thread(
            target=lambda: (stop.wait(), loop.call_soon_threadsafe(stopping.set)), daemon=True
        ).start()
        sinks = [
            KafkaRawSink(bootstrap, codec=codec, topic=raw, markets_topic=streams.topics.markets)
            for _ in source.exchanges
        ]
        try:
            await asyncio.gather(
                *(
                    LiveConnector(exchange, sink).run(stopping)
                    for exchange, sink in zip(source.exchanges, sinks, strict=True)
                )
            )
        finally:
            for sink in sinks:
                sink.flush()

    asyncio.run(live())


def run_normalize(
    config: DeployConfig, settings: Settings, bootstrap: str, stop: threading.Event
) -> None:
    """``md.raw`` → ``md.trades``, ``md.book``, ``md.quotes``, ``md.coverage`` (and the
    outputs of the ``normalize.fuse`` stages)."""
    section = _section(config.normalize, "normalize")
    streams = _streams(config, "normalize")
    if section.shell == "hotpath":
        tune_for_throughput()  # a market-data process: throughput over collector pauses
        # normalize state is per md.raw partition: processes share them as one group (with
        # fused aggregates, processes = 1: the one member holds every partition)
        run_hot_path(
            settings,
            streams,
            stop_event=stop,
            bootstrap=bootstrap,
            stages=("normalize", *section.fuse),
            group=True,
        )
    else:
        run_worker(settings, streams, agents=("normalize",), stop_event=stop, bootstrap=bootstrap)


def run_aggregate(
    config: DeployConfig, settings: Settings, bootstrap: str, stop: threading.Event
) -> None:
    """Bars, NBBO, consolidated depth (and BBO from books for ``aggregate.bbo_venues``)
    as Faust agents: those not fused into normalize (``normalize.fuse``). With none left
    (``run all`` starts no aggregate process then) a process started by hand idles until
    stopped, so a service manager does not restart it in a loop."""
    _section(config.aggregate, "aggregate")
    agents = config.aggregate_agents()
    if not agents:
        log.info(
            "aggregate: nothing to run, normalize runs %s in its hot path (normalize.fuse); "
            "idle until stopped",
            list(config.fused()),
        )
        stop.wait()
        return
    streams = _streams(config, "aggregate")
    run_worker(settings, streams, agents=agents, stop_event=stop, bootstrap=bootstrap)


def run_trade(
    config: DeployConfig,
    settings: Settings,
    bootstrap: str,
    stop: threading.Event,
    replica: int = 0,
) -> None:
    """Strategies, the risk gate, the router on paper venues and positions: of every
    account, or of the accounts of ``[[trading.shards]]`` number ``replica``."""
    section = _section(config.trading, "trading")
    streams = trade_streams(config, replica)
    declare_topics(bootstrap, streams)
    codec = Codec.from_settings(settings)
    worker = restored_trade_worker(bootstrap, streams, codec)
    if section.hosts_connector(replica):
        run_colocated(worker, _section(config.connector, "connector"), bootstrap, codec, stop)
    else:
        worker.run(stop)


def trade_streams(config: DeployConfig, replica: int = 0) -> StreamsConfig:
    """The streams config of ``trade`` process ``replica``: a shard has its own consumer
    group (``<prefix>tapewire-trade-<shard>``) and owns only its accounts."""
    trading = _section(config.trading, "trading")
    if not trading.shards:
        return _streams(config, "trade")
    if not 0 <= replica < len(trading.shards):
        raise ConfigError(
            f"trade process {replica}: the config has {len(trading.shards)} shard(s)",
            field="trading.shards",
            value=replica,
            hint=f"choose a shard: {', '.join(s.name for s in trading.shards)}",
        )
    shard = trading.shards[replica]
    log.info("trade: shard %s, accounts %s", shard.name, list(shard.accounts))
    app_id = f"{config.kafka.topic_prefix}tapewire-trade-{shard.name}"
    return config.streams_config(app_id=app_id, shard=replica)


def restored_trade_worker(bootstrap: str, streams: StreamsConfig, codec: Codec) -> HotPathWorker:
    """The trade role's hot path, its state rebuilt from its own record (what it restored
    is logged, and its outputs published, before the worker is returned)."""
    hot_path = build_hot_path(codec, streams, stages=TRADING_STAGES)
    clock = streams.trading.clock if streams.trading is not None else time.time_ns
    history = read_trading_history(bootstrap, streams, codec)
    summary = restore_trading(hot_path, history, clock())
    log.info(
        "trade: restored %d open paper order(s), %d fill(s), %d position record(s), "
        "%d used id(s), trading states %s; %d order(s) reconciled; %d parent(s), "
        "%d child request(s) sent again",
        len(summary.restored_orders),
        summary.fills,
        summary.positions,
        summary.known_ids,
        summary.trading_states or "none",
        summary.reconciled,
        summary.parents,
        summary.resent_children,
    )
    _publish(bootstrap, summary.outputs)
    # the remote venues' reports the restore applied are not pushed through the graph again
    names = {streams.topics.name(t) for t in hot_path.accept}
    start = {tp: offset for tp, offset in history.ends.items() if tp[0] in names}
    return HotPathWorker(bootstrap, streams, hot_path, start_after=start)


def run_router(
    config: DeployConfig,
    settings: Settings,
    bootstrap: str,
    stop: threading.Event,
    replica: int = 0,
) -> None:
    """The ccxt router of live venue number ``replica`` (``TradingSection.ccxt_venues``)."""
    spec = router_spec(config, bootstrap, replica)
    log.info("router: venue %s, accounts %s", spec.venue, list(spec.accounts))
    run_ccxt_router(spec, settings, stop)


def router_spec(config: DeployConfig, bootstrap: str, replica: int = 0) -> RouterSpec:
    """The :class:`RouterSpec` of ``router`` process ``replica``; its consumer group is
    ``<prefix>tapewire-router-<venue>``. :class:`ConfigError` names a missing section, a
    missing venue, or an unset passphrase variable."""
    trading = _section(config.trading, "trading")
    venues = trading.ccxt_venues()
    if not 0 <= replica < len(venues):
        raise ConfigError(
            f"router process {replica}: the config has {len(venues)} live venue(s)",
            field="trading.ccxt",
            value=replica,
            hint="add a [trading.ccxt.<venue>] section" if not venues else f"choose {venues}",
        )
    venue = venues[replica]
    section = trading.ccxt[venue]
    app_id = f"{config.kafka.topic_prefix}tapewire-router-{venue}"
    return RouterSpec(
        bootstrap=bootstrap,
        streams=dataclasses.replace(config.streams_config(app_id=app_id), batch_within_s=0.02),
        venue=venue,
        accounts=section.accounts,
        keystore=section.keystore,
        passphrase=section.passphrase(venue),
        sandbox=section.sandbox,
        rest_url=section.rest_url,
        ws_url=section.ws_url,
        watch_orders=section.watch_orders,
        poll_interval_s=section.poll_interval_s,
        timeout_ms=section.timeout_ms,
        reconcile_attempts=section.reconcile_attempts,
        reconcile_delay_s=section.reconcile_delay_s,
        session_timeout_s=section.session_timeout_s,
        options=dict(section.options),
    )


def run_store(
    config: DeployConfig, settings: Settings, bootstrap: str, stop: threading.Event
) -> None:
    """The ClickHouse sink over the market-data (and trading) topics.

    On the embedded engine (``chdb://``) this process is the only one that can open the
    database, so it also answers ``tapewire sql`` (and ``tapewire demo``'s progress
    queries) on loopback for as long as it runs (:class:`QueryServer`, its endpoint in
    ``<data_dir>/query-server.json``)."""
    section = _section(config.sink, "sink")
    streams = _streams(config, "sink")
    declare_topics(bootstrap, streams)
    names = DEFAULT_TOPICS + (TRADING_TOPICS if section.trading_topics else ())
    topics = {streams.topics.name(t): t for t in dict.fromkeys(names)}
    url = config.clickhouse.url or settings.resolved_clickhouse_url
    with ExitStack() as stack:
        if url.startswith("chdb://"):
            migrate_url(url)  # the tables exist before the first query arrives
            server = stack.enter_context(QueryServer(url, settings.data_dir))
            log.info("sink: answering tapewire sql at %s", server.endpoint.url)
        run_sink(
            settings,
            stop_event=stop,
            config=SinkConfig(
                topics=topics,
                group_id=section.group_id,
                flush_interval_s=section.flush_interval_s,
                dlq_topic=streams.topics.name("dlq.sink"),
            ),
            bootstrap=bootstrap,
            clickhouse_url=url,
        )


def run_api(
    config: DeployConfig, settings: Settings, bootstrap: str, stop: threading.Event
) -> None:
    """The API on ``[api] host:port`` until ``stop``."""
    section = _section(config.api, "api")
    streams = _streams(config, "api")
    with api_services(
        section,
        clickhouse_url=settings.resolved_clickhouse_url,
        bootstrap=bootstrap,
        codec=Codec.from_settings(settings),
        topic_name=streams.topics.name,
        partitions=config.kafka.partitions,
        replication=config.kafka.replication,
        risk=RiskConfig(accounts=dict(config.trading.accounts)) if config.trading else None,
        bar_intervals=streams.topics.bar_intervals,
        notifier=config.notifier,  # its channels, and the preferences file it reloads
    ) as services:
        serve(services, section, stop)


def run_notifier(
    config: DeployConfig, settings: Settings, bootstrap: str, stop: threading.Event
) -> None:
    """Alerts (and fills, feed health, daily PnL) delivered to the users' channels."""
    section = _section(config.notifier, "notifier")
    streams = _streams(config, "notifier")
    declare_topics(bootstrap, streams)
    dlq = streams.topics.name(DLQ)
    create_topic(bootstrap, dlq, exist_ok=True)
    role = NotifierRole(
        bootstrap,
        section,
        RoleSettings(
            topics={streams.topics.name(t): t for t in input_topics(section)},
            group_id=streams.app_id,
            dlq_topic=dlq,
        ),
        Codec.from_settings(settings),
        stop=stop,
    )
    stats = role.run()
    log.info(
        "notifier: %d alert(s), %d delivered, %d failed (dead letters), %d duplicate(s)",
        stats.alerts,
        stats.delivered,
        stats.failed,
        stats.duplicates,
    )


def _publish(bootstrap: str, outputs: Sequence[OutMsg]) -> None:
    by_topic: dict[str, list[tuple[bytes | None, bytes]]] = {}
    for out in outputs:
        by_topic.setdefault(out.topic, []).append((out.key, out.value))
    for topic, messages in by_topic.items():
        produce_all(bootstrap, topic, messages)


RUNNERS: dict[str, RoleRunner] = {
    "connector": run_connector,
    "normalize": run_normalize,
    "aggregate": run_aggregate,
    "trade": run_trade,
    "router": run_router,
    "sink": run_store,
    "api": run_api,
    "notifier": run_notifier,
}


def run_role(
    role: str,
    config: DeployConfig,
    settings: Settings,
    bootstrap: str,
    stop: threading.Event,
    *,
    replica: int = 0,
) -> None:
    """Run ``role`` in this thread until ``stop`` is set; serves ``/metrics`` on the port
    ``[metrics]`` gives the role's process ``replica`` (``DeployConfig.metrics_port``).

    With ``[kafka.security]`` every Kafka client of this process logs in as the role's
    user (set here, restored on return); a refused login raises
    :class:`~tapewire.core.errors.KafkaRuntimeError` at once."""
    runner = RUNNERS.get(role)
    if runner is None:
        raise ConfigError(
            f"unknown role {role!r}",
            field="role",
            value=role,
            hint=f"choose one of {', '.join(RUNNERS)} or all",
        )
    security = config.kafka.security.for_role(role)  # ConfigError: a password env var unset
    previous = process_security()
    use_security(security)
    if role == "trade":  # a trade process of a sharded deployment runs its shard
        runner = functools.partial(run_trade, replica=replica)
    elif role == "router":  # one process per live venue
        runner = functools.partial(run_router, replica=replica)
    try:
        if security is not None:
            check_login(bootstrap)
        _run_runner(runner, config, settings, bootstrap, stop, config.metrics_port(role, replica))
    finally:
        use_security(previous)


def _run_runner(
    runner: RoleRunner,
    config: DeployConfig,
    settings: Settings,
    bootstrap: str,
    stop: threading.Event,
    metrics_port: int | None,
) -> None:
    endpoint = None
    if metrics_port is not None:
        endpoint = metrics.serve_metrics(config.metrics.host or settings.metrics_host, metrics_port)
    try:
        runner(config, replace_settings(settings, config), bootstrap, stop)
    finally:
        if endpoint is not None:
            endpoint.stop()


def replace_settings(settings: Settings, config: DeployConfig) -> Settings:
    """``settings`` with the file's ClickHouse URL (the file wins over the environment)."""
    if config.clickhouse.url is None:
        return settings
    return settings.model_copy(update={"clickhouse_url": config.clickhouse.url})


def _section(section: T | None, name: str) -> T:
    if section is None:
        raise ConfigError(
            f"the config has no [{name}] section",
            field=name,
            hint=f"add a [{name}] section to run this role (see examples/demo.toml)",
        )
    return section
