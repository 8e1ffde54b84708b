"""Configuration of the stages and their topics (Kafka-free; both shells read it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tapewire.core.errors import ConfigError
from tapewire.core.kafka import TopicSpec
from tapewire.streams.aggregate import BarConfig, DepthConfig, NbboConfig
from tapewire.streams.tca import TcaConfig
from tapewire.streams.trading.config import TradingConfig

AGENTS = (
    "normalize",
    "bars",
    "nbbo",
    "depth",
    "bbo",
    "strategy",
    "risk",
    "router",
    "positions",
    "sor",
    "tca",
)
"""Agents :func:`create_app` can register; ``bbo`` runs only with ``bbo_venues`` set; the
trading agents need ``StreamsConfig.trading`` (see ``docs/trading.md``)."""
TRADING_AGENTS = ("strategy", "risk", "router", "positions", "sor", "tca")
DEFAULT_AGENTS = ("normalize", "bars", "nbbo")


TRADING_TOPICS = (
    "oms.requests",
    "oms.parent_requests",
    "oms.parent_events",
    "oms.approved",
    "oms.denied",
    "oms.events",
    "oms.fills",
    "positions",
    "alerts",
    "tca",
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

    @property
    def depth_repartition(self) -> str:
        """Internal: ``md.book`` re-keyed by consolidated id (values unchanged)."""
        return self.name("md.book.by-consolidated")

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
            "md.derivatives",
            "md.coverage",
            "md.nbbo",
            "md.depth",
            "dlq.normalize",
            "dlq.aggregate",
            *TRADING_TOPICS,
        ]
        names = [self.name(t) for t in canonical]
        return [
            *names,
            *(self.bars(i) for i in self.bar_intervals),
            self.nbbo_repartition,
            self.depth_repartition,
        ]


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
    depth: DepthConfig = field(default_factory=DepthConfig)
    """``md.depth``: levels per venue and the venues' taker fees (``depth`` agent)."""
    bbo_venues: frozenset[str] = frozenset()
    """Venues whose BBO is derived from ``md.book`` (``bbo`` agent); empty = none."""
    stream_buffer_maxsize: int = 16_384
    commit_interval_s: float = 1.0
    trading: TradingConfig | None = None
    """Risk limits, paper venues, strategies of the trading agents; None = not configured."""
    tca: TcaConfig = field(default_factory=TcaConfig)
    """Bounds of the TCA stage's state (it runs with the trading agents)."""

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

    def topic_specs(self) -> list[TopicSpec]:
        """Every topic of :meth:`StreamTopics.all`: ``md.markets`` compacted on one partition,
        the others with :attr:`partitions` partitions."""
        markets = self.topics.markets
        return [
            TopicSpec(name, 1, self.replication_factor, MARKETS_TOPIC_CONFIG)
            if name == markets
            else TopicSpec(name, self.partitions, self.replication_factor)
            for name in self.topics.all()
        ]

    @property
    def topics(self) -> StreamTopics:
        """Topic names for this config."""
        return StreamTopics(self.topic_prefix, tuple(i.name for i in self.bars.intervals))
