"""The Faust app of the stream processors: factory, topic declaration, in-process worker.

Faust carries raw bytes (``value_serializer="raw"``); the agents decode and encode with
:class:`schemas.codec.Codec` once per batch. Topics are created here with the admin client
(the local broker runs with ``auto.create.topics.enable=false``), and Faust is told not to
declare anything itself. See ``docs/streams.md``.

    settings = load_settings()
    run_worker(settings, StreamsConfig(), stop_event=threading.Event())   # blocks
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import faust
from faust.transport.drivers.aiokafka import Producer as AIOKafkaProducer

from schemas.codec import Codec
from streams.aggregate import BarConfig, NbboConfig
from tapewire.errors import ConfigError
from tapewire.runtime.kafka_io import create_topic
from tapewire.settings import Settings

if TYPE_CHECKING:
    from streams.trading.config import TradingConfig

log = logging.getLogger(__name__)

AGENTS = ("normalize", "bars", "nbbo", "bbo", "strategy", "risk", "router", "positions")
"""Agents :func:`create_app` can register; ``bbo`` runs only with ``bbo_venues`` set; the
trading agents need ``StreamsConfig.trading`` (see ``docs/trading.md``)."""
TRADING_AGENTS = ("strategy", "risk", "router", "positions")
DEFAULT_AGENTS = ("normalize", "bars", "nbbo")


TRADING_TOPICS = (
    "oms.requests",
    "oms.approved",
    "oms.denied",
    "oms.events",
    "oms.fills",
    "positions",
    "alerts",
    "dlq.trading",
)
"""Topics of the trading agents (declared with the market-data topics)."""

MARKETS_TOPIC_CONFIG = {"cleanup.policy": "compact", "segment.ms": str(3_600_000)}
"""``md.markets`` holds the venues' market REST frames (RawFrame bytes as on md.raw, key
``venue:rest_url``), re-published by the normalizer; every normalize worker reads it whole,
so it is compacted (the latest response per request URL is kept forever), has one
partition (one publish order) and rolls segments hourly so compaction can run."""


@dataclass(frozen=True)
class StreamTopics:
    """Kafka topic names: the canonical ``md.*`` names behind an optional ``prefix`` (tests
    and side-by-side runs use a unique prefix). The codec always sees canonical names."""

    prefix: str = ""
    bar_intervals: tuple[str, ...] = ("1s", "1m")

    def name(self, canonical: str) -> str:
        """The Kafka name of a canonical topic."""
        return f"{self.prefix}{canonical}"

    @property
    def raw(self) -> str:
        """``md.raw``."""
        return self.name("md.raw")

    @property
    def markets(self) -> str:
        """``md.markets``: the venues' market REST frames, compacted (``MARKETS_TOPIC_CONFIG``)."""
        return self.name("md.markets")

    @property
    def nbbo_repartition(self) -> str:
        """Internal: ``md.quotes`` re-keyed by consolidated id (values unchanged)."""
        return self.name("md.quotes.by-consolidated")

    def bars(self, interval: str) -> str:
        """``md.bars.<interval>``."""
        return self.name(f"md.bars.{interval}")

    def all(self) -> list[str]:
        """Every topic the agents read or write."""
        canonical = [
            "md.raw",
            "md.markets",
            "md.trades",
            "md.book",
            "md.quotes",
            "md.coverage",
            "md.nbbo",
            "dlq.normalize",
            "dlq.aggregate",
            *TRADING_TOPICS,
        ]
        names = [self.name(t) for t in canonical]
        return [*names, *(self.bars(i) for i in self.bar_intervals), self.nbbo_repartition]


@dataclass(frozen=True)
class StreamsConfig:
    """Knobs of the stream processors (the Faust app and its agents)."""

    app_id: str = "tapewire-streams"
    topic_prefix: str = ""
    partitions: int = 6
    """Partitions of every topic created by :func:`declare_topics` (existing ones are kept)."""
    replication_factor: int = 1
    batch_size: int = 2000
    """``stream.take_events(batch_size, within=batch_within_s)``."""
    batch_within_s: float = 0.05
    web_port: int | None = None
    """Faust's web server (health, stats) on this port; None = off."""
    auto_offset_reset: str = "earliest"
    bars: BarConfig = field(default_factory=BarConfig)
    nbbo: NbboConfig = field(default_factory=NbboConfig)
    bbo_venues: frozenset[str] = frozenset()
    """Venues whose BBO is derived from ``md.book`` (``bbo`` agent); empty = none."""
    stream_buffer_maxsize: int = 16_384
    commit_interval_s: float = 1.0
    trading: TradingConfig | None = None
    """Risk limits, paper venues, strategies of the trading agents; None = not configured."""

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ConfigError("batch_size must be >= 1", field="batch_size", value=self.batch_size)
        if self.batch_within_s <= 0:
            raise ConfigError(
                "batch_within_s must be > 0 (None would stall the agent)",
                field="batch_within_s",
                value=self.batch_within_s,
            )
        if self.partitions < 1:
            raise ConfigError("partitions must be >= 1", field="partitions", value=self.partitions)

    @property
    def topics(self) -> StreamTopics:
        """Topic names for this config."""
        return StreamTopics(self.topic_prefix, tuple(i.name for i in self.bars.intervals))


class IdempotentProducer(AIOKafkaProducer):
    """Faust's aiokafka producer with ``enable_idempotence`` and ``acks=all``.

    Faust turns idempotence on only with ``processing_guarantee="exactly_once"`` (which we
    avoid, see the brief); without it a retried batch can be written twice.
    """

    def _settings_extra(self) -> dict[str, Any]:
        return {"acks": "all", "enable_idempotence": True}


class TapewireApp(faust.App):
    """``faust.App`` whose producer is idempotent; carries the agents' shared context."""

    streams_config: StreamsConfig
    codec: Codec
    executors: list[ThreadPoolExecutor]

    def _new_producer(self) -> Any:
        transport = self.producer_transport
        return IdempotentProducer(transport, loop=self.loop, beacon=self.beacon)


def bootstrap_of(settings: Settings, bootstrap: str | None = None) -> str:
    """The bootstrap servers to use: ``bootstrap``, else ``KAFKA_BOOTSTRAP_SERVERS``."""
    servers = bootstrap or settings.kafka_bootstrap_servers
    if not servers:
        raise ConfigError(
            "the stream worker needs a running Kafka",
            field="kafka_bootstrap_servers",
            hint="set KAFKA_BOOTSTRAP_SERVERS, or start one (tapewire kafka start / tapewire demo)",
        )
    return servers


def declare_topics(bootstrap: str, config: StreamsConfig) -> list[str]:
    """Create every topic of :meth:`StreamTopics.all` that does not exist yet."""
    names = config.topics.all()
    markets = config.topics.markets
    for name in names:
        create_topic(
            bootstrap,
            name,
            partitions=1 if name == markets else config.partitions,
            replication_factor=config.replication_factor,
            config=MARKETS_TOPIC_CONFIG if name == markets else None,
            exist_ok=True,
        )
    return names


def create_app(
    settings: Settings,
    config: StreamsConfig | None = None,
    *,
    agents: Sequence[str] = DEFAULT_AGENTS,
    bootstrap: str | None = None,
    codec: Codec | None = None,
) -> TapewireApp:
    """A Faust app with the chosen agents registered (create it inside the loop it runs on)."""
    config = config or StreamsConfig()
    unknown = sorted(set(agents) - set(AGENTS))
    if unknown:
        raise ConfigError(
            f"unknown agent(s) {unknown}", field="agents", value=list(agents), hint=f"{AGENTS}"
        )
    servers = bootstrap_of(settings, bootstrap)
    app = TapewireApp(
        config.app_id,
        broker=[f"kafka://{s.strip()}" for s in servers.split(",")],
        value_serializer="raw",
        key_serializer="raw",
        store="memory://",
        web_enabled=config.web_port is not None,
        web_port=config.web_port or 6066,
        web_host="127.0.0.1",
        topic_partitions=config.partitions,
        topic_replication_factor=config.replication_factor,
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset=config.auto_offset_reset,
        producer_acks=-1,
        stream_buffer_maxsize=config.stream_buffer_maxsize,
        broker_commit_interval=config.commit_interval_s,
        autodiscover=False,
    )
    app.streams_config = config
    app.codec = codec or Codec.from_settings(settings)
    app.executors = []
    from streams.agents import register

    register(app, agents)
    return app


async def serve(app: TapewireApp, stop: Callable[[], Awaitable[None]]) -> None:
    """Start ``app`` in the running loop, wait for ``stop()`` to return, stop the app."""
    await app.start()
    try:
        await stop()
    finally:
        await app.stop()
        for executor in app.executors:
            executor.shutdown(wait=True)


def run_worker(
    settings: Settings,
    config: StreamsConfig | None = None,
    *,
    agents: Sequence[str] = DEFAULT_AGENTS,
    stop_event: threading.Event | None = None,
    bootstrap: str | None = None,
    ready: threading.Event | None = None,
    declare: bool = True,
) -> None:
    """Run a worker in this thread, with its own event loop, until ``stop_event`` is set.

    Blocks; call it from a dedicated thread (``threading.Thread(target=run_worker, ...)``) or
    as the main function of a subprocess. ``ready`` is set once the agents are started.
    """
    config = config or StreamsConfig()
    servers = bootstrap_of(settings, bootstrap)
    if declare:
        declare_topics(servers, config)
    stop_event = stop_event or threading.Event()

    async def main() -> None:
        app = create_app(settings, config, agents=agents, bootstrap=servers)

        async def wait_stop() -> None:
            if ready is not None:
                ready.set()
            while not stop_event.is_set():
                await asyncio.sleep(0.05)

        await serve(app, wait_stop)

    asyncio.run(main())


def agent_names(app: TapewireApp) -> Iterable[str]:
    """Names of the registered agents."""
    return cast(Iterable[str], app.agents.keys())
