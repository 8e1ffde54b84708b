"""Where a connector's RawFrame records go: Kafka ``md.raw``, a list (tests), a capture."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Protocol, Self

from confluent_kafka import KafkaError, Message, Producer

from tapewire.connectors.markets import MARKETS_TOPIC, is_venue_metadata
from tapewire.core import metrics
from tapewire.core.errors import KafkaRuntimeError
from tapewire.core.kafka import producer_config
from tapewire.schemas.codec import Codec

RawRecord = dict[str, Any]
SCHEMA_TOPIC = "md.raw"


class FrameSink(Protocol):
    """Receives each RawFrame record (a dict in the ``io.tapewire.RawFrame`` shape)."""

    def __call__(self, record: RawRecord) -> None: ...


class ListSink:
    """Keeps records in memory (tests)."""

    def __init__(self) -> None:
        self.records: list[RawRecord] = []

    def __call__(self, record: RawRecord) -> None:
        self.records.append(record)


class KafkaRawSink:
    """Publishes RawFrames with an idempotent producer (``acks=all``), keyed per
    :mod:`tapewire.schemas.registry` (``venue:connection_id``); with ``markets_topic``, the
    venue-wide REST frames go there too (:mod:`tapewire.connectors.markets`). Delivery
    errors raise on :meth:`flush`."""

    def __init__(
        self,
        bootstrap: str,
        *,
        topic: str = SCHEMA_TOPIC,
        codec: Codec | None = None,
        markets_topic: str | None = None,
        extra: Mapping[str, str | int] | None = None,
        tap: Callable[[bytes, bytes], None] | None = None,
    ) -> None:
        self.topic = topic
        self.tap = tap
        """Also receives (key, value) of every md.raw frame, after its produce (a
        co-located hot path, ``docs/hot-path.md``)."""
        self.markets_topic = markets_topic
        self.codec = codec or Codec()
        config = producer_config(bootstrap) | {
            # tick-to-order starts here: send at once (frames still batch while a request
            # is in flight), and no Nagle delay on small frames (docs/hot-path.md)
            "linger.ms": 0,
            "socket.nagle.disable": True,
            "compression.type": "lz4",
        }
        self._producer = Producer(config | dict(extra or {}))
        self._errors: list[str] = []
        self.produced = 0

    def _on_delivery(self, err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            self._errors.append(str(err))

    def __call__(self, record: RawRecord) -> None:
        value = self.codec.encode(SCHEMA_TOPIC, record)
        if self.markets_topic is not None and is_venue_metadata(record):
            self._produce(self.markets_topic, self.codec.key(MARKETS_TOPIC, record), value)
        key = self.codec.key(SCHEMA_TOPIC, record)
        self._produce(self.topic, key, value)
        if self.tap is not None:
            self.tap(key, value)
        self._producer.poll(0)
        self.produced += 1
        metrics.messages_processed.labels("connector", self.topic).inc()

    def _produce(self, topic: str, key: bytes, value: bytes) -> None:
        while True:
            try:
                self._producer.produce(topic, key=key, value=value, on_delivery=self._on_delivery)
                return
            except BufferError:  # local queue full: let deliveries drain
                self._producer.poll(0.1)

    def flush(self, timeout_s: float = 30.0) -> None:
        """Wait for every delivery; raise :class:`KafkaRuntimeError` on any failure."""
        remaining = self._producer.flush(timeout_s)
        if remaining or self._errors:
            raise KafkaRuntimeError(
                f"{remaining} frame(s) to {self.topic} undelivered; errors: {self._errors[:5]}",
                hint="check that the brokers answer (tapewire doctor) and the topic exists",
            )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.flush()
