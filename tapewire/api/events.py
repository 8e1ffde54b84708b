"""``oms.events`` and ``oms.fills`` fanned out to WebSocket subscribers, by account.

One consumer thread per API process reads both topics from their end at start (assigned
partitions at the high watermarks, no consumer group, nothing committed): a subscriber
sees what happens after it connects, and history is read from ClickHouse. Each record is
decoded once and offered to the subscribers whose accounts include its account; a
subscriber whose queue is full (it reads too slowly) loses the record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import msgspec
from confluent_kafka import Consumer, KafkaError, TopicPartition

from tapewire.core.kafka import client_config
from tapewire.schemas.codec import Codec
from tapewire.sinks.clickhouse.query import format_value

log = logging.getLogger("tapewire.api.events")

STREAM_TOPICS = {"oms.events": "order_event", "oms.fills": "fill"}
"""Canonical topic → the ``type`` of its WebSocket messages."""
QUEUE_SIZE = 1000


@dataclass(eq=False)
class Subscription:
    """One WebSocket's wishes and its queue (owned by its event loop)."""

    accounts: frozenset[str] | None  # None = every account
    types: frozenset[str]
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))

    def wants(self, kind: str, account: str) -> bool:
        """True when this subscriber asked for ``kind`` records of ``account``."""
        return kind in self.types and (self.accounts is None or account in self.accounts)


def _offer(sub: Subscription, message: dict[str, Any]) -> None:
    with contextlib.suppress(asyncio.QueueFull):  # a slow reader loses the record
        sub.queue.put_nowait(message)


class EventHub:
    """Reads the topics (``topic_name`` maps canonical → Kafka names) and dispatches."""

    def __init__(
        self,
        bootstrap: str,
        codec: Codec,
        *,
        topic_name: Callable[[str], str] = str,
        group_prefix: str = "tapewire-api",
    ) -> None:
        self._codec = codec
        self._names = {topic_name(t): t for t in STREAM_TOPICS}
        self._consumer = Consumer(
            client_config(bootstrap)
            | {
                # never joined (assign()); named under the role's ACL group prefix
                "group.id": f"{group_prefix}-{uuid.uuid4().hex[:12]}",
                "enable.auto.commit": False,
                "enable.partition.eof": False,
            }
        )
        self._subs: set[Subscription] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="api-events", daemon=True)
        self.received = 0

    def start(self, timeout_s: float = 30.0) -> EventHub:
        """Assign every partition at its end and start reading."""
        assignment: list[TopicPartition] = []
        metadata = self._consumer.list_topics(timeout=timeout_s)
        for name in self._names:
            topic = metadata.topics.get(name)
            if topic is None or topic.error is not None:
                raise RuntimeError(f"topic {name} is missing: create it before the API starts")
            for partition in topic.partitions:
                _, high = self._consumer.get_watermark_offsets(
                    TopicPartition(name, partition), timeout=timeout_s
                )
                assignment.append(TopicPartition(name, partition, high))
        self._consumer.assign(assignment)
        self._thread.start()
        return self

    def subscribe(self, sub: Subscription) -> None:
        """Start offering records to ``sub``."""
        with self._lock:
            self._subs.add(sub)

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop offering records to ``sub``."""
        with self._lock:
            self._subs.discard(sub)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                for msg in self._consumer.consume(500, timeout=0.2):
                    error = msg.error()
                    if error is not None:
                        if error.code() != KafkaError._PARTITION_EOF:
                            log.warning("events: %s", error)
                        continue
                    self._dispatch(msg.topic(), msg.value())
        finally:
            self._consumer.close()

    def _dispatch(self, name: str | None, value: bytes | None) -> None:
        canonical = self._names.get(name or "")
        if canonical is None or value is None:
            return
        try:
            record = self._codec.read(canonical, value)
        except Exception as exc:  # a record we cannot read is logged, never fatal
            log.warning("events: undecodable record on %s: %s", name, exc)
            return
        self.received += 1
        # decimals as exact text without padding or exponent (as the REST reads), ns as ints
        data = {
            k: format_value(v) if isinstance(v, Decimal) else v
            for k, v in msgspec.to_builtins(record, builtin_types=(Decimal,)).items()
        }
        kind = STREAM_TOPICS[canonical]
        message = {"type": kind, "data": data}
        with self._lock:
            subs = [s for s in self._subs if s.wants(kind, str(data.get("account", "")))]
        for sub in subs:
            sub.loop.call_soon_threadsafe(_offer, sub, message)

    def close(self) -> None:
        """Stop reading."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        else:
            self._consumer.close()


def kinds(names: Iterable[str]) -> frozenset[str]:
    """The message types a subscriber may ask for."""
    return frozenset(names) & frozenset(STREAM_TOPICS.values())
