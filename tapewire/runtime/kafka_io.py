"""Small Kafka helpers shared by the CLI, the demo and the tests: topics and produce-and-wait."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic  # what confluent_kafka.admin re-exports, typed

from tapewire.core.errors import KafkaRuntimeError
from tapewire.core.kafka import client_config, producer_config
from tapewire.schemas.codec import Codec

log = logging.getLogger(__name__)


def create_topic(
    bootstrap: str,
    name: str,
    *,
    partitions: int = 1,
    replication_factor: int = 1,
    config: Mapping[str, str] | None = None,
    timeout_s: float = 30.0,
    exist_ok: bool = False,
) -> None:
    """Create ``name`` and wait until every partition has a leader in the metadata.

    An existing topic is an error unless ``exist_ok``. With ``exist_ok`` and a user that
    may not create topics (Kafka ACLs, ``docs/deployment.md``), an existing topic is fine
    and one the user may not even see is skipped (not this role's); a missing one raises
    :class:`KafkaRuntimeError`.
    """
    admin = AdminClient(client_config(bootstrap))
    topic = NewTopic(
        name,
        num_partitions=partitions,
        replication_factor=replication_factor,
        config=dict(config or {}),
    )
    futures = admin.create_topics([topic], operation_timeout=timeout_s, request_timeout=timeout_s)
    existed = False
    try:
        futures[name].result(timeout=timeout_s)
    except KafkaException as exc:
        code = exc.args[0].code()
        if exist_ok and code == KafkaError.TOPIC_AUTHORIZATION_FAILED:
            if not _visible(admin, name, timeout_s):
                return
        elif not (exist_ok and code == KafkaError.TOPIC_ALREADY_EXISTS):
            raise
        existed = True  # keep its partition count; only wait for leaders
    deadline = time.monotonic() + timeout_s
    while True:
        metadata = admin.list_topics(topic=name, timeout=max(1.0, deadline - time.monotonic()))
        found = metadata.topics.get(name)
        if (
            found is not None
            and found.error is None
            and (existed or len(found.partitions) == partitions)
            and all(p.leader >= 0 for p in found.partitions.values())
        ):
            return
        if time.monotonic() >= deadline:
            raise KafkaRuntimeError(
                f"topic {name} has no leader for every partition after {timeout_s}s"
            )
        time.sleep(0.1)


def _visible(admin: AdminClient, name: str, timeout_s: float) -> bool:
    """After a refused create: True if ``name`` exists and this user may see it, False if
    it may not see it; raises if it is visible but missing (nobody created it yet)."""
    found = admin.list_topics(topic=name, timeout=timeout_s).topics.get(name)
    error = None if found is None else found.error
    if error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
        log.debug("topic %s: not visible to this user, not declared", name)
        return False
    if found is None or error is not None:
        raise KafkaRuntimeError(
            f"topic {name} does not exist and this Kafka user may not create it",
            hint="create the deployment's topics as the admin user: "
            "tapewire kafka acl --config FILE",
        )
    return True


def delete_topics(bootstrap: str, names: list[str], timeout_s: float = 30.0) -> None:
    """Delete topics, waiting at most ``timeout_s``; a topic already gone is fine."""
    admin = AdminClient(client_config(bootstrap))
    futures = admin.delete_topics(names, operation_timeout=timeout_s, request_timeout=timeout_s)
    for future in futures.values():
        try:
            future.result(timeout=timeout_s)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise


@dataclass(frozen=True)
class Record:
    """A record as Kafka stored it."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def produce_all(
    bootstrap: str,
    topic: str,
    items: Sequence[tuple[bytes | None, bytes | None]],
    *,
    timeout_s: float = 60.0,
    extra: Mapping[str, str | int] | None = None,
) -> list[Record]:
    """Produce ``(key, value)`` pairs with an idempotent producer (``acks=all``), wait for
    every delivery report and return where each record landed; raise on any failure."""
    config = producer_config(bootstrap)
    config |= dict(extra or {})
    producer = Producer(config)
    delivered: list[Record] = []
    errors: list[str] = []

    def on_delivery(err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            errors.append(str(err))
            return
        partition, offset = msg.partition(), msg.offset()
        assert partition is not None
        assert offset is not None
        delivered.append(Record(partition, offset, msg.key(), msg.value()))

    for key, value in items:
        while True:
            try:
                producer.produce(topic, key=key, value=value, on_delivery=on_delivery)
                break
            except BufferError:  # local queue full: serve delivery reports, then retry
                producer.poll(0.1)
        producer.poll(0)
    remaining = producer.flush(timeout_s)
    if remaining or errors:
        raise KafkaRuntimeError(
            f"{remaining} record(s) to {topic} undelivered after {timeout_s}s; "
            f"errors: {errors[:5]}",
            hint="check that the brokers answer (tapewire doctor) and the topic exists",
        )
    return delivered


_COORDINATOR_MOVING = frozenset(
    {
        KafkaError.NOT_COORDINATOR,
        KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
        KafkaError.COORDINATOR_NOT_AVAILABLE,
    }
)


def committed_offsets(
    consumer: Consumer, partitions: Sequence[TopicPartition], timeout_s: float = 30.0
) -> list[TopicPartition]:
    """``consumer.committed(partitions)``, retried while the group coordinator is loading
    or moving (right after a broker start, or a failover); other errors raise at once."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return list(
                consumer.committed(list(partitions), timeout=max(1.0, deadline - time.monotonic()))
            )
        except KafkaException as exc:
            err = exc.args[0]
            if not (err.retriable() or err.code() in _COORDINATOR_MOVING):
                raise
            if time.monotonic() > deadline:
                raise
            log.info("committed offsets: %s; retrying", err)
            time.sleep(0.5)


def read_to_end(
    bootstrap: str, topic: str, timeout_s: float = 30.0, *, missing_ok: bool = False
) -> list[Record]:
    """Every record of ``topic`` up to its end at call time, in (partition, offset) order.

    No consumer group (nothing is committed). Holes in the offsets (a compacted topic)
    are fine: a partition is done at its end-of-partition event or its last record. A
    topic that does not exist raises :class:`KafkaRuntimeError`, or gives ``[]`` with
    ``missing_ok``.
    """
    consumer = Consumer(
        client_config(bootstrap)
        | {
            "group.id": f"tapewire-read-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    out: list[Record] = []
    try:
        meta = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
        if meta is None or meta.error is not None:
            if missing_ok:
                return []
            reason = "it does not exist" if meta is None else str(meta.error)
            raise KafkaRuntimeError(f"cannot read {topic}: {reason}")
        ends: dict[int, int] = {}
        for partition in sorted(meta.partitions):
            low, high = consumer.get_watermark_offsets(
                TopicPartition(topic, partition), timeout=timeout_s
            )
            if high > low:
                ends[partition] = high
        if not ends:
            return []
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in ends])
        deadline = time.monotonic() + timeout_s
        pending = set(ends)
        while pending:
            if time.monotonic() > deadline:
                raise KafkaRuntimeError(
                    f"reading {topic} to its end took over {timeout_s}s "
                    f"(partitions {sorted(pending)} not done)"
                )
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            partition, offset = msg.partition(), msg.offset()
            if partition is None or offset is None or partition not in ends:
                continue
            if msg.error() is not None:  # end of partition (or a transient error)
                if offset >= ends[partition]:
                    pending.discard(partition)
                continue
            if offset < ends[partition]:
                out.append(Record(partition, offset, msg.key(), msg.value()))
            if offset >= ends[partition] - 1:
                pending.discard(partition)
    finally:
        consumer.close()
    out.sort(key=lambda r: (r.partition, r.offset))
    return out


def read_markets(
    bootstrap: str, topic: str, codec: Codec, *, timeout_s: float = 30.0
) -> list[dict[str, Any]]:
    """Every record of ``topic`` (``md.markets``) up to its current end, decoded, in
    (partition, offset) order; [] if the topic does not exist. No consumer group: each
    worker reads the whole topic."""
    decode = codec.for_topic("md.markets").decode
    stored = read_to_end(bootstrap, topic, timeout_s, missing_ok=True)
    if not stored:
        return []
    records: list[dict[str, Any]] = []
    for record in stored:
        if record.value is None:  # tombstones: nothing to load
            continue
        try:
            records.append(decode(record.value))
        except Exception as exc:
            log.warning(
                "md.markets: %s[%s]@%s undecodable: %s", topic, record.partition, record.offset, exc
            )
    return records


def peek_raw_markets(
    bootstrap: str,
    topic: str,
    group: str,
    codec: Codec,
    venues: Set[str],
    *,
    max_per_partition: int = 10_000,
    timeout_s: float = 30.0,
) -> list[dict[str, Any]]:
    """The REST frames of ``venues`` that ``group`` has not processed yet on ``topic``
    (``md.raw``), decoded, in (partition, offset) order: read-only, nothing committed.

    Each partition is read from the group's committed offset (its beginning if none) up to
    its end at call time, at most ``max_per_partition`` messages. The frames stay where
    they are: the group processes them in their turn. Only records keyed ``venue:...`` of
    one of ``venues`` are decoded."""
    prefixes = tuple(f"{venue}:".encode() for venue in sorted(venues))
    if not prefixes:
        return []
    decode = codec.for_topic("md.raw").decode
    consumer = Consumer(
        client_config(bootstrap)
        | {"group.id": group, "enable.auto.commit": False, "enable.partition.eof": True}
    )
    out: list[tuple[int, int, dict[str, Any]]] = []
    try:
        meta = consumer.list_topics(topic, timeout=timeout_s).topics.get(topic)
        if meta is None or meta.error is not None:
            return []
        tps = [TopicPartition(topic, p) for p in sorted(meta.partitions)]
        starts: dict[int, int] = {}
        ends: dict[int, int] = {}
        for tp in committed_offsets(consumer, tps, timeout_s):
            low, high = consumer.get_watermark_offsets(tp, timeout=timeout_s)
            start = max(tp.offset, low) if tp.offset >= 0 else low
            if high > start:
                starts[tp.partition] = start
                ends[tp.partition] = min(high, start + max_per_partition)
        if not ends:
            return []
        consumer.assign([TopicPartition(topic, p, starts[p]) for p in ends])
        deadline = time.monotonic() + timeout_s
        pending = set(ends)
        while pending and time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            partition, offset = msg.partition(), msg.offset()
            if partition is None or offset is None or partition not in pending:
                continue
            if offset >= ends[partition] - (0 if msg.error() is not None else 1):
                pending.discard(partition)
            if msg.error() is not None or offset >= ends[partition]:
                continue
            key, value = msg.key(), msg.value()
            if value is None or key is None or not key.startswith(prefixes):
                continue
            try:
                frame = decode(value)
            except Exception as exc:  # dead-lettered when the group processes it
                log.debug("md.raw peek: %s[%s]@%s undecodable: %s", topic, partition, offset, exc)
                continue
            if frame.get("transport") == "REST":
                out.append((partition, offset, frame))
        if pending:
            log.warning("md.raw peek: partitions %s not read to their end", sorted(pending))
    finally:
        consumer.close()
    out.sort(key=lambda item: (item[0], item[1]))
    return [frame for _, _, frame in out]
