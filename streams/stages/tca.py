"""TCA stage: ``oms.approved``, ``oms.events``, ``oms.fills``, ``md.nbbo``, ``md.quotes``,
``md.trades`` -> ``tca``.

:class:`tapewire.streams.tca.TcaEngine` holds the state (bounded, ``docs/tca.md``); the stage
decodes, feeds it in arrival order and emits one ``TcaReport`` per finished order (and per
parent when its children are done), keyed by account. ``oms.approved`` supplies what the
execution reports lack: the request time (the arrival), the quantity and the parent tag.
A record the core refuses (a trade with an instrument that is not canonical) is
dead-lettered to ``dlq.trading``; the stage never raises.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tapewire.core import metrics
from tapewire.core.records import expect
from tapewire.records.market import ConsolidatedQuote, Quote, Trade
from tapewire.records.orders import Fill, OrderEvent
from tapewire.records.risk import RiskDecision
from tapewire.records.tca import TcaReport
from tapewire.schemas.codec import Codec
from tapewire.streams.stages.base import Emitter, OutMsg, TopicMsg, dead_record, decode_topics
from tapewire.streams.stages.strategy import DLQ
from tapewire.streams.tca import TcaConfig, TcaEngine

INPUTS = ("oms.approved", "oms.events", "oms.fills", "md.nbbo", "md.quotes", "md.trades")
OUTPUT = "tca"


class TcaStage:
    """Order and market records -> ``TcaReport`` records on ``tca``."""

    name = "tca"

    def __init__(
        self,
        codec: Codec,
        config: TcaConfig | None = None,
        kafka_name: Callable[[str], str] = str,
        mark_id: Callable[[str], str] = str,
    ) -> None:
        self.codec = codec
        self.engine = TcaEngine(config, mark_id)
        self.emitter = Emitter(codec, self.name, kafka_name, DLQ)

    def process(self, batch: Sequence[TopicMsg]) -> list[OutMsg]:
        """Each record in arrival order; reports emitted as orders finish."""
        tca = self.engine
        for msg, record in decode_topics(self.codec, batch, self.emitter):
            try:
                topic = msg.topic
                if topic == "md.trades":
                    tca.on_trade(expect(record, Trade))
                elif topic == "md.quotes":
                    tca.on_quote(expect(record, Quote))
                elif topic == "md.nbbo":
                    tca.on_nbbo(expect(record, ConsolidatedQuote))
                elif topic == "oms.fills":
                    self.emit(tca.on_fill(expect(record, Fill)))
                elif topic == "oms.events":
                    self.emit(tca.on_event(expect(record, OrderEvent)))
                elif topic == "oms.approved":
                    self.emit(tca.on_approved(expect(record, RiskDecision)))
            except Exception as exc:
                dead_record(self.emitter, msg, exc, self.name)
        return self.emitter.take()

    def emit(self, reports: Sequence[TcaReport]) -> None:
        """Encode the reports; observe their shortfall."""
        for report in reports:
            if report.shortfall_bps is not None:
                metrics.tca_shortfall_bps.labels(report.kind).observe(float(report.shortfall_bps))
            self.emitter.emit(OUTPUT, report)
