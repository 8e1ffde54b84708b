"""The backtest's codec: every record checked against its schema, no Avro bytes.

The stages encode what they emit (:class:`~tapewire.streams.stages.base.Emitter`); in a
backtest nothing goes to Kafka, so :class:`CheckedCodec` runs the codec's checks
(:meth:`~tapewire.schemas.codec.Codec.check`: the record would encode) and returns empty
bytes: a record the live path would dead-letter is dead-lettered here too, and the typed
record travels on to the next stage as it does in the fused hot path. Dead letters
themselves are encoded (rare), so the report can read them back.
"""

from __future__ import annotations

from tapewire.core.records import Record
from tapewire.schemas.codec import Codec

EMPTY = b""


class CheckedCodec(Codec):
    """:class:`Codec` whose ``encode`` checks and returns ``b""`` (``dlq.*``: real bytes)."""

    def encode(self, topic: str, record: Record) -> bytes:
        """Check ``record`` for ``topic``; empty bytes (dead letters are encoded)."""
        if topic.startswith("dlq."):
            return super().encode(topic, record)
        self.check(topic, record)
        return EMPTY

    def key(self, topic: str, record: Record) -> bytes:
        """No Kafka key: nothing is partitioned."""
        return EMPTY
