"""Order events, fills and market data fanned out to WebSocket subscribers.

One consumer thread per API process reads ``oms.events`` and ``oms.fills`` (offered by
account) and ``md.quotes``, ``md.nbbo`` and ``md.bars.<interval>`` (offered by instrument)
from their end at start (assigned partitions at the high watermarks, no consumer group,
nothing committed): a subscriber sees what happens after it connects, and history is read
from ClickHouse. A record is decoded only when some subscriber wants its kind, once, and
offered to the subscribers that asked for it. The consumer never waits for a subscriber:
each has a bounded queue, and a subscriber whose queue overflows (it reads too slowly) is
marked ``dropped``; its WebSocket is then closed with code :data:`SLOW_CLIENT_CODE`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import msgspec
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from tapewire.core.kafka import client_config
from tapewire.schemas.codec import Codec
from tapewire.sinks.clickhouse.query import format_value

log = logging.getLogger("tapewire.api.events")

ORDER_TOPICS = {"oms.events": "order_event", "oms.fills": "fill"}
"""Canonical topic → the ``type`` of its WebSocket messages (offered by account)."""
MARKET_TOPICS = {"md.quotes": "quote", "md.nbbo": "nbbo"}
"""The same for market data (offered by instrument); bars are ``md.bars.<interval>``."""
ORDER_KINDS = frozenset(ORDER_TOPICS.values())
MARKET_KINDS = frozenset({*MARKET_TOPICS.values(), "bar"})
KINDS = ORDER_KINDS | MARKET_KINDS
QUEUE_SIZE = 1000
_NO_LEADER_YET = frozenset(
    {
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError._TIMED_OUT,
    }
)
SLOW_CLIENT_CODE = 4429
"""WebSocket close code of a subscriber dropped because its queue overflowed."""


def stream_topics(bar_intervals: Iterable[str] = ("1m",)) -> dict[str, str]:
    """Every canonical topic the hub reads → the ``type`` of its messages."""
    bars = {f"md.bars.{interval}": "bar" for interval in bar_intervals}
    return ORDER_TOPICS | MARKET_TOPICS | bars


@dataclass(eq=False)
class Subscription:
    """One WebSocket's wishes and its bounded queue (owned by its event loop)."""

    accounts: frozenset[str] | None  # None = every account
    types: frozenset[str]
    loop: asyncio.AbstractEventLoop
    instruments: frozenset[str] = frozenset()  # market data of these instruments only
    queue_size: int = QUEUE_SIZE
    queue: asyncio.Queue[dict[str, Any]] = field(init=False)
    dropped: asyncio.Event = field(init=False)

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(self.queue_size)
        self.dropped = asyncio.Event()

    def wants(self, kind: str, data: dict[str, Any]) -> bool:
        """True when this subscriber asked for the ``kind`` record ``data``."""
        if kind not in self.types:
            return False
        if kind in ORDER_KINDS:
            return self.accounts is None or str(data.get("account", "")) in self.accounts
        return str(data.get("instrument", "")) in self.instruments


def _offer(sub: Subscription, message: dict[str, Any]) -> None:
    if sub.dropped.is_set():
        return
    try:
        sub.queue.put_nowait(message)
    except asyncio.QueueFull:  # too slow: its socket is closed rather than anyone waiting
        sub.dropped.set()


class EventHub:
    """Reads the topics (``topic_name`` maps canonical → Kafka names) and dispatches."""

    def __init__(
        self,
        bootstrap: str,
        codec: Codec,
        *,
        topic_name: Callable[[str], str] = str,
        group_prefix: str = "tapewire-api",
        bar_intervals: Iterable[str] = ("1m",),
    ) -> None:
        self._codec = codec
        self.topics = stream_topics(bar_intervals)
        self._names = {topic_name(t): t for t in self.topics}
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
                high = self._end(TopicPartition(name, partition), timeout_s)
                assignment.append(TopicPartition(name, partition, high))
        self._consumer.assign(assignment)
        self._thread.start()
        return self

    def _end(self, partition: TopicPartition, timeout_s: float) -> int:
        # a topic created a moment ago may have no leader yet: retry until the deadline
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                _, high = self._consumer.get_watermark_offsets(partition, timeout=timeout_s)
                return int(high)
            except KafkaException as exc:
                error = exc.args[0] if exc.args else None
                retry = isinstance(error, KafkaError) and error.code() in _NO_LEADER_YET
                if not retry or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

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
        kind = self.topics[canonical]
        with self._lock:
            if not any(kind in s.types for s in self._subs):
                return  # nobody wants it: not even decoded
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
        message = {"type": kind, "data": data}
        with self._lock:
            subs = [s for s in self._subs if s.wants(kind, data)]
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
    return frozenset(names) & KINDS
