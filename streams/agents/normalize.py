"""Normalize agent: ``md.raw`` -> ``md.trades``, ``md.book``, ``md.quotes``, ``md.coverage``,
``dlq.normalize`` through :class:`streams.normalize.Normalizer`.

``md.raw`` is keyed by venue, so all of a venue's frames reach one worker in order; the
Normalizer holds the ccxt.pro objects (books, dedup) of the venues of this worker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from schemas.codec import Codec
from streams.agents.common import Emitter, InMsg, OutMsg, batched_agent, decode_batch
from streams.normalize import Normalizer, SourceRef
from streams.normalize.normalizer import BOOK, COVERAGE, DLQ, QUOTES, TRADES

if TYPE_CHECKING:
    from streams.app import TapewireApp

SOURCE = "md.raw"


class NormalizeStage:
    """One batch of RawFrame bytes -> encoded normalizer outputs (pure, no Kafka)."""

    name = "normalize"
    source_topic = SOURCE

    def __init__(
        self,
        codec: Codec,
        kafka_name: Callable[[str], str] = str,
        normalizer: Normalizer | None = None,
    ) -> None:
        self.codec = codec
        self.normalizer = normalizer or Normalizer()
        self.emitter = Emitter(codec, self.name, kafka_name, DLQ)

    def process(self, batch: Sequence[InMsg]) -> list[OutMsg]:
        """Decode, normalize the batch in order, encode every output record."""
        emitter = self.emitter
        decoded = decode_batch(self.codec, SOURCE, batch, emitter)
        result = self.normalizer.process_batch(
            (frame for _, frame in decoded),
            (SourceRef(m.partition, m.offset, m.key, m.value) for m, _ in decoded),
        )
        for topic in (TRADES, BOOK, QUOTES, COVERAGE):
            for record in result[topic]:
                emitter.emit(topic, record)
        for dead in result[DLQ]:
            emitter.emit_dead_record(dead)
        return emitter.take()


def register_normalize(app: TapewireApp) -> NormalizeStage:
    """Register the ``normalize`` agent on ``app``."""
    topics = app.streams_config.topics
    stage = NormalizeStage(app.codec, topics.name)
    batched_agent(app, topics.raw, stage, stage.emitter, name="normalize")
    return stage
