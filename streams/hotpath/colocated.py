"""A connector in the trade process: its frames reach the hot path without a broker hop.

With ``colocate_connector`` (``docs/hot-path.md``, "Co-located connector") the trade
process runs the connector itself. Each frame is handed to the connector's producer for
``md.raw`` first (asynchronous: Kafka stays the record, and the normalize role makes
``md.quotes``, ``md.book``, ``md.trades`` from it as before), then normalized here by a
:class:`~tapewire.streams.stages.normalize.NormalizeStage` of this process and its market
records pushed straight into the trading graph (:meth:`HotPathWorker.push_local`). The
local records are not produced (the normalize role writes them), and the worker skips
the same venues' records when it reads them back from Kafka, so every tick is seen once.

Normalizer dead letters are left to the normalize role too (it reads the same frame from
``md.raw``): here they are only counted.
"""

from __future__ import annotations

from tapewire.schemas.codec import Codec
from tapewire.streams.hotpath.worker import LOCAL_MARKET_TOPICS, HotPathWorker
from tapewire.streams.stages.base import InMsg, safe_process
from tapewire.streams.stages.normalize import MarketsReader, NormalizeStage

RAW_LINGER_MS = 5
"""``linger.ms`` of the co-located connector's md.raw producer: md.raw is the record here,
not the order path, so its sends wait a little and batch instead of waking the client's
network thread in the middle of every in-process tick-to-order."""


class ColocatedFrames:
    """Called with each encoded RawFrame (key, value) of the in-process connector."""

    def __init__(
        self,
        worker: HotPathWorker,
        codec: Codec,
        venues: frozenset[str],
        markets_reader: MarketsReader | None = None,
    ) -> None:
        self.worker = worker
        self.stage = NormalizeStage(codec, worker.config.topics.name, markets_reader=markets_reader)
        self.canonical = worker.hot_path.graph.canonical
        self.wanted = LOCAL_MARKET_TOPICS & worker.hot_path.graph.inputs
        worker.local_venues = venues
        self.frames = 0
        self.records = 0
        self.dead_letters = 0

    def __call__(self, key: bytes, value: bytes) -> None:
        """Normalize one frame and run its market records through the trading graph."""
        self.frames += 1
        for out in safe_process(self.stage, self.stage.emitter, (InMsg(None, None, key, value),)):
            topic = self.canonical(out.topic)
            if topic in self.wanted:
                self.records += 1
                self.worker.push_local(topic, InMsg(None, None, out.key, out.value, out.record))
            elif topic.startswith("dlq."):
                self.dead_letters += 1
