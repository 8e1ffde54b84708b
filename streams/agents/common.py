"""The thin shell shared by every agent: batch in, pure core, encoded records out.

A *stage* is synchronous and Kafka-free: :meth:`Stage.process` takes a batch of raw input
messages and returns the output messages (Kafka topic, key, value bytes). The Faust agent
(:func:`batched_agent`) only takes batches from its stream, calls the stage, produces the
outputs and waits for their delivery before the batch's offsets may be committed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from schemas.codec import Codec
from streams.aggregate import Rejected
from tapewire import metrics

if TYPE_CHECKING:
    from streams.app import TapewireApp

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InMsg:
    """One consumed message: where it was read and its raw bytes."""

    partition: int | None
    offset: int | None
    key: bytes | None
    value: bytes | None


OutMsg = tuple[str, bytes | None, bytes]
"""(Kafka topic, key, value) to produce."""


class Stage(Protocol):
    """A batch transformation from input messages to output messages; never raises."""

    name: str
    source_topic: str

    def process(self, batch: Sequence[InMsg]) -> list[OutMsg]:
        """Outputs of one batch, in emission order."""
        ...


class Emitter:
    """Encodes records to output messages; anything that cannot be encoded is dead-lettered.

    ``topics`` maps canonical topic names (what the codec knows) to Kafka names.
    """

    def __init__(
        self,
        codec: Codec,
        stage: str,
        kafka_name: Callable[[str], str],
        dlq: str,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.codec = codec
        self.stage = stage
        self.kafka_name = kafka_name
        self.dlq = dlq
        self.clock = clock
        self.out: list[OutMsg] = []

    def take(self) -> list[OutMsg]:
        """The messages emitted since the last call."""
        out, self.out = self.out, []
        return out

    def emit(self, canonical: str, record: Mapping[str, Any]) -> None:
        """Encode ``record`` for ``canonical`` (its key from ``schemas.registry``)."""
        try:
            value = self.codec.encode(canonical, record)
            key = self.codec.key(canonical, record)
        except Exception as exc:
            self.dead(
                source_topic=canonical,
                payload=repr(dict(record)).encode(),
                error_type="EncodeError",
                reason=f"{type(exc).__name__}: {exc}",
            )
            return
        self.out.append((self.kafka_name(canonical), key, value))

    def emit_raw(self, canonical: str, key: bytes | None, value: bytes) -> None:
        """Pass bytes through unchanged (re-keying)."""
        self.out.append((self.kafka_name(canonical), key, value))

    def dead(
        self,
        *,
        source_topic: str,
        payload: bytes,
        error_type: str,
        reason: str,
        msg: InMsg | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> None:
        """A DeadLetter to this stage's DLQ (``error_type`` is also the metric's reason)."""
        record = {
            "stage": self.stage,
            "source_topic": source_topic,
            "source_partition": msg.partition if msg else None,
            "source_offset": msg.offset if msg else None,
            "key": msg.key if msg else None,
            "payload": payload,
            "error_type": error_type,
            "reason": reason,
            "labels": dict(labels or {}),
            "failed_ts_ns": self.clock(),
        }
        self.emit_dead_record(record)

    def emit_dead_record(self, record: Mapping[str, Any]) -> None:
        """Encode a ready DeadLetter record (as the normalizer builds them)."""
        metrics.messages_rejected.labels(self.stage, str(record["error_type"])).inc()
        try:
            value = self.codec.encode(self.dlq, record)
            key = self.codec.key(self.dlq, record)
        except Exception:  # a DeadLetter we cannot even encode: log it, never loop
            log.exception("%s: unencodable dead letter %r", self.stage, record)
            return
        self.out.append((self.kafka_name(self.dlq), key, value))

    def rejected(self, rejected: Rejected, source_topic: str, msg: InMsg | None) -> None:
        """An aggregator's :class:`Rejected` record as a DeadLetter with the input bytes."""
        payload = msg.value if msg is not None and msg.value is not None else b""
        self.dead(
            source_topic=source_topic,
            payload=payload,
            error_type=rejected.reason,
            reason=rejected.detail,
            msg=msg,
        )


def decode_batch(
    codec: Codec, canonical: str, batch: Sequence[InMsg], emitter: Emitter
) -> list[tuple[InMsg, dict[str, Any]]]:
    """Decode every message; undecodable ones become DeadLetters (``DecodeError``)."""
    decode = codec.for_topic(canonical).decode
    decoded: list[tuple[InMsg, dict[str, Any]]] = []
    for msg in batch:
        try:
            if msg.value is None:
                raise ValueError("tombstone (null value)")
            decoded.append((msg, decode(msg.value)))
        except Exception as exc:
            emitter.dead(
                source_topic=canonical,
                payload=msg.value or b"",
                error_type="DecodeError",
                reason=f"{type(exc).__name__}: {exc}",
                msg=msg,
            )
    return decoded


def safe_process(stage: Stage, emitter: Emitter, batch: Sequence[InMsg]) -> list[OutMsg]:
    """``stage.process(batch)``; if the shell or core raises anyway, dead-letter the batch."""
    try:
        return stage.process(batch)
    except Exception as exc:
        metrics.stream_agent_errors.labels(stage.name, type(exc).__name__).inc()
        log.exception("%s: batch of %d failed; dead-lettered", stage.name, len(batch))
        emitter.take()
        for msg in batch:
            emitter.dead(
                source_topic=stage.source_topic,
                payload=msg.value or b"",
                error_type=type(exc).__name__,
                reason=f"unexpected error in {stage.name}: {exc}",
                msg=msg,
            )
        return emitter.take()


def batched_agent(
    app: TapewireApp, source: str, stage: Stage, emitter: Emitter, *, name: str
) -> None:
    """Register a Faust agent that feeds ``source`` to ``stage`` in batches.

    Events are acked (their offsets become committable) only after the batch body returns,
    i.e. after every output was delivered with ``acks=all``: at-least-once, with the
    idempotent producer preventing duplicates from producer retries.
    """
    config = app.streams_config
    channel = app.topic(source, value_serializer="raw", key_serializer="raw")
    batch_size = metrics.stream_batch_size.labels(name)
    process_seconds = metrics.stream_batch_seconds.labels(name, "process")
    send_seconds = metrics.stream_batch_seconds.labels(name, "send")
    processed = metrics.messages_processed.labels(name, source)
    produced: dict[str, Any] = {}
    # The pure cores run on one dedicated thread per agent: ccxt's offline REST path drives
    # its own private event loop (run_until_complete), which cannot run on Faust's loop,
    # and the cores' state is then only ever touched by that one thread, in batch order.
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"tapewire-{name}")
    app.executors.append(executor)

    async def agent(stream: Any) -> None:
        loop = asyncio.get_running_loop()
        async for events in stream.take_events(config.batch_size, within=config.batch_within_s):
            batch = [
                InMsg(e.message.partition, e.message.offset, e.message.key, e.message.value)
                for e in events
            ]
            t0 = time.perf_counter()
            out = await loop.run_in_executor(executor, safe_process, stage, emitter, batch)
            t1 = time.perf_counter()
            await send_all(app, out, produced, name)
            send_seconds.observe(time.perf_counter() - t1)
            process_seconds.observe(t1 - t0)
            batch_size.observe(len(batch))
            processed.inc(len(batch))

    app.agent(channel, name=name)(agent)


async def send_all(
    app: TapewireApp, out: Sequence[OutMsg], counters: dict[str, Any], stage: str
) -> None:
    """Produce ``out`` in order and wait until the broker acknowledged every message.

    A delivery failure (after the producer's own retries) crashes the app: the batch's
    offsets are not committed, so a restarted worker processes it again.
    """
    if not out:
        return
    send = app.producer.send
    futures = []
    counts: dict[str, int] = {}
    for topic, key, value in out:
        futures.append(await send(topic, key, value, None, None, None))
        counts[topic] = counts.get(topic, 0) + 1
    try:
        await asyncio.gather(*futures)
    except Exception as exc:
        log.exception("%s: delivery failed; crashing so the batch is reprocessed", stage)
        await app.crash(exc)
        raise
    for topic, count in counts.items():
        counter = counters.get(topic)
        if counter is None:
            counter = counters[topic] = metrics.messages_produced.labels(stage, topic)
        counter.inc(count)
