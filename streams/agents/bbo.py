"""BBO-from-book agent: ``md.book`` -> ``md.quotes`` (``source = BOOK``) through
:class:`BookBbo`, for venues without a BBO channel (``StreamsConfig.bbo_venues``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from schemas.codec import Codec
from streams.agents.common import Emitter, InMsg, OutMsg, batched_agent, decode_batch
from streams.aggregate import BboConfig, BookBbo

if TYPE_CHECKING:
    from streams.app import TapewireApp

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


def register_bbo(app: TapewireApp) -> BboStage:
    """Register the ``bbo`` agent for ``StreamsConfig.bbo_venues``."""
    config = app.streams_config
    stage = BboStage(app.codec, config.topics.name, BookBbo(BboConfig(config.bbo_venues)))
    batched_agent(app, config.topics.name(SOURCE), stage, stage.emitter, name="bbo")
    return stage
