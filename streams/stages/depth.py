"""Consolidated depth stages: ``md.book`` -> (re-key) -> ``md.book.by-consolidated`` ->
``md.depth``.

A consolidated id's depth needs every venue's book in one worker, but ``md.book`` is keyed
``venue:instrument``. As for the NBBO, ``depth-rekey`` (a :class:`RekeyStage`) copies each
update, bytes unchanged, to an internal topic keyed by consolidated id; ``depth`` feeds it
to a :class:`DepthPublisher` and publishes the top N levels per venue, fee-adjusted, of
every consolidated id the batch changed: one snapshot per id per batch (the last state:
a batch conflates), none when the published levels did not change. Each venue's updates
keep their order (one source partition -> one target partition).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tapewire.schemas.codec import Codec
from tapewire.streams.aggregate import DepthConfig, DepthPublisher, NbboConfig
from tapewire.streams.stages.base import Emitter, InMsg, OutMsg, decode_batch
from tapewire.streams.stages.nbbo import RekeyStage

SOURCE = "md.book"
REPARTITION = "md.book.by-consolidated"
OUTPUT = "md.depth"
DLQ = "dlq.aggregate"


def depth_rekey(
    codec: Codec, kafka_name: Callable[[str], str] = str, config: NbboConfig | None = None
) -> RekeyStage:
    """The ``depth-rekey`` stage: ``md.book`` re-keyed by consolidated id."""
    return RekeyStage(
        codec, kafka_name, config, source=SOURCE, target=REPARTITION, name="depth-rekey"
    )


class DepthStage:
    """Book update bytes (grouped by consolidated id) -> ConsolidatedDepth records."""

    name = "depth"
    source_topic = REPARTITION

    def __init__(
        self,
        codec: Codec,
        kafka_name: Callable[[str], str] = str,
        config: DepthConfig | None = None,
        nbbo: NbboConfig | None = None,
        publisher: DepthPublisher | None = None,
    ) -> None:
        self.codec = codec
        self.publisher = publisher or DepthPublisher(config, nbbo)
        self.emitter = Emitter(codec, self.name, kafka_name, DLQ)

    def process(self, batch: Sequence[InMsg]) -> list[OutMsg]:
        """Apply each update in order, then emit the depth of every id it changed."""
        emitter, publisher = self.emitter, self.publisher
        touched: dict[str, None] = {}
        for msg, update in decode_batch(self.codec, SOURCE, batch, emitter):
            group = publisher.add(update)
            if group is not None:
                touched[group] = None
            for rejected in publisher.drain_rejected():
                emitter.rejected(rejected, SOURCE, msg)
        for group in touched:
            snapshot = publisher.snapshot(group)
            if snapshot is not None:
                emitter.emit(OUTPUT, snapshot)
        return emitter.take()
