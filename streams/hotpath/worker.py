"""The fused hot path as a Kafka process: ``md.raw`` (and commands) in, every record out.

The :class:`StageGraph` runs normalize → NBBO → strategy / SOR → risk → router (→ positions) as
function calls on one thread, so a market frame reaches the venue after one Kafka hop
(``md.raw``) instead of one per agent. Kafka stays the record: every output (quotes,
books, bars, NBBO, requests, decisions, order events, fills, positions, dead letters) is
produced as it is emitted, without waiting, by an idempotent ``acks=all`` producer with
``linger.ms=5`` (outputs are the record, not the order path). See ``docs/hot-path.md``.

Delivery contract (at least once, like the agents): the offsets of consumed messages are
committed only once every output they caused was acknowledged by the broker (offsets are
checkpointed every ``commit_interval_s`` and committed asynchronously when the outputs
before the checkpoint are all delivered; the loop never waits for the broker); a failed
delivery stops the worker without committing, so a restart processes the messages
again.

Ownership: the worker *assigns* itself every partition of its input topics (no consumer
group rebalancing): the NBBO and the risk gate need every venue of an instrument in one
process. Run one hot-path worker per topic set (per ``topic_prefix``).

Live venues: with ``TradingConfig.remote_venues`` (executed by ``router`` processes), the
worker also reads ``oms.events`` and ``oms.fills`` and pushes the records of those venues
only (``HotPath.accept``), from where the restore stopped (``start_after``).

Commands: ``oms.requests`` is both an output (the strategies' intents) and an input (the
CLI's orders and kill switch). Requests this worker produced carry the header
``tapewire-origin: <group id>`` and are skipped when read back; every other request is
decided by the in-process risk gate like an intent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial

from confluent_kafka import (
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from prometheus_client import Counter

from tapewire.core import metrics
from tapewire.core.errors import ConfigError, KafkaRuntimeError
from tapewire.core.kafka import client_config, producer_config
from tapewire.core.settings import Settings
from tapewire.runtime.kafka_io import committed_offsets, peek_raw_markets, read_markets
from tapewire.runtime.topics import bootstrap_of, declare_topics
from tapewire.schemas.codec import Codec
from tapewire.streams.hotpath.commits import CommitTracker, Offsets
from tapewire.streams.hotpath.graph import Node, StageGraph, keyed, multi_topic, single_topic
from tapewire.streams.router.stage import INPUTS as ROUTER_INPUTS
from tapewire.streams.router.stage import Journal, RouterStage
from tapewire.streams.router.venue import PaperVenueAdapter, Venue
from tapewire.streams.stages.algos import AlgoStageEngine, algo_config
from tapewire.streams.stages.bars import BarsStage
from tapewire.streams.stages.base import InMsg, OutMsg
from tapewire.streams.stages.config import StreamsConfig
from tapewire.streams.stages.depth import DepthStage
from tapewire.streams.stages.nbbo import NbboStage
from tapewire.streams.stages.normalize import (
    MARKETS,
    MarketsReader,
    NormalizeStage,
    RawMarketsReader,
)
from tapewire.streams.stages.parent_engine import ParentEngine
from tapewire.streams.stages.parents import INPUTS as PARENT_INPUTS
from tapewire.streams.stages.parents import ParentStage
from tapewire.streams.stages.positions import INPUTS as POSITIONS_INPUTS
from tapewire.streams.stages.positions import PositionsStage
from tapewire.streams.stages.risk import INPUTS as RISK_INPUTS
from tapewire.streams.stages.risk import RiskStage
from tapewire.streams.stages.sor import SorEngine, sor_config
from tapewire.streams.stages.strategy import StrategyStage
from tapewire.streams.stages.tca import INPUTS as TCA_INPUTS
from tapewire.streams.stages.tca import TcaStage
from tapewire.streams.trading.config import TradingConfig
from tapewire.streams.trading.strategy import Strategy

log = logging.getLogger("tapewire.hotpath")

HOTPATH_STAGES = (
    "normalize",
    "bars",
    "nbbo",
    "depth",
    "strategy",
    "sor",
    "risk",
    "router",
    "positions",
    "tca",
)
"""Every stage the fused graph can hold, in the order they are wired."""
DEFAULT_STAGES = tuple(s for s in HOTPATH_STAGES if s != "bars")
"""What :func:`build_hot_path` wires unless told: bars run in the aggregate role unless a
lone normalize process takes them (``[normalize] fuse``, ``docs/deployment.md``)."""
TRADING_STAGES = frozenset(("strategy", "sor", "risk", "router", "positions", "tca"))
OUTPUTS: dict[str, frozenset[str]] = {
    "normalize": frozenset(("md.trades", "md.book", "md.quotes", "md.coverage", "md.markets")),
    "bars": frozenset(),  # md.bars.<interval>: read by no stage (the sink, consumers)
    "nbbo": frozenset(("md.nbbo",)),
    "depth": frozenset(("md.depth",)),
    "strategy": frozenset(("oms.requests",)),
    "sor": frozenset(("oms.requests", "oms.parent_events")),
    "risk": frozenset(("oms.approved", "oms.denied")),
    "router": frozenset(("oms.events", "oms.fills")),
    "positions": frozenset(("positions",)),
    "tca": frozenset(("tca",)),
}
"""The canonical topics each stage produces that other stages may read."""
COMMAND_TOPICS = frozenset(("oms.requests",))
"""Topics read from Kafka even though the graph also produces them (see module doc)."""
REPORT_TOPICS = frozenset(("oms.events", "oms.fills"))
"""Read from Kafka too when ``TradingConfig.remote_venues`` (their venues' records only)."""
ORIGIN_HEADER = "tapewire-origin"
MARKET_BATCH = 500
"""Messages a market-only graph (no trading stage) takes per call when a backlog is
already fetched: normalize then runs once per batch, as under Faust, instead of once per
frame. A graph with trading stages takes one message at a time (a strategy reads quotes
and NBBO: their interleaving must stay as produced)."""
LOCAL_MARKET_TOPICS = frozenset(("md.trades", "md.book", "md.quotes", "md.coverage"))
"""Market topics keyed ``venue:...`` whose records a co-located connector also makes."""


@dataclass
class HotPath:
    """A built graph and the stages a caller may need (the router, for recovery)."""

    graph: StageGraph
    stages: dict[str, object]
    external: frozenset[str]
    """Canonical topics the worker consumes from Kafka."""
    accept: dict[str, Callable[[bytes | None, bytes | None], bool]] = field(default_factory=dict)
    """Per external topic: which of its Kafka messages (key, value) go into the graph
    (the reports of remote venues on ``oms.events``/``oms.fills``; others are skipped)."""


def _trading(config: StreamsConfig) -> TradingConfig:
    if config.trading is None:
        raise ConfigError(
            "the hot path's trading stages need StreamsConfig.trading",
            field="trading",
            hint="pass StreamsConfig(trading=TradingConfig(risk=RiskConfig(...), ...)) or "
            "leave strategy/risk/router/positions out of stages",
        )
    return config.trading


def hotpath_group(config: StreamsConfig) -> str:
    """The hot path's default consumer group."""
    return f"{config.app_id}-hotpath"


def build_hot_path(
    codec: Codec,
    config: StreamsConfig,
    *,
    stages: Sequence[str] = DEFAULT_STAGES,
    venues: Sequence[Venue] | None = None,
    strategies: Sequence[Strategy] | None = None,
    journal: Journal | None = None,
    markets_reader: MarketsReader | None = None,
    raw_markets_reader: RawMarketsReader | None = None,
) -> HotPath:
    """The fused graph of ``stages`` with the same stage classes the Faust agents run.

    ``venues`` default to one paper venue per ``config.trading.paper_venues``;
    ``strategies`` to the trading config's factories; ``journal`` as for the router agent;
    ``markets_reader`` reads ``md.markets`` when a venue's markets are missing (a restart
    past the market frames; see ``docs/streams.md``, "Rebalances"); ``raw_markets_reader``
    peeks at the market frames still ahead on ``md.raw`` (a lone worker that met a venue's
    websocket frames first).
    """
    unknown = sorted(set(stages) - set(HOTPATH_STAGES))
    if unknown:
        raise ConfigError(
            f"unknown hot-path stage(s) {unknown}",
            field="stages",
            value=list(stages),
            hint=f"choose from {list(HOTPATH_STAGES)}",
        )
    name = config.topics.name
    built: dict[str, object] = {}
    nodes: list[Node] = []
    if "normalize" in stages:
        norm = NormalizeStage(
            codec, name, markets_reader=markets_reader, raw_markets_reader=raw_markets_reader
        )
        built["normalize"] = norm
        nodes.append(single_topic(norm, norm.emitter))
    if "bars" in stages:
        bars = BarsStage(codec, name, config=config.bars)
        built["bars"] = bars
        # for analysts and consumers, not the order path; reads the md.trades made in-graph
        nodes.append(replace(single_topic(bars, bars.emitter), deferred=True))
    if "nbbo" in stages:
        nbbo = NbboStage(codec, name, config=config.nbbo)
        built["nbbo"] = nbbo
        nodes.append(single_topic(nbbo, nbbo.emitter, topic="md.quotes"))
    if "depth" in stages:
        depth = DepthStage(codec, name, config.depth, config.nbbo)
        built["depth"] = depth
        # for analysts and consumers, not the order path (the SOR keeps its own book)
        nodes.append(replace(single_topic(depth, depth.emitter, topic="md.book"), deferred=True))
    trading = _trading(config) if TRADING_STAGES & set(stages) else None
    if trading is not None and "strategy" in stages:
        chosen = list(strategies) if strategies is not None else [f() for f in trading.strategies]
        strategy = StrategyStage(codec, chosen, name)
        built["strategy"] = strategy
        nodes.append(multi_topic(strategy, strategy.inputs()))  # the topics it reads
    if trading is not None and "sor" in stages:
        engines: list[ParentEngine] = [
            SorEngine(sor_config(trading), config.nbbo),
            AlgoStageEngine(algo_config(trading)),
        ]
        parents = ParentStage(codec, engines, trading.clock, name)
        built["sor"] = parents
        nodes.append(multi_topic(parents, PARENT_INPUTS))
    if trading is not None and "risk" in stages:
        risk = RiskStage(codec, trading.risk, trading.clock, name, config.nbbo.consolidated_id)
        built["risk"] = risk
        gate = multi_topic(risk, RISK_INPUTS)
        if trading.shard is not None:  # another process decides the other accounts
            gate = keyed(gate, "oms.requests", trading.shard.owns_key)
        nodes.append(gate)
    if trading is not None and "router" in stages:
        chosen_venues = (
            list(venues)
            if venues is not None
            else [PaperVenueAdapter(c) for c in trading.paper_venues]
        )
        router = RouterStage(
            codec,
            chosen_venues,
            name,
            journal,
            routed_elsewhere=trading.remote_venues.__contains__,
        )
        built["router"] = router
        nodes.append(multi_topic(router, ROUTER_INPUTS))
    if trading is not None and "positions" in stages:
        positions = PositionsStage(
            codec, trading.position_limits, name, config.nbbo.consolidated_id
        )
        built["positions"] = positions
        # monitoring, not the order path: risk sees its records a few stages later
        nodes.append(multi_topic(positions, POSITIONS_INPUTS, deferred=True))
    if trading is not None and "tca" in stages:
        tca = TcaStage(codec, config.tca, name, config.nbbo.consolidated_id)
        built["tca"] = tca
        nodes.append(multi_topic(tca, TCA_INPUTS, deferred=True))  # analysis, off the path
    prefix = config.topics.prefix

    def canonical(kafka_name: str) -> str:
        return kafka_name[len(prefix) :] if prefix and kafka_name.startswith(prefix) else kafka_name

    graph = StageGraph(nodes, canonical)
    produced = frozenset().union(*(OUTPUTS[s] for s in stages))
    external = (graph.inputs - produced) | (COMMAND_TOPICS & graph.inputs)
    accept: dict[str, Callable[[bytes | None, bytes | None], bool]] = {}
    if trading is not None and trading.remote_venues:
        # another process executes these venues: their reports reach risk, positions and
        # the strategies from Kafka (this process's own are routed in-process)
        for topic in REPORT_TOPICS & graph.inputs & produced:
            accept[topic] = _remote_reports(codec, topic, trading)
        external |= frozenset(accept)
    return HotPath(graph, built, frozenset(external), accept)


def _remote_reports(
    codec: Codec, topic: str, trading: TradingConfig
) -> Callable[[bytes | None, bytes | None], bool]:
    remote, shard = trading.remote_venues, trading.shard

    def accept(key: bytes | None, value: bytes | None) -> bool:
        if value is None or (shard is not None and not shard.owns_key(key)):
            return False
        try:
            return codec.decode(topic, value).get("venue") in remote
        except Exception:  # not ours to dead-letter: the router that wrote it owns it
            return False

    return accept


@dataclass
class HotPathStats:
    """Counts of one run."""

    consumed: int = 0
    skipped_own: int = 0
    skipped_reports: int = 0
    """``oms.events``/``oms.fills`` records read back that are not a remote venue's."""
    skipped_local: int = 0
    """Market records read from Kafka for a venue that arrives in-process."""
    local: int = 0
    """Market records pushed in-process (:meth:`HotPathWorker.push_local`)."""
    published: int = 0
    commits: int = 0
    by_topic: dict[str, int] = field(default_factory=dict)


class HotPathWorker:
    """The Kafka shell around a :class:`HotPath` (one thread, confluent-kafka clients).

    ``linger_ms`` batches the output records (5 ms by default): they are the record, not
    the order path, and tiny requests at linger 0 load the broker that md.raw goes through.
    ``max_batch`` caps the messages pushed through the graph per call (default
    :data:`MARKET_BATCH` for a graph without trading stages, else 1).

    By default the worker assigns itself every partition of its input topics (the trading
    stages need every account and instrument). With ``group=True`` it joins its consumer
    group instead, so several processes share the partitions: only for stages whose state
    is per partition (``normalize``), or with one member (the normalize role's fused
    aggregates, ``[normalize] fuse``). On a revocation it waits for its outputs, commits
    what it consumed of the revoked partitions, forgets them and tells the stages
    (``partitions_revoked``), so the next owner resumes exactly there.
    """

    def __init__(
        self,
        bootstrap: str,
        config: StreamsConfig,
        hot_path: HotPath,
        *,
        group_id: str | None = None,
        commit_interval_s: float = 0.5,
        poll_timeout_s: float = 0.05,
        linger_ms: float = 5.0,
        group: bool = False,
        max_batch: int | None = None,
        start_after: dict[tuple[str, int], int] | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.group = group
        self.start_after = dict(start_after or {})
        """(Kafka topic, partition) -> the first offset to read at the earliest (records
        before it were applied by the restore)."""
        self.config = config
        self.hot_path = hot_path
        self.group_id = group_id or hotpath_group(config)
        self.origin = self.group_id.encode()
        self.commit_interval_s = commit_interval_s
        self.poll_timeout_s = poll_timeout_s
        self.linger_ms = linger_ms
        trading = TRADING_STAGES & hot_path.stages.keys()
        self.max_batch = max_batch or (1 if trading else MARKET_BATCH)
        """Messages handed to the graph per call (see :data:`MARKET_BATCH`)."""
        self._processed_by_topic: dict[str, Counter] = {}
        self.stats = HotPathStats()
        self._failure: KafkaError | None = None
        self.commits = CommitTracker()
        self._producer: Producer | None = None
        self._last_commit = 0.0
        bars = (i.topic for i in config.bars.intervals) if "bars" in hot_path.stages else ()
        self._produced = {
            t: metrics.messages_produced.labels("hotpath", t)
            for t in (*{t for s in OUTPUTS.values() for t in s}, *bars, "alerts")
        }
        self._unreported: dict[str, int] = {}
        """Outputs per canonical topic published since the last :meth:`_report_produced`."""
        self._ack = self.commits.ack
        self._consumed = self.commits.offsets
        self._delivered = self._on_delivery  # bound once: a partial of it per output
        self._canonical: dict[str, str] = {}
        """The graph's canonical name per Kafka topic met (a pure function of the name)."""
        # a co-located connector pushes from its own thread (push_local): one lock
        # serialises the graph, the producer's callbacks and the commit bookkeeping
        self._lock = threading.Lock()
        self.local_venues: frozenset[str] = frozenset()
        """Venues whose market data arrives in-process (:meth:`push_local`): their
        records read from Kafka are skipped, so no tick is seen twice."""

    # --- Kafka clients ---------------------------------------------------------------

    def _consumer(self) -> Consumer:
        return Consumer(
            client_config(self.bootstrap)
            | {
                "group.id": self.group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": self.config.auto_offset_reset,
                "fetch.min.bytes": 1,
                "fetch.wait.max.ms": 100,
                # librdkafka pauses fetching 1 s (default) whenever 100,000 messages wait
                # locally: a backlog would stall in 1 s steps (found by the sink bench)
                "fetch.queue.backoff.ms": 10,
                "socket.nagle.disable": True,
                "enable.partition.eof": False,
                "on_commit": self._on_commit,
            }
        )

    def _new_producer(self) -> Producer:
        return Producer(
            producer_config(self.bootstrap)
            | {
                # The outputs are records, not the order path (the venue is called
                # in-process): batching them keeps the broker free for md.raw and fetches.
                "linger.ms": self.linger_ms,
                "socket.nagle.disable": True,
                # Faust agents (aiokafka) downstream cannot read lz4/zstd without extra libs.
                "compression.type": "none",
            }
        )

    def _assign(self, consumer: Consumer) -> list[TopicPartition]:
        """Every partition of every external topic, from the group's committed offsets."""
        names = sorted(self.config.topics.name(t) for t in self.hot_path.external)
        metadata = consumer.list_topics(timeout=30)
        wanted: list[TopicPartition] = []
        for name in names:
            topic = metadata.topics.get(name)
            if topic is None or topic.error is not None or not topic.partitions:
                raise KafkaRuntimeError(
                    f"hot path: topic {name!r} does not exist",
                    hint="declare the topics first (declare_topics / tapewire demo does it)",
                )
            wanted.extend(TopicPartition(name, p) for p in sorted(topic.partitions))
        committed = committed_offsets(consumer, wanted)
        for tp in committed:
            first = self.start_after.get((tp.topic, tp.partition))
            if first is not None and tp.offset < first:  # no commit (< 0) or an older one
                tp.offset = first
        consumer.assign(committed)
        return committed

    # --- the loop --------------------------------------------------------------------

    def _on_delivery(self, output_id: int, err: KafkaError | None, _msg: Message) -> None:
        """The delivery report of output ``output_id`` (one per output, from
        ``producer.poll``)."""
        if err is None:
            self._ack(output_id)
        elif self._failure is None:
            self._failure = err

    def _publish(self, canonical: str, out: OutMsg) -> None:
        producer = self._producer
        assert producer is not None
        topic, key, value, _ = out
        delivered = partial(self._delivered, self.commits.sent())
        while True:
            try:
                if canonical in COMMAND_TOPICS:
                    headers: list[tuple[str, str | bytes | None]] = [(ORIGIN_HEADER, self.origin)]
                    producer.produce(topic, value, key, headers=headers, on_delivery=delivered)
                else:  # no headers argument at all: one keyword less to parse
                    producer.produce(topic, value, key, on_delivery=delivered)
                break
            except BufferError:  # local queue full: serve delivery reports, then retry
                producer.poll(0.05)
        unreported = self._unreported
        unreported[canonical] = unreported.get(canonical, 0) + 1

    def _report_produced(self) -> None:
        """Add the outputs published since the last call to the produced counters and
        ``stats.by_topic``: once per push, not once per output."""
        unreported = self._unreported
        if not unreported:
            return
        by_topic, produced = self.stats.by_topic, self._produced
        for topic, count in unreported.items():
            counter = produced.get(topic)
            if counter is not None:
                counter.inc(count)
            by_topic[topic] = by_topic.get(topic, 0) + count
        unreported.clear()

    def _handle(self, msg: Message) -> None:
        accepted = self._accept(msg)
        if accepted is not None:
            topic, message = accepted
            self.stats.published += self.hot_path.graph.push(topic, message, self._publish)
            self._report_produced()
            self._processed(topic).inc()

    def _handle_many(self, msgs: Sequence[Message]) -> None:
        """Messages from one ``consume``: consecutive ones of a topic go through the
        graph as one batch (:meth:`StageGraph.push_batch`); errors as in :meth:`run`."""
        run: list[InMsg] = []
        run_topic = ""
        for msg in msgs:
            err = msg.error()
            if err is not None:
                self._push_run(run_topic, run)
                run = []
                if err.fatal():
                    raise KafkaRuntimeError(f"hot path consumer: {err}")
                log.warning("hot path consumer: %s", err)
                continue
            accepted = self._accept(msg)
            if accepted is None:
                continue
            topic, message = accepted
            if topic != run_topic:
                self._push_run(run_topic, run)
                run = []
                run_topic = topic
            run.append(message)
        self._push_run(run_topic, run)
        self._report_produced()

    def _push_run(self, topic: str, run: list[InMsg]) -> None:
        if run:
            self.stats.published += self.hot_path.graph.push_batch(topic, run, self._publish)
            self._processed(topic).inc(len(run))

    def _processed(self, topic: str) -> Counter:
        counter = self._processed_by_topic.get(topic)
        if counter is None:
            counter = self._processed_by_topic[topic] = metrics.messages_processed.labels(
                "hotpath", topic
            )
        return counter

    def _accept(self, msg: Message) -> tuple[str, InMsg] | None:
        """Book ``msg`` as consumed; its canonical topic and message if the graph gets it
        (not a request this worker produced, a report of a local venue, a market record
        that arrives in-process)."""
        kafka_topic = msg.topic()
        partition, offset = msg.partition(), msg.offset()
        assert kafka_topic is not None
        assert partition is not None
        assert offset is not None
        topic = self._canonical.get(kafka_topic)
        if topic is None:
            topic = self._canonical[kafka_topic] = self.hot_path.graph.canonical(kafka_topic)
        self._consumed[(kafka_topic, partition)] = offset + 1  # commits.consumed, inlined
        self.stats.consumed += 1
        if topic in COMMAND_TOPICS and (ORIGIN_HEADER, self.origin) in (msg.headers() or ()):
            self.stats.skipped_own += 1
            return None
        accept = self.hot_path.accept.get(topic)
        if accept is not None and not accept(msg.key(), msg.value()):
            self.stats.skipped_reports += 1
            return None
        if self.local_venues and topic in LOCAL_MARKET_TOPICS and self._local(msg.key()):
            self.stats.skipped_local += 1
            return None
        return topic, InMsg(partition, offset, msg.key(), msg.value())

    def _local(self, key: bytes | None) -> bool:
        venue = (key or b"").partition(b":")[0].decode("utf-8", "replace")
        return venue in self.local_venues

    def push_local(self, topic: str, msg: InMsg) -> int:
        """Run a market record made in this process (a co-located connector's normalized
        frame, canonical ``topic``) through the graph; safe from any thread once
        :meth:`run` signalled ``ready``. Returns the number of outputs published."""
        with self._lock:
            published = self.hot_path.graph.push(topic, msg, self._publish)
            self._report_produced()
            self.stats.published += published
            self.stats.local += 1
            return published

    def _check_delivery(self) -> None:
        if self._failure is not None:
            raise KafkaRuntimeError(
                f"hot path: an output could not be delivered ({self._failure}); offsets are "
                "not committed, so a restart processes the unconfirmed messages again",
                hint="check the broker (tapewire kafka status) and restart the hot path",
            )

    def _commit(self, consumer: Consumer) -> None:
        """Checkpoint; commit the newest fully acknowledged checkpoint, asynchronously
        (the loop never waits for the broker, so a frame arriving meanwhile is not held)."""
        self.commits.checkpoint()
        self._last_commit = time.monotonic()
        self._commit_offsets(consumer, self.commits.ready(), asynchronous=True)
        self._report_lag(consumer)

    def _report_lag(self, consumer: Consumer) -> None:
        """``tapewire_consumer_lag_messages``: the partition's end minus the next offset
        this worker reads (the broker's high watermark as of the last fetch)."""
        for (topic, partition), next_offset in self.commits.offsets.items():
            try:
                _low, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), cached=True
                )
            except KafkaException:
                continue
            if high is not None and high >= 0:
                metrics.consumer_lag_messages.labels(self.group_id, topic, str(partition)).set(
                    max(0, high - next_offset)
                )

    def _commit_offsets(self, consumer: Consumer, offsets: Offsets, *, asynchronous: bool) -> None:
        self._check_delivery()
        if not offsets:
            return
        listed = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
        if asynchronous:
            consumer.commit(offsets=listed, asynchronous=True)
        else:
            consumer.commit(offsets=listed, asynchronous=False)
        self.commits.mark_committed(offsets)
        self.stats.commits += 1

    def _final_commit(self, consumer: Consumer) -> None:
        """On the way out: wait for every output, then commit everything consumed."""
        producer = self._producer
        assert producer is not None
        if producer.flush(30) > 0:
            raise KafkaRuntimeError(
                "hot path: outputs not acknowledged within 30 s; offsets not committed",
                hint="check the broker (tapewire kafka status) and restart the hot path",
            )
        self._commit_offsets(consumer, self.commits.everything(), asynchronous=False)

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """A rebalance takes ``partitions`` away: outputs acknowledged, offsets committed."""
        producer = self._producer
        if producer is not None and producer.flush(30) > 0:
            raise KafkaRuntimeError(
                "hot path: outputs not acknowledged within 30 s at a rebalance; offsets "
                "not committed",
                hint="check the broker (tapewire kafka status) and restart the hot path",
            )
        revoked = {(tp.topic, tp.partition) for tp in partitions if tp.topic is not None}
        offsets = {k: v for k, v in self.commits.everything().items() if k in revoked}
        self._commit_offsets(consumer, offsets, asynchronous=False)
        self._forget(revoked)

    def _on_lost(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """``partitions`` were lost (session timeout): another member may own them already,
        so nothing is committed; what was not committed is processed again there."""
        self._forget({(tp.topic, tp.partition) for tp in partitions if tp.topic is not None})

    def _forget(self, revoked: set[tuple[str, int]]) -> None:
        self.commits.forget(revoked)
        for stage in self.hot_path.stages.values():
            hook = getattr(stage, "partitions_revoked", None)
            source = getattr(stage, "source_topic", None)
            if callable(hook) and isinstance(source, str):
                name = self.config.topics.name(source)
                hook({p for t, p in revoked if t == name})

    def _on_commit(self, err: KafkaError | None, _partitions: list[TopicPartition]) -> None:
        if err is not None:  # the next checkpoint's commit supersedes this one
            log.warning("hot path: offset commit failed: %s", err)

    def run(
        self, stop_event: threading.Event, ready: threading.Event | None = None
    ) -> HotPathStats:
        """Consume and process until ``stop_event``; flush and commit on the way out."""
        consumer = self._consumer()
        self._producer = self._new_producer()
        producer = self._producer
        self._last_commit = time.monotonic()
        try:
            if self.group:
                consumer.subscribe(
                    sorted(self.config.topics.name(t) for t in self.hot_path.external),
                    on_revoke=self._on_revoke,
                    on_lost=self._on_lost,
                )
                log.info(
                    "hot path %s: joined the group for %s; stages %s",
                    self.group_id,
                    sorted(self.hot_path.external),
                    [n.name for n in self.hot_path.graph.nodes],
                )
            else:
                assigned = self._assign(consumer)
                log.info(
                    "hot path %s: %d partition(s) of %s; stages %s",
                    self.group_id,
                    len(assigned),
                    sorted(self.hot_path.external),
                    [n.name for n in self.hot_path.graph.nodes],
                )
            if ready is not None:
                ready.set()
            batch = self.max_batch
            while not stop_event.is_set():
                # what is already fetched, without waiting; else wait for one message
                msgs = consumer.consume(batch, 0) if batch > 1 else []
                if not msgs:
                    msg = consumer.poll(self.poll_timeout_s)
                    msgs = [msg] if msg is not None else []
                with self._lock:
                    self._handle_many(msgs)
                    producer.poll(0)
                    self._check_delivery()
                    if time.monotonic() - self._last_commit >= self.commit_interval_s:
                        self._commit(consumer)
            with self._lock:
                self._final_commit(consumer)
        finally:
            producer.flush(30)
            consumer.close()
        return self.stats


def run_hot_path(
    settings: Settings,
    config: StreamsConfig,
    *,
    stop_event: threading.Event,
    ready: threading.Event | None = None,
    bootstrap: str | None = None,
    stages: Sequence[str] = DEFAULT_STAGES,
    venues: Sequence[Venue] | None = None,
    strategies: Sequence[Strategy] | None = None,
    declare: bool = True,
    codec: Codec | None = None,
    group: bool = False,
) -> HotPathStats:
    """Build the fused graph and run it in this thread until ``stop_event`` is set
    (``group``: share the input partitions with the group's other processes)."""
    servers = bootstrap_of(settings, bootstrap)
    if declare:
        declare_topics(servers, config)
    codec = codec or Codec.from_settings(settings)
    markets = config.topics.name(MARKETS)
    hot_path = build_hot_path(
        codec,
        config,
        stages=stages,
        venues=venues,
        strategies=strategies,
        markets_reader=lambda: read_markets(servers, markets, codec),
        raw_markets_reader=lambda venues: peek_raw_markets(
            servers, config.topics.raw, hotpath_group(config), codec, venues
        ),
    )
    return HotPathWorker(servers, config, hot_path, group=group).run(stop_event, ready)
