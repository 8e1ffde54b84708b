"""The ClickHouse sink: md.* Kafka topics → ClickHouse tables, nothing lost, nothing doubled.

Loop: consume a batch of records, decode each with the codec, map it to a row of its table
(:mod:`tapewire.sinks.clickhouse.rows`), collect rows per partition in chunks cut on a fixed offset
grid (:mod:`tapewire.sinks.clickhouse.batch`), insert each closed chunk with its deterministic
``insert_deduplication_token``, then (and only then) commit the next offsets. Records that
cannot be decoded or mapped go to ``dlq.sink`` (idempotent producer, flushed before the
commit). Design and proof: ``docs/sink.md``.

In-process: :func:`run_sink`. As a process: ``python -m tapewire.sinks.clickhouse.sink --help``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError as DriverError
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from tapewire.core import metrics
from tapewire.core.errors import ClickHouseError, KafkaRuntimeError, TapewireError
from tapewire.core.kafka import client_config, producer_config
from tapewire.core.settings import Settings, load_settings
from tapewire.runtime.kafka_io import create_topic
from tapewire.schemas.codec import Codec
from tapewire.schemas.dead_letters import bounded
from tapewire.sinks.clickhouse.avro_insert import AvroInsert, UnsupportedSchemaError
from tapewire.sinks.clickhouse.batch import Batcher, Chunk, group_token
from tapewire.sinks.clickhouse.client import connect, parse_url, target_database
from tapewire.sinks.clickhouse.migrations import migrate
from tapewire.sinks.clickhouse.rows import DEFAULT_TOPICS, TableMapping, mapping_for_topic

__all__ = ["SinkConfig", "SinkError", "SinkStats", "main", "run_sink"]

log = logging.getLogger(__name__)

STAGE = "sink"
AFTER_INSERT: list[Callable[[SinkStats], None]] = []
"""Hooks called after every insert, before its offsets are committed. Empty in production;
:mod:`tapewire.testing.faults` adds its fault injections here."""


class SinkError(TapewireError):
    """The sink cannot continue (ClickHouse keeps failing, a DLQ write failed)."""


@dataclass(frozen=True)
class SinkConfig:
    """What the sink reads and how it batches.

    ``topics`` maps each Kafka topic to read to the registry topic whose schema and table
    it has (``{"md.trades": "md.trades"}``; a test may read ``"md.trades.x1"`` as
    ``"md.trades"``).
    """

    topics: Mapping[str, str] = field(default_factory=lambda: {t: t for t in DEFAULT_TOPICS})
    group_id: str = "tapewire-sink"
    grid: int = 50_000
    """Chunks close when the next offset is a multiple of ``grid`` (deterministic tokens)."""
    flush_interval_s: float = 2.0
    """Open chunks are inserted at least this often (bounds the storage latency). Each flush
    costs one INSERT per topic with records (~12 ms CPU plus merging one more part): 2 s
    instead of 1 s took a live sink from 2.2 to 1.5 CPU s per 100,000 rows
    (``bench/bench_sink_live.py``)."""
    max_pending_rows: int = 500_000
    """Open chunks are inserted early when they hold this many rows together."""
    consume_batch: int = 10_000
    dlq_topic: str = "dlq.sink"
    stop_when_caught_up: bool = False
    """Return once every assigned partition is stored and committed up to its end."""
    insert_retries: int = 5
    migrate: bool = True
    avro_insert: bool = True
    """Let ClickHouse decode the Avro of the topics that support it (embedded chDB only;
    see :mod:`tapewire.sinks.clickhouse.avro_insert`); false: decode every record in Python."""


@dataclass
class SinkStats:
    """Counts of one :func:`run_sink` call."""

    records: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    inserts: int = 0
    dead_letters: int = 0
    commits: int = 0
    avro_fallbacks: int = 0
    """Chunks ClickHouse refused as Avro, decoded in Python instead."""


class _DeadLetters:
    """Idempotent producer of DeadLetter records; :meth:`flush` raises on any failure."""

    def __init__(self, bootstrap: str, topic: str, codec: Codec) -> None:
        self.topic = topic
        self._codec = codec
        self._producer = Producer(producer_config(bootstrap))
        self._errors: list[str] = []

    def send(self, msg: Message, error: Exception) -> None:
        source_topic = msg.topic() or ""
        value = msg.value() or b""
        record: dict[str, Any] = {
            "stage": STAGE,
            "source_topic": source_topic,
            "source_partition": msg.partition(),
            "source_offset": msg.offset(),
            "key": msg.key(),
            "payload": value,
            "error_type": type(error).__name__,
            "reason": str(error),
            "labels": {},
            "failed_ts_ns": time.time_ns(),
        }
        letter = bounded(record)
        self._producer.produce(
            self.topic,
            key=self._codec.key(self.topic, letter),
            value=self._codec.encode(self.topic, letter),
            on_delivery=self._on_delivery,
        )
        self._producer.poll(0)

    def _on_delivery(self, err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            self._errors.append(str(err))

    def flush(self, timeout_s: float = 30.0) -> None:
        remaining = self._producer.flush(timeout_s)
        if remaining or self._errors:
            raise SinkError(
                f"{remaining} dead letter(s) to {self.topic} undelivered; errors: "
                f"{self._errors[:3]}",
                hint=f"check that topic {self.topic} exists and the brokers answer",
            )


class ClickHouseSink:
    """One consumer, one ClickHouse client; drive it with :meth:`run`."""

    def __init__(
        self,
        bootstrap: str,
        client: Client,
        config: SinkConfig,
        codec: Codec,
        *,
        on_progress: Callable[[SinkStats], None] | None = None,
        avro_insert: bool = False,
    ) -> None:
        self.config = config
        self.stats = SinkStats()
        self._client = client
        self._codec = codec
        self._on_progress = on_progress
        self._mappings: dict[str, TableMapping] = {
            topic: mapping_for_topic(schema_topic) for topic, schema_topic in config.topics.items()
        }
        self._serdes = {t: codec.for_topic(s) for t, s in config.topics.items()}
        self._routes: dict[str, tuple[Callable[[bytes], Any], Callable[..., Any], str]] = {
            t: (self._serdes[t].decode, m.row, m.table) for t, m in self._mappings.items()
        }
        self._avro: dict[str, AvroInsert] = {}
        if avro_insert and config.avro_insert:
            for topic, mapping in self._mappings.items():
                serde = self._serdes[topic]
                if mapping.sql is None:
                    continue
                try:
                    self._avro[topic] = AvroInsert(
                        mapping.table,
                        serde.schema,
                        serde.schema_id,
                        mapping.columns[:-3],
                        mapping.sql,
                    )
                except UnsupportedSchemaError as exc:  # a schema changed: Python path
                    log.warning("%s: Avro insert not possible (%s); decoding in Python", topic, exc)
        self._batcher = Batcher(config.grid)
        self._dlq = _DeadLetters(bootstrap, config.dlq_topic, codec)
        self._assigned: set[tuple[str, int]] = set()
        self._at_end: set[tuple[str, int]] = set()
        self._consumer = Consumer(
            client_config(bootstrap)
            | {
                "group.id": config.group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "enable.partition.eof": True,
                "isolation.level": "read_committed",
                # librdkafka stops prefetching while queued.min.messages (100,000) are
                # waiting and then backs off for fetch.queue.backoff.ms (1 s by default):
                # a sink that drains a backlog slower than the broker delivers stalls for a
                # second at a time (194k -> 970k msgs/s consumed on a local broker with 10).
                "fetch.queue.backoff.ms": 10,
                # A fetch answered as soon as one byte is there makes the broker serve a
                # fetch of every partition (10 topics x 6 by default) per produce batch
                # of any upstream producer (end-to-end benchmark: ~30% of the broker's
                # network CPU, docs/benchmarks.md). Waiting for 1 MB or half the flush interval
                # costs no latency (rows wait for the flush anyway) and few fetches.
                "fetch.min.bytes": 1_000_000,
                "fetch.wait.max.ms": max(10, min(500, int(config.flush_interval_s * 500))),
            }
        )

    # -- the loop ----------------------------------------------------------------------

    def run(self, stop_event: threading.Event) -> SinkStats:
        """Consume until ``stop_event`` is set (or caught up, if configured); then store
        and commit everything read, and close."""
        metrics.component_up.labels(component=STAGE).set(1)
        self._consumer.subscribe(
            list(self.config.topics), on_assign=self._on_assign, on_revoke=self._on_revoke
        )
        last_flush = time.monotonic()
        try:
            while not stop_event.is_set():
                self._handle_batch(self._consumer.consume(self.config.consume_batch, timeout=0.2))
                now = time.monotonic()
                if (
                    now - last_flush >= self.config.flush_interval_s
                    or self._batcher.pending_rows >= self.config.max_pending_rows
                ):
                    self._store(self._batcher.drain())
                    last_flush = now
                if self.config.stop_when_caught_up and self._caught_up():
                    break
            self._store(self._batcher.drain())
        finally:
            metrics.component_up.labels(component=STAGE).set(0)
            self._consumer.close()
        return self.stats

    def _caught_up(self) -> bool:
        return bool(self._assigned) and self._at_end >= self._assigned and not len(self._batcher)

    def _handle_batch(self, msgs: Sequence[Message]) -> None:
        """:meth:`_handle` for each message, with the per-record work bound once per batch
        (same rows, chunks and dead letters; errors and EOF take :meth:`_handle`)."""
        routes = self._routes
        add = self._batcher.add
        avro = self._avro
        at_end = self._at_end
        stats = self.stats
        # Records of Avro-inserted topics, per partition in order: added per run.
        runs: dict[tuple[str, int], list[Message]] = {}
        for msg in msgs:
            if msg.error() is not None:
                if runs:  # an end of partition must see the records before it
                    self._add_runs(runs)
                    runs = {}
                self._handle(msg)
                continue
            topic = msg.topic() or ""
            if topic in avro:  # decoded by ClickHouse when the chunk is inserted
                key = (topic, msg.partition() or 0)
                run = runs.get(key)
                if run is None:
                    runs[key] = [msg]
                else:
                    run.append(msg)
                continue
            partition, offset = msg.partition() or 0, msg.offset()
            assert offset is not None
            if at_end:
                at_end.discard((topic, partition))
            decode, to_row, table = routes[topic]
            stats.records += 1
            try:
                row = to_row(decode(msg.value() or b""), topic, partition, offset)
            except Exception as exc:  # any bad record is dead-lettered, never fatal
                self._dead_letter(msg, exc)
                row = None
            closed = add(table, topic, partition, offset, row)
            if closed is not None:
                self._store([closed])
        if runs:
            self._add_runs(runs)

    def _add_runs(self, runs: Mapping[tuple[str, int], list[Message]]) -> None:
        for (topic, partition), run in runs.items():
            self._at_end.discard((topic, partition))
            self.stats.records += len(run)
            # a consumed record always has an offset (None only on error events)
            offsets = cast(list[int], [msg.offset() for msg in run])
            table = self._mappings[topic].table
            for chunk in self._batcher.add_messages(table, topic, partition, run, offsets):
                self._store([chunk])

    def _handle(self, msg: Message) -> None:
        topic, partition = msg.topic() or "", msg.partition() or 0
        err = msg.error()
        if err is not None:
            if err.code() == KafkaError._PARTITION_EOF:
                self._at_end.add((topic, partition))
                # Draining at every end of partition turns a slow live stream into one tiny
                # insert per fetch (the demo's sink fell far behind); a live sink waits for
                # the grid or the flush timer instead.
                if self.config.stop_when_caught_up:
                    self._store(self._batcher.drain({(topic, partition)}))
                return
            if err.fatal():
                raise KafkaException(err)
            log.warning("consumer error (retrying): %s", err)
            return
        self._at_end.discard((topic, partition))
        offset = msg.offset()
        assert offset is not None
        if topic in self._avro:
            self._add_runs({(topic, partition): [msg]})
            return
        mapping = self._mappings[topic]
        self.stats.records += 1
        row = None
        try:
            record = self._serdes[topic].decode(msg.value() or b"")
            row = mapping.row(record, topic, partition, offset)
        except Exception as exc:  # any bad record is dead-lettered, never fatal
            self._dead_letter(msg, exc)
        closed = self._batcher.add(mapping.table, topic, partition, offset, row)
        if closed is not None:
            self._store([closed])

    def _dead_letter(self, msg: Message, exc: Exception) -> None:
        self._dlq.send(msg, exc)
        self.stats.dead_letters += 1
        metrics.messages_rejected.labels(stage=STAGE, reason=type(exc).__name__).inc()
        log.warning(
            "dead-lettered %s[%s]@%s to %s: %s",
            msg.topic(),
            msg.partition(),
            msg.offset(),
            self._dlq.topic,
            exc,
        )

    # -- store, then commit ------------------------------------------------------------

    def _store(self, chunks: Sequence[Chunk]) -> None:
        if not chunks:
            return
        # One INSERT per topic, whatever the number of its partitions: chDB costs ~12 ms of
        # CPU per INSERT plus the merging of one more part, whatever its size.
        by_topic: dict[str, list[Chunk]] = {}
        for chunk in chunks:
            by_topic.setdefault(chunk.topic, []).append(chunk)
        for group in by_topic.values():
            if any(c.messages for c in group):
                self._insert_messages(group)
            else:
                self._insert(group)
        self._dlq.flush()
        offsets = [TopicPartition(c.topic, c.partition, c.next_offset) for c in chunks]
        self._consumer.commit(offsets=offsets, asynchronous=False)
        self.stats.commits += 1
        for chunk in chunks:
            metrics.messages_processed.labels(stage=STAGE, topic=chunk.topic).inc(
                chunk.next_offset - chunk.first_offset
            )
        self._report_lag(offsets)
        if self._on_progress is not None:
            self._on_progress(self.stats)

    def _insert_messages(self, group: Sequence[Chunk]) -> None:
        """Insert the undecoded messages of a topic's chunks as one Avro INSERT; if
        ClickHouse refuses it (a bad record, an older schema version, any error), insert
        each chunk alone, and a refused single chunk is decoded here record by record:
        same rows, same token, bad records dead-lettered."""
        first = group[0]
        avro = self._avro[first.topic]
        token = group_token(group)
        settings: dict[str, str | int] = {
            "insert_deduplication_token": token,
            "insert_deduplicate": 1,
        }
        messages = [m for c in group for m in c.messages]
        started = time.perf_counter()
        try:
            avro.insert(
                self._client,
                [m.value() or b"" for m in messages],
                [o for c in group for o in c.offsets],
                first.topic,
                [(c.partition, len(c.messages)) for c in group],
                settings,
            )
        except (DriverError, OSError) as exc:
            log.warning(
                "Avro insert of %s (%d records) refused (%s); %s",
                token,
                len(messages),
                str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__,
                "inserting each partition's chunk alone"
                if len(group) > 1
                else "decoding it in Python",
            )
            if len(group) > 1:
                for chunk in group:
                    if chunk.messages:
                        self._insert_messages([chunk])
                return
            self.stats.avro_fallbacks += 1
            decode, to_row, _table = self._routes[first.topic]
            rows = []
            for msg in messages:
                try:
                    rows.append(to_row(decode(msg.value() or b""), *_position(msg)))
                except Exception as error:  # any bad record is dead-lettered, never fatal
                    self._dead_letter(msg, error)
            first.messages, first.offsets = [], []
            first.rows = rows
            if rows:
                self._insert(group)
            return
        self._inserted(first.table, len(messages), time.perf_counter() - started)

    def _insert(self, group: Sequence[Chunk]) -> None:
        """Insert the mapped rows of a topic's chunks as one INSERT."""
        first = group[0]
        rows = [row for c in group for row in c.rows]
        if not rows:
            return
        token = group_token(group)
        mapping = self._mappings[first.topic]
        settings = {"insert_deduplication_token": token, "insert_deduplicate": 1}
        # Column-oriented: clickhouse-connect's row -> column transposition in Python costs
        # as much as the rest of the insert; zip does it in C (same values, same order).
        columns = list(zip(*rows, strict=True))
        for attempt in range(1, self.config.insert_retries + 1):
            started = time.perf_counter()
            try:
                self._client.insert(
                    first.table,
                    columns,
                    column_names=list(mapping.columns),
                    column_oriented=True,
                    settings=settings,
                )
                break
            except DriverError as exc:
                if attempt == self.config.insert_retries:
                    raise SinkError(
                        f"insert of {len(rows)} rows into {first.table} "
                        f"({token}) failed {attempt} times: {exc}",
                        hint="offsets were not committed; the sink resumes from them on restart",
                    ) from exc
                log.warning("insert into %s failed (attempt %d): %s", first.table, attempt, exc)
                time.sleep(min(5.0, 0.2 * 2**attempt))
        self._inserted(first.table, len(rows), time.perf_counter() - started)

    def _inserted(self, table: str, rows: int, elapsed: float) -> None:
        metrics.sink_insert_seconds.labels(table=table).observe(elapsed)
        metrics.sink_batch_rows.labels(table=table).observe(rows)
        metrics.sink_rows_inserted.labels(table=table).inc(rows)
        self.stats.rows[table] = self.stats.rows.get(table, 0) + rows
        self.stats.inserts += 1
        for hook in AFTER_INSERT:
            hook(self.stats)

    def _report_lag(self, committed: Sequence[TopicPartition]) -> None:
        for tp in committed:
            try:
                _low, high = self._consumer.get_watermark_offsets(tp, cached=True)
            except KafkaException:
                continue
            if high is not None and high >= 0:
                metrics.consumer_lag_messages.labels(
                    group=self.config.group_id, topic=tp.topic, partition=str(tp.partition)
                ).set(max(0, high - tp.offset))

    # -- rebalance ---------------------------------------------------------------------

    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._assigned |= {(tp.topic, tp.partition) for tp in partitions}

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        revoked = {(tp.topic, tp.partition) for tp in partitions}
        self._store(self._batcher.drain(revoked))
        self._assigned -= revoked
        self._at_end -= revoked


def _position(msg: Message) -> tuple[str, int, int]:
    offset = msg.offset()
    assert offset is not None
    return msg.topic() or "", msg.partition() or 0, offset


def run_sink(
    settings: Settings,
    topics: Mapping[str, str] | Sequence[str] | None = None,
    stop_event: threading.Event | None = None,
    *,
    config: SinkConfig | None = None,
    bootstrap: str | None = None,
    clickhouse_url: str | None = None,
    database: str | None = None,
    on_progress: Callable[[SinkStats], None] | None = None,
) -> SinkStats:
    """Run the sink until ``stop_event`` is set (or caught up, per ``config``).

    ``topics`` overrides ``config.topics`` (a list means each topic is its own registry
    topic). Kafka is ``bootstrap`` or ``settings.kafka_bootstrap_servers``; ClickHouse is
    ``clickhouse_url`` or ``settings.resolved_clickhouse_url``. Migrates first unless
    ``config.migrate`` is false. Usable from a thread of a process that holds chDB.
    """
    config = config or SinkConfig()
    if topics is not None:
        mapping = dict(topics) if isinstance(topics, Mapping) else {t: t for t in topics}
        config = SinkConfig(**{**config.__dict__, "topics": mapping})
    bootstrap = bootstrap or settings.kafka_bootstrap_servers
    if not bootstrap:
        raise KafkaRuntimeError(
            "the sink needs a Kafka bootstrap address",
            hint="set KAFKA_BOOTSTRAP_SERVERS or pass bootstrap=",
        )
    url = clickhouse_url or settings.resolved_clickhouse_url
    db = target_database(url, database)
    codec = Codec.from_settings(settings)
    create_topic(bootstrap, config.dlq_topic, exist_ok=True)
    with connect(url, database=db, missing_database="create") as client:
        if config.migrate:
            migrate(client, db)
        sink = ClickHouseSink(
            bootstrap,
            client,
            config,
            codec,
            on_progress=on_progress,
            avro_insert=parse_url(url).is_chdb,
        )
        return sink.run(stop_event or threading.Event())


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tapewire.sinks.clickhouse.sink",
        description="Kafka md.* topics → ClickHouse.",
    )
    parser.add_argument("--bootstrap", help="Kafka host:port (default: settings)")
    parser.add_argument("--clickhouse-url", help="chdb:///dir or http(s)://... (default: settings)")
    parser.add_argument("--database", help="ClickHouse database (default: URL's or tapewire)")
    parser.add_argument(
        "--topic",
        action="append",
        default=[],
        metavar="KAFKA_TOPIC[=REGISTRY_TOPIC]",
        help="topic to read (repeatable; default: the md.* topics)",
    )
    parser.add_argument("--group", default=SinkConfig.group_id)
    parser.add_argument("--grid", type=int, default=SinkConfig.grid)
    parser.add_argument("--flush-interval", type=float, default=SinkConfig.flush_interval_s)
    parser.add_argument("--max-pending-rows", type=int, default=SinkConfig.max_pending_rows)
    parser.add_argument("--dlq-topic", default=SinkConfig.dlq_topic)
    parser.add_argument("--stop-when-caught-up", action="store_true")
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve /metrics here (default: TAPEWIRE_METRICS_PORT, 9464; 0 = off)",
    )
    parser.add_argument(
        "--no-avro-insert",
        action="store_true",
        help="decode every record in Python instead of letting ClickHouse decode the Avro",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m tapewire.sinks.clickhouse.sink``; SIGTERM/SIGINT stop cleanly."""
    args = _parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    topics = {t.partition("=")[0]: t.partition("=")[2] or t.partition("=")[0] for t in args.topic}
    config = SinkConfig(
        topics=topics or {t: t for t in DEFAULT_TOPICS},
        group_id=args.group,
        grid=args.grid,
        flush_interval_s=args.flush_interval,
        max_pending_rows=args.max_pending_rows,
        dlq_topic=args.dlq_topic,
        stop_when_caught_up=args.stop_when_caught_up,
        avro_insert=not args.no_avro_insert,
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    settings = load_settings()
    try:
        port = settings.metrics_port if args.metrics_port is None else args.metrics_port
        endpoint = metrics.serve_metrics(settings.metrics_host, port)
    except TapewireError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        stats = run_sink(
            settings,
            stop_event=stop,
            config=config,
            bootstrap=args.bootstrap,
            clickhouse_url=args.clickhouse_url,
            database=args.database,
        )
    except (TapewireError, ClickHouseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if endpoint is not None:
            endpoint.stop()
    print(
        f"sink done: records={stats.records} rows={stats.rows} inserts={stats.inserts} "
        f"dead_letters={stats.dead_letters} commits={stats.commits}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
