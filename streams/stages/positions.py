"""Positions stage: ``oms.fills``, ``md.nbbo``, ``oms.approved`` -> ``positions``, ``alerts``.

:class:`tapewire.streams.trading.PositionBook` holds the positions; ``oms.approved`` only supplies
the arrival mid of each order (the NBBO mid the gate saw) for the slippage of its fills,
exported as ``tapewire_fill_slippage_bps``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tapewire.core import metrics
from tapewire.core.records import expect
from tapewire.records.market import ConsolidatedQuote
from tapewire.records.orders import Fill
from tapewire.records.risk import RiskDecision
from tapewire.schemas.codec import Codec
from tapewire.streams.stages.base import (
    Emitter,
    OutMsg,
    TopicMsg,
    dead_record,
    decode_topics,
)
from tapewire.streams.stages.strategy import DLQ
from tapewire.streams.trading.positions import PositionBook, PositionLimits, Update

INPUTS = ("oms.fills", "md.nbbo", "oms.approved")


class PositionsStage:
    """Fills and marks -> ``Position`` records; limit breaches -> ``Alert`` records."""

    name = "positions"

    def __init__(
        self,
        codec: Codec,
        limits: PositionLimits | None = None,
        kafka_name: Callable[[str], str] = str,
        mark_id: Callable[[str], str] = str,
    ) -> None:
        self.codec = codec
        self.book = PositionBook(limits, mark_id)
        self.emitter = Emitter(codec, self.name, kafka_name, DLQ)

    def process(self, batch: Sequence[TopicMsg]) -> list[OutMsg]:
        """Each record in arrival order."""
        for msg, record in decode_topics(self.codec, batch, self.emitter):
            try:
                if msg.topic == "oms.fills":
                    self.emit(self.book.on_fill(expect(record, Fill)))
                elif msg.topic == "md.nbbo":
                    self.emit(self.book.on_nbbo(expect(record, ConsolidatedQuote)))
                elif msg.topic == "oms.approved":
                    self.book.on_approved(expect(record, RiskDecision))
            except Exception as exc:
                dead_record(self.emitter, msg, exc, self.name)
        return self.emitter.take()

    def emit(self, update: Update) -> None:
        """Encode an :class:`Update`; observe fill quality."""
        for position in update.positions:
            self.emitter.emit("positions", position)
        for alert in update.alerts:
            metrics.position_alerts.labels(alert.code).inc()
            self.emitter.emit("alerts", alert)
        for q in update.quality:
            metrics.fill_slippage_bps.labels(q.venue).observe(float(q.slippage_bps))
