"""Bars stage: ``md.trades`` -> ``md.bars.<interval>`` through :class:`BarAggregator`.

``md.trades`` is keyed ``venue:instrument``, the aggregator's state key, so each key's
state lives in the one worker that owns its partition. Late and invalid trades go to
``dlq.aggregate``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tapewire.schemas.codec import Codec
from tapewire.streams.aggregate import BarAggregator, BarConfig
from tapewire.streams.stages.base import Emitter, InMsg, OutMsg, decode_batch

SOURCE = "md.trades"
DLQ = "dlq.aggregate"


class BarsStage:
    """One batch of Trade bytes -> encoded Bar records (pure, no Kafka)."""

    name = "bars"
    source_topic = SOURCE
    per_message = True
    """``process`` of a batch = ``process`` of each message in turn, outputs concatenated
    (the fused hot path runs consecutive deliveries in one call)."""

    def __init__(
        self,
        codec: Codec,
        kafka_name: Callable[[str], str] = str,
        aggregator: BarAggregator | None = None,
        config: BarConfig | None = None,
    ) -> None:
        self.codec = codec
        self.aggregator = aggregator or BarAggregator(config)
        self.emitter = Emitter(codec, self.name, kafka_name, DLQ)

    def process(self, batch: Sequence[InMsg]) -> list[OutMsg]:
        """Add each trade in order; emit the bars closed and dead-letter rejected trades."""
        emitter, agg = self.emitter, self.aggregator
        for msg, trade in decode_batch(self.codec, SOURCE, batch, emitter):
            for bar in agg.add(trade):
                emitter.emit(f"md.bars.{bar['interval']}", bar)
            for rejected in agg.drain_rejected():
                emitter.rejected(rejected, SOURCE, msg)
        return emitter.take()
