"""What every stage shares: messages in and out, the emitter, decoding, dead letters.

A *stage* is synchronous and Kafka-free: :meth:`Stage.process` takes a batch of raw input
messages and returns the output messages (Kafka topic, key, value bytes). Both shells run
the same stage objects: the Faust agents (:mod:`tapewire.streams.agents`) and the fused hot path
(:mod:`tapewire.streams.hotpath`). A stage never raises: what it cannot process is dead-lettered.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import repeat
from typing import Any, NamedTuple, Protocol

import msgspec

from tapewire.core import metrics
from tapewire.core.kafka import MAX_MESSAGE_BYTES
from tapewire.core.records import Record, TypedRecord
from tapewire.schemas.codec import Codec
from tapewire.schemas.dead_letters import bounded
from tapewire.streams.aggregate import Rejected

log = logging.getLogger(__name__)


class InMsg(msgspec.Struct, frozen=True, gc=False):
    """One consumed message: where it was read, its raw bytes and, when it comes from a
    stage in the same process (the hot path), the typed record it encodes.

    A frozen ``msgspec.Struct`` (built in C: one or more per message in the hot path, a
    frozen dataclass cost several times as much)."""

    partition: int | None
    offset: int | None
    key: bytes | None
    value: bytes | None
    record: TypedRecord | None = None


class OutMsg(NamedTuple):
    """A message to produce: Kafka topic, key and value, and the typed record the value
    encodes (``None`` for a pass-through or a record emitted as a dict)."""

    topic: str
    key: bytes | None
    value: bytes
    record: TypedRecord | None = None


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

    def emit(self, canonical: str, record: Record) -> None:
        """Encode ``record`` for ``canonical`` (its key from ``tapewire.schemas.registry``).

        A typed record travels with its bytes, so a stage in the same process reads the
        object instead of decoding the value again."""
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
        self.emit_raw(canonical, key, value, record if isinstance(record, TypedRecord) else None)

    def emit_many(self, canonical: str, records: Sequence[Record]) -> None:
        """:meth:`emit` for every record of ``records``, with the topic's writer, key
        function and Kafka name looked up once; a record the generated writer does not take
        goes through :meth:`emit` (written by the checked path, or dead-lettered)."""
        if not records:
            return
        serde = self.codec.for_topic(canonical)
        write = serde.fast_writer or serde.encode
        key_of = self.codec.key_of(canonical)
        try:  # the common case, every record written: per list, in C
            values = list(map(write, records))
            keys = list(map(key_of, records))
        except Exception:
            self._emit_each(canonical, records, write, key_of)
            return
        if max(map(len, values)) + max(map(len, keys)) > MAX_MESSAGE_BYTES:
            self._emit_each(canonical, records, write, key_of)  # which ones: one by one
            return
        typed: Iterable[TypedRecord | None] = records  # type: ignore[assignment]
        if not all(issubclass(cls, TypedRecord) for cls in set(map(type, records))):
            typed = [r if isinstance(r, TypedRecord) else None for r in records]
        self.out.extend(
            map(
                tuple.__new__,
                repeat(OutMsg),
                zip(repeat(self.kafka_name(canonical)), keys, values, typed),
            )
        )

    def _emit_each(
        self,
        canonical: str,
        records: Sequence[Record],
        write: Callable[[Any], bytes],
        key_of: Callable[[Record], bytes],
    ) -> None:
        """:meth:`emit_many` one record at a time: a record that fails goes through
        :meth:`emit`, one too large through :meth:`emit_raw` (a dead letter)."""
        name = self.kafka_name(canonical)
        out = self.out
        new = tuple.__new__
        for record in records:
            try:
                value = write(record)
                key = key_of(record)
            except Exception:
                self.emit(canonical, record)
                continue
            typed = record if isinstance(record, TypedRecord) else None
            if len(value) + len(key) > MAX_MESSAGE_BYTES:
                self.emit_raw(canonical, key, value, typed)
                continue
            out.append(new(OutMsg, (name, key, value, typed)))

    def emit_raw(
        self,
        canonical: str,
        key: bytes | None,
        value: bytes,
        record: TypedRecord | None = None,
    ) -> None:
        """Pass bytes through unchanged (re-keying); a message too large for the broker
        becomes a dead letter (``RecordTooLarge``) instead."""
        size = len(value) + len(key or b"")
        if size > MAX_MESSAGE_BYTES:
            self.dead(
                source_topic=canonical,
                payload=value,
                error_type="RecordTooLarge",
                reason=f"a {canonical} message of {size} bytes is over the {MAX_MESSAGE_BYTES}"
                " a broker accepts; its input is too large (an id or text field?)",
            )
            return
        self.out.append(OutMsg(self.kafka_name(canonical), key, value, record))

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

    def emit_dead_record(self, record: Record) -> None:
        """Encode a ready DeadLetter record (as the normalizer builds them)."""
        metrics.messages_rejected.labels(self.stage, str(record["error_type"])).inc()
        record = bounded(record)
        try:
            value = self.codec.encode(self.dlq, record)
            key = self.codec.key(self.dlq, record)
        except Exception:  # a DeadLetter we cannot even encode: log it, never loop
            log.exception("%s: unencodable dead letter %r", self.stage, record)
            return
        self.out.append(OutMsg(self.kafka_name(self.dlq), key, value))

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
) -> list[tuple[InMsg, TypedRecord]]:
    """Every message's typed record (read from its bytes unless it carries one already);
    undecodable ones become DeadLetters (``DecodeError``)."""
    decoded: list[tuple[InMsg, TypedRecord]] = []
    read: Callable[[bytes], TypedRecord] | None = None
    for msg in batch:
        if msg.record is not None:  # no serde needed (built on first use: costly)
            decoded.append((msg, msg.record))
            continue
        if read is None:  # outside the try, as before: a registry failure fails the batch
            read = codec.for_topic(canonical).read
        try:
            if msg.value is None:
                raise ValueError("tombstone (null value)")
            decoded.append((msg, read(msg.value)))
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


class TopicMsg(msgspec.Struct, frozen=True, gc=False):
    """One consumed message with its canonical topic (the prefix removed), and its typed
    record when it comes from a stage in the same process (a frozen ``msgspec.Struct``,
    as :class:`InMsg`)."""

    topic: str
    partition: int | None
    offset: int | None
    key: bytes | None
    value: bytes | None
    record: TypedRecord | None = None


class TopicStage(Protocol):
    """A batch transformation over messages of several topics; never raises."""

    name: str
    emitter: Emitter

    def process(self, batch: Sequence[TopicMsg]) -> list[OutMsg]:
        """Outputs of one batch, in emission order."""
        ...


def decode_topics(
    codec: Codec, batch: Sequence[TopicMsg], emitter: Emitter
) -> list[tuple[TopicMsg, TypedRecord]]:
    """Every message's typed record (its topic's schema); failures become DeadLetters."""
    if len(batch) == 1 and batch[0].record is not None:  # the hot path: one typed message
        return [(batch[0], batch[0].record)]
    out: list[tuple[TopicMsg, TypedRecord]] = []
    for msg in batch:
        if msg.record is not None:
            out.append((msg, msg.record))
            continue
        try:
            if msg.value is None:
                raise ValueError("tombstone (null value)")
            out.append((msg, codec.read(msg.topic, msg.value)))
        except Exception as exc:
            emitter.dead(
                source_topic=msg.topic,
                payload=msg.value or b"",
                error_type="DecodeError",
                reason=f"{type(exc).__name__}: {exc}",
                labels={"partition": str(msg.partition), "offset": str(msg.offset)},
            )
    return out


def dead_record(emitter: Emitter, msg: TopicMsg, exc: Exception, stage: str) -> None:
    """A record the core refused (it raised): dead-letter it, keep going."""
    metrics.stream_agent_errors.labels(stage, type(exc).__name__).inc()
    emitter.dead(
        source_topic=msg.topic,
        payload=msg.value or b"",
        error_type=type(exc).__name__,
        reason=f"{stage}: {exc}",
        labels={"partition": str(msg.partition), "offset": str(msg.offset)},
    )


def safe_topics(stage: TopicStage, batch: Sequence[TopicMsg]) -> list[OutMsg]:
    """``stage.process(batch)``; an unexpected error dead-letters the whole batch."""
    try:
        return stage.process(batch)
    except Exception as exc:
        return failed_topics(stage, batch, exc)


def failed_topics(stage: TopicStage, batch: Sequence[TopicMsg], exc: Exception) -> list[OutMsg]:
    """What :func:`safe_topics` returns when ``stage.process(batch)`` raised ``exc``."""
    metrics.stream_agent_errors.labels(stage.name, type(exc).__name__).inc()
    log.exception("%s: batch of %d failed; dead-lettered", stage.name, len(batch))
    stage.emitter.take()
    for msg in batch:
        dead_record(stage.emitter, msg, exc, stage.name)
    return stage.emitter.take()
