"""The replay loop: stored market events through the live stage graph, on a simulated clock.

:func:`replay` builds the fused hot path's graph (:func:`~tapewire.streams.hotpath.
build_hot_path`: strategy, risk, router with the paper venues, then positions and TCA as
deferred nodes; the same stage classes the live trade role runs) behind the NBBO stage,
and pushes every :class:`~tapewire.backtest.history.MarketEvent` into it as a typed
record: no Kafka, no Avro (:class:`~tapewire.backtest.codec.CheckedCodec`). Every output
the graph publishes is recorded (:class:`Outputs`).

Time is the data's: :class:`SimClock` is the largest receive time pushed so far. It is the
risk gate's clock (decision times, stale quotes), the NBBO's processing time and the dead
letters' time; the paper venues run on the records' receive times as they do live. No
wall clock reaches an output, so the same events and config give the same outputs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from tapewire.backtest.codec import CheckedCodec
from tapewire.backtest.history import MarketEvent
from tapewire.core.errors import ConfigError
from tapewire.core.records import TypedRecord
from tapewire.records.positions import Position
from tapewire.streams.aggregate import NbboAggregator
from tapewire.streams.hotpath.graph import StageGraph, single_topic
from tapewire.streams.hotpath.worker import build_hot_path
from tapewire.streams.stages.base import Emitter, InMsg, OutMsg
from tapewire.streams.stages.config import StreamsConfig
from tapewire.streams.stages.nbbo import NbboStage

STAGES = ("strategy", "risk", "router", "positions", "tca")
"""The trading stages of :func:`build_hot_path` a backtest runs (behind the NBBO stage)."""
RECORDED = (
    "oms.requests",
    "oms.approved",
    "oms.denied",
    "oms.events",
    "oms.fills",
    "alerts",
    "tca",
)
"""Topics whose every record is kept; ``positions`` are sampled, ``md.nbbo`` counted."""

PositionKey = tuple[str, str, str]


@dataclass
class SimClock:
    """The simulated clock: UTC ns, moved forward by the replay loop only."""

    now_ns: int = 0

    def __call__(self) -> int:
        return self.now_ns


@dataclass(frozen=True)
class Sample:
    """Every position known at ``ts_ns`` (its latest record), sorted by key."""

    ts_ns: int
    positions: tuple[Position, ...]


@dataclass
class Outputs:
    """What one replay produced, in emission order."""

    records: dict[str, list[TypedRecord]] = field(default_factory=lambda: {t: [] for t in RECORDED})
    counts: dict[str, int] = field(default_factory=dict)
    """Records published per topic (every topic, ``md.nbbo`` and ``positions`` included)."""
    dead_letters: list[bytes] = field(default_factory=list)
    """Encoded DeadLetter records (``dlq.*``)."""
    samples: list[Sample] = field(default_factory=list)
    market_events: int = 0
    seconds: float = 0.0
    """Wall time of the loop (not an output: the speed figure)."""

    @property
    def events_per_s(self) -> float:
        """Market events per second of loop time."""
        return self.market_events / self.seconds if self.seconds > 0 else 0.0


class Recorder:
    """The graph's ``publish``: keeps the recorded topics and the latest position per key."""

    def __init__(self, outputs: Outputs) -> None:
        self.outputs = outputs
        self.latest: dict[PositionKey, Position] = {}

    def __call__(self, topic: str, out: OutMsg) -> None:
        counts = self.outputs.counts
        counts[topic] = counts.get(topic, 0) + 1
        record = out.record
        if topic == "positions":
            if isinstance(record, Position):
                self.latest[(record.account, record.venue, record.instrument)] = record
        elif topic.startswith("dlq."):
            self.outputs.dead_letters.append(out.value)
        elif record is not None:
            kept = self.outputs.records.get(topic)
            if kept is not None:
                kept.append(record)

    def sample(self, ts_ns: int) -> None:
        """Record the positions as of ``ts_ns`` (none before the first fill)."""
        positions = tuple(self.latest[k] for k in sorted(self.latest))
        self.outputs.samples.append(Sample(ts_ns, positions))


def _clocked(config: StreamsConfig, clock: SimClock) -> StreamsConfig:
    if config.trading is None:
        raise ConfigError(
            "the deployment file has no [trading] section: nothing to backtest",
            field="trading",
            hint="add [trading] with accounts, paper_venues and strategies (examples/demo.toml)",
        )
    if not config.trading.paper_venues:
        raise ConfigError(
            "trading.paper_venues is empty: a backtest fills orders on paper venues only",
            field="trading.paper_venues",
            hint='name the venues the strategy trades, e.g. paper_venues = ["binance", "okx"]',
        )
    return replace(config, trading=replace(config.trading, clock=clock))


def build_graph(
    config: StreamsConfig, clock: SimClock, *, timed: bool = False, checked: bool = False
) -> StageGraph:
    """NBBO (on ``md.quotes``) then the hot path's trading stages, every clock simulated
    (``timed``: observe each stage's time in the Prometheus histogram, as live;
    ``checked``: check every record emitted against its schema, :class:`CheckedCodec`)."""
    config = _clocked(config, clock)
    codec = CheckedCodec(check=checked)
    hot = build_hot_path(codec, config, stages=STAGES)
    nbbo = NbboStage(codec, config.topics.name, aggregator=NbboAggregator(config.nbbo, clock=clock))
    emitters: list[Emitter] = [nbbo.emitter]
    for stage in hot.stages.values():
        emitter = getattr(stage, "emitter", None)
        if isinstance(emitter, Emitter):
            emitters.append(emitter)
    for emitter in emitters:
        emitter.clock = clock
    nodes = [single_topic(nbbo, nbbo.emitter, topic="md.quotes"), *hot.graph.nodes]
    return StageGraph(nodes, hot.graph.canonical, timed=timed)


def replay(
    config: StreamsConfig,
    events: Sequence[MarketEvent],
    *,
    start_ns: int,
    end_ns: int,
    interval_ns: int,
    checked: bool = False,
) -> Outputs:
    """Push ``events`` through a fresh graph; sample positions every ``interval_ns`` from
    ``start_ns`` to ``end_ns`` (the last sample is at ``end_ns``; ``checked``: see
    :func:`build_graph`)."""
    if interval_ns <= 0:
        raise ConfigError(
            f"--interval must be positive (got {interval_ns} ns)",
            field="--interval",
            value=interval_ns,
            hint="e.g. 1s, 500ms, 1m",
        )
    clock = SimClock(start_ns)
    graph = build_graph(config, clock, checked=checked)
    outputs = Outputs()
    recorder = Recorder(outputs)
    push = graph.push
    next_sample = start_ns + interval_ns
    started = time.perf_counter()
    for event in events:
        received = event.key[1]
        if received > clock.now_ns:
            clock.now_ns = received
        while clock.now_ns >= next_sample and next_sample < end_ns:
            recorder.sample(next_sample)
            next_sample += interval_ns
        push(event.topic, InMsg(None, None, None, None, event.record), recorder)
    outputs.seconds = time.perf_counter() - started
    outputs.market_events = len(events)
    while next_sample < end_ns:
        recorder.sample(next_sample)
        next_sample += interval_ns
    recorder.sample(end_ns)
    return outputs
