"""NBBO stages: ``md.quotes`` -> (re-key) -> ``md.quotes.by-consolidated`` -> ``md.nbbo``.

The NBBO of a consolidated id needs the quotes of every venue in one worker, but
``md.quotes`` is keyed ``venue:instrument``. ``nbbo-rekey`` copies each quote, bytes
unchanged, to an internal topic keyed by :meth:`NbboAggregator.consolidated_id` (read from
the message key, no decoding); ``nbbo`` feeds that topic to the aggregator. Each venue's
quotes keep their order (one source partition -> one target partition).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tapewire.records.market import ConsolidatedQuote
from tapewire.schemas.codec import Codec
from tapewire.streams.aggregate import NbboAggregator, NbboConfig
from tapewire.streams.stages.base import Emitter, InMsg, OutMsg, decode_batch

SOURCE = "md.quotes"
REPARTITION = "md.quotes.by-consolidated"
DLQ = "dlq.aggregate"


class RekeyStage:
    """Quote bytes keyed ``venue:instrument`` -> the same bytes keyed by consolidated id.

    ``source``/``target``/``name`` reuse it for another ``venue:instrument``-keyed topic
    (``md.book`` -> ``md.book.by-consolidated`` for the depth stage)."""

    def __init__(
        self,
        codec: Codec,
        kafka_name: Callable[[str], str] = str,
        config: NbboConfig | None = None,
        *,
        source: str = SOURCE,
        target: str = REPARTITION,
        name: str = "nbbo-rekey",
    ) -> None:
        self.codec = codec
        self.name = name
        self.source_topic = source
        self.target = target
        self.ids: dict[bytes, bytes] = {}
        self.config = config or NbboConfig()
        self.emitter = Emitter(codec, self.name, kafka_name, DLQ)

    def _target(self, msg: InMsg) -> bytes:
        key = msg.key
        if key is not None:
            known = self.ids.get(key)
            if known is not None:
                return known
        if key is not None and b":" in key:
            instrument = key.split(b":", 1)[1].decode()
        else:  # no usable key: read the instrument from the value
            instrument = self.codec.decode(self.source_topic, msg.value or b"")["instrument"]
        target = self.config.consolidated_id(instrument).encode()
        if key is not None:
            self.ids[key] = target
        return target

    def process(self, batch: Sequence[InMsg]) -> list[OutMsg]:
        """Re-key every message; one that names no valid instrument is dead-lettered."""
        emitter, source = self.emitter, self.source_topic
        for msg in batch:
            if msg.value is None:
                emitter.dead(
                    source_topic=source,
                    payload=b"",
                    error_type="DecodeError",
                    reason="tombstone (null value)",
                    msg=msg,
                )
                continue
            try:
                target = self._target(msg)
            except Exception as exc:
                emitter.dead(
                    source_topic=source,
                    payload=msg.value,
                    error_type="invalid",
                    reason=f"no consolidated id: {type(exc).__name__}: {exc}",
                    msg=msg,
                )
                continue
            emitter.emit_raw(self.target, target, msg.value)
        return emitter.take()


class NbboStage:
    """Quote bytes (grouped by consolidated id) -> encoded ConsolidatedQuote records."""

    name = "nbbo"
    source_topic = REPARTITION
    per_message = True
    """``process`` of a batch = ``process`` of each message in turn, outputs concatenated
    (the fused hot path runs consecutive deliveries in one call)."""

    def __init__(
        self,
        codec: Codec,
        kafka_name: Callable[[str], str] = str,
        aggregator: NbboAggregator | None = None,
        config: NbboConfig | None = None,
    ) -> None:
        self.codec = codec
        self.aggregator = aggregator or NbboAggregator(config)
        self.emitter = Emitter(codec, self.name, kafka_name, DLQ)

    def process(self, batch: Sequence[InMsg]) -> list[OutMsg]:
        """Add each quote in order; emit NBBO changes, dead-letter rejected quotes."""
        emitter, agg = self.emitter, self.aggregator
        records: list[ConsolidatedQuote] = []  # encoded together, in order, before a reject
        for msg, quote in decode_batch(self.codec, SOURCE, batch, emitter):
            records += agg.add(quote)
            rejected = agg.drain_rejected()
            if rejected:
                emitter.emit_many("md.nbbo", records)
                records = []
                for reject in rejected:
                    emitter.rejected(reject, SOURCE, msg)
        emitter.emit_many("md.nbbo", records)
        return emitter.take()
