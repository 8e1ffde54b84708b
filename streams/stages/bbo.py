"""BBO-from-book stage: ``md.book`` -> ``md.quotes`` (``source = BOOK``) through
:class:`BookBbo`, for venues without a BBO channel (``StreamsConfig.bbo_venues``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tapewire.schemas.codec import Codec
from tapewire.streams.aggregate import BookBbo
from tapewire.streams.stages.base import Emitter, InMsg, OutMsg, decode_batch

SOURCE = "md.book"
DLQ = "dlq.aggregate"


class BboStage:
    """One batch of BookUpdate bytes -> encoded Quote records on top-of-book change."""

    name = "bbo"
    source_topic = SOURCE

    def __init__(
        self, codec: Codec, kafka_name: Callable[[str], str] = str, bbo: BookBbo | None = None
    ) -> None:
        self.codec = codec
        self.bbo = bbo or BookBbo()
        self.emitter = Emitter(codec, self.name, kafka_name, DLQ)

    def process(self, batch: Sequence[InMsg]) -> list[OutMsg]:
        """Apply each update in order; emit changed tops, dead-letter rejected updates."""
        emitter, bbo = self.emitter, self.bbo
        venues = bbo.config.venues
        for msg in batch:
            if venues is not None and msg.key is not None:
                venue = msg.key.split(b":", 1)[0].decode(errors="replace")
                if venue not in venues:  # skip without decoding: most books have a BBO channel
                    continue
            for _, update in decode_batch(self.codec, SOURCE, (msg,), emitter):
                quote = bbo.add(update)
                if quote is not None:
                    emitter.emit("md.quotes", quote)
                for rejected in bbo.drain_rejected():
                    emitter.rejected(rejected, SOURCE, msg)
        return emitter.take()
