"""The ``notifier`` role: a consumer group over the alert topics, delivering each alert.

Reads ``alerts`` and, for the alerts it derives (``[notifier] derive``), ``md.coverage``,
``oms.fills`` and ``positions``. Per batch: decode each record (an undecodable one is a
dead letter), derive and deliver its alerts (:class:`~tapewire.sinks.notify.dispatch.
Notifier`: retries bounded), write a ``dlq.notifier`` record with the reason for every
delivery that failed for good, flush the dead letters, and only then commit the batch's
offsets. A stopping process does not commit a batch whose retries it cut short: those
alerts are read again at the next start (at-least-once; see ``docs/notifications.md``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, Producer

from tapewire.core import metrics
from tapewire.core.errors import KafkaRuntimeError
from tapewire.core.kafka import client_config, producer_config
from tapewire.records.market import CoverageEvent
from tapewire.records.orders import Fill
from tapewire.records.positions import Position
from tapewire.records.risk import Alert
from tapewire.schemas.codec import Codec
from tapewire.schemas.dead_letters import bounded
from tapewire.sinks.notify.dispatch import Failure, Notifier, NotifierStats
from tapewire.streams.notify import AlertDeriver, NotifierConfig

log = logging.getLogger(__name__)

STAGE = "notifier"
DLQ = "dlq.notifier"
DERIVED_TOPICS = {"fills": "oms.fills", "feed_health": "md.coverage", "daily_pnl": "positions"}
"""The topic each derived kind of alert is made from."""


def input_topics(config: NotifierConfig) -> tuple[str, ...]:
    """Canonical names of the topics the role reads under ``config``."""
    return ("alerts", *(DERIVED_TOPICS[kind] for kind in dict.fromkeys(config.derive)))


@dataclass(frozen=True)
class RoleSettings:
    """Where the role reads and writes: ``topics`` maps each Kafka topic to its canonical
    name (``{"desk.alerts": "alerts"}``)."""

    topics: Mapping[str, str]
    group_id: str
    dlq_topic: str = DLQ
    consume_batch: int = 500


class NotifierRole:
    """One consumer, one dead-letter producer, one :class:`Notifier`; drive with :meth:`run`."""

    def __init__(
        self,
        bootstrap: str,
        config: NotifierConfig,
        settings: RoleSettings,
        codec: Codec,
        *,
        stop: threading.Event,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self._codec = codec
        self._stop = stop
        self.notifier = Notifier(config, environ=environ, sleep=stop.wait)
        self._deriver = AlertDeriver(config.derive)
        self._producer = Producer(producer_config(bootstrap))
        self._dlq_errors: list[str] = []
        self.dead_letters = 0
        self._consumer = Consumer(
            client_config(bootstrap)
            | {
                "group.id": settings.group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
            }
        )

    @property
    def stats(self) -> NotifierStats:
        """The notifier's counts."""
        return self.notifier.stats

    def run(self) -> NotifierStats:
        """Consume, deliver, dead-letter and commit until the stop event is set."""
        metrics.component_up.labels(component=STAGE).set(1)
        self._consumer.subscribe(list(self.settings.topics))
        try:
            while not self._stop.is_set():
                msgs = self._consumer.consume(self.settings.consume_batch, timeout=0.5)
                if msgs and not self._handle_batch(msgs):
                    break  # stopped mid-retry: the batch is read again at the next start
        finally:
            metrics.component_up.labels(component=STAGE).set(0)
            self._consumer.close()
        return self.stats

    def _handle_batch(self, msgs: Sequence[Message]) -> bool:
        """Deliver the batch; False if a stop cut retries short (then nothing is committed)."""
        handled = 0
        for msg in msgs:
            err = msg.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    log.warning("notifier: consumer error %s", err)
                continue
            handled += 1
            topic = msg.topic() or ""
            metrics.messages_processed.labels(STAGE, topic).inc()
            try:
                alerts = self._alerts(self.settings.topics[topic], msg.value() or b"")
            except Exception as exc:  # a bad record is a dead letter, never fatal
                self._dead_letter(msg, type(exc).__name__, str(exc), {})
                continue
            for alert in alerts:
                for failure in self.notifier.notify(alert):
                    if failure.outcome.stopped:
                        return False
                    self._dead_letter(msg, *_letter(failure))
        self._flush_dead_letters()
        if handled:
            self._consumer.commit(asynchronous=False)
        return True

    def _alerts(self, canonical: str, value: bytes) -> list[Alert]:
        record = self._codec.read(canonical, value)
        if isinstance(record, Alert):
            return [record]
        if isinstance(record, Fill):
            return self._deriver.on_fill(record)
        if isinstance(record, CoverageEvent):
            return self._deriver.on_coverage(record)
        if isinstance(record, Position):
            return self._deriver.on_position(record)
        raise TypeError(f"{canonical}: no alert is made from {type(record).__name__}")

    def _dead_letter(
        self, msg: Message, error_type: str, reason: str, labels: Mapping[str, str]
    ) -> None:
        metrics.messages_rejected.labels(STAGE, error_type).inc()
        letter = bounded(
            {
                "stage": STAGE,
                "source_topic": msg.topic() or "",
                "source_partition": msg.partition(),
                "source_offset": msg.offset(),
                "key": msg.key(),
                "payload": msg.value() or b"",
                "error_type": error_type,
                "reason": reason,
                "labels": dict(labels),
                "failed_ts_ns": time.time_ns(),
            }
        )
        self._producer.produce(
            self.settings.dlq_topic,
            key=self._codec.key(DLQ, letter),
            value=self._codec.encode(DLQ, letter),
            on_delivery=self._on_delivery,
        )
        self._producer.poll(0)
        self.dead_letters += 1

    def _on_delivery(self, err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            self._dlq_errors.append(str(err))

    def _flush_dead_letters(self, timeout_s: float = 30.0) -> None:
        remaining = self._producer.flush(timeout_s)
        if remaining or self._dlq_errors:
            raise KafkaRuntimeError(
                f"{remaining} dead letter(s) to {self.settings.dlq_topic} undelivered; "
                f"errors: {self._dlq_errors[:3]}",
                hint=f"check that topic {self.settings.dlq_topic} exists and the brokers answer",
            )


def _letter(failure: Failure) -> tuple[str, str, dict[str, Any]]:
    alert, target, outcome = failure.alert, failure.route, failure.outcome
    error_type = "DeliveryRefused" if outcome.permanent else "DeliveryFailed"
    # the outcome's reason names the channel (``refused: webhook ops/gone: HTTP 410 Gone``)
    reason = f"{outcome.reason} (alert {alert.alert_id} {alert.severity} {alert.code})"
    labels = {
        "user": target.user,
        "channel": target.channel_name,
        "kind": target.channel.kind,
        "alert_id": alert.alert_id,
        "code": alert.code,
        "attempts": str(outcome.attempts),
    }
    return error_type, reason, labels
