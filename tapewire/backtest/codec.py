"""The backtest's codec: no Avro bytes; records checked against their schemas on demand.

The stages encode what they emit (:class:`~tapewire.streams.stages.base.Emitter`); in a
backtest nothing goes to Kafka, so :class:`CheckedCodec` returns empty bytes and the typed
record travels on to the next stage as it does in the fused hot path. With ``check`` it
first runs the codec's checks (:meth:`~tapewire.schemas.codec.Codec.check`: the record
would encode), so a record the live path would dead-letter is dead-lettered here too;
without, the records the stages built are trusted (what ``tapewire backtest`` runs: the
checks cost about an eighth of the replay; the tests replay both ways and compare). Dead
letters themselves are encoded (rare), so the report can read them back.
"""

from __future__ import annotations

from tapewire.core.records import Record
from tapewire.schemas.codec import Codec

EMPTY = b""


class CheckedCodec(Codec):
    """:class:`Codec` whose ``encode`` returns ``b""`` (``dlq.*``: real bytes), after the
    schema check when ``check``."""

    def __init__(self, *, check: bool = True) -> None:
        super().__init__()
        self.checks = check

    def encode(self, topic: str, record: Record) -> bytes:
        """Check ``record`` for ``topic`` (if ``check``); empty bytes (dead letters are
        encoded)."""
        if topic.startswith("dlq."):
            return super().encode(topic, record)
        if self.checks:
            self.check(topic, record)
        return EMPTY

    def key(self, topic: str, record: Record) -> bytes:
        """No Kafka key: nothing is partitioned."""
        return EMPTY
