"""Strategy stage: market records and own order events -> ``OrderRequest`` intents.

An intent made from a market record carries that tick's receive and exchange times in
its tags (``tick_receive_ts_ns``, ``tick_exchange_ts_ns``; a strategy's own tags of those
names win), so risk and the router measure tick-to-order (:mod:`.latency`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from tapewire.core import metrics
from tapewire.schemas.codec import Codec
from tapewire.streams.stages.base import Emitter, OutMsg, TopicMsg, dead_record, decode_topics
from tapewire.streams.stages.latency import StageLatency, tagged_times, tick_tags
from tapewire.streams.trading.strategy import Strategy

log = logging.getLogger(__name__)

DLQ = "dlq.trading"
INPUTS = ("md.quotes", "md.nbbo", "md.trades", "oms.events")
HOOKS = {
    "md.quotes": "on_quote",
    "md.nbbo": "on_nbbo",
    "md.trades": "on_trade",
    "oms.events": "on_order_event",
}
"""The :class:`Strategy` hook each input topic is dispatched to."""


class StrategyStage:
    """Market records and own order events -> ``OrderRequest`` records on ``oms.requests``."""

    name = "strategy"

    def __init__(
        self,
        codec: Codec,
        strategies: Sequence[Strategy],
        kafka_name: Callable[[str], str] = str,
    ) -> None:
        self.codec = codec
        self.strategies = list(strategies)
        self.emitter = Emitter(codec, self.name, kafka_name, DLQ)
        self.latency = StageLatency(self.name)

    def inputs(self) -> tuple[str, ...]:
        """The topics of :data:`INPUTS` some strategy reads: one whose strategies all keep
        the base class's hook (no intent, no state) is not worth a delivery. A strategy
        that overrides ``on_record``, or is not a :class:`Strategy`, reads every topic."""
        return tuple(
            topic
            for topic in INPUTS
            if any(_reads(strategy, HOOKS[topic]) for strategy in self.strategies)
        )

    def process(self, batch: Sequence[TopicMsg]) -> list[OutMsg]:
        """Feed each record to every strategy in order; emit their intents."""
        emitter = self.emitter
        for msg, record in decode_topics(self.codec, batch, emitter):
            for strategy in self.strategies:
                try:
                    intents = strategy.on_record(msg.topic, record)
                except Exception as exc:
                    dead_record(emitter, msg, exc, f"{self.name}:{strategy.strategy_id}")
                    continue
                if not intents:
                    continue
                tick = tick_tags(record) if msg.topic.startswith("md.") else {}
                for intent in intents:
                    metrics.trading_intents.labels(strategy.strategy_id).inc()
                    if tick:
                        intent = intent.with_(tags={**tick, **intent.tags})
                        self.latency.observe(*tagged_times(intent.tags), time.time_ns())
                    emitter.emit("oms.requests", intent.to_record())
        return emitter.take()


def _reads(strategy: Strategy, hook: str) -> bool:
    kind = type(strategy)
    if not isinstance(strategy, Strategy) or kind.on_record is not Strategy.on_record:
        return True
    return bool(getattr(kind, hook) is not getattr(Strategy, hook))
