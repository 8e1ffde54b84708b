"""The ``trade`` role with its connector in-process (``colocate_connector = true``).

The hot-path worker runs in a thread of its own; once it reads its partitions, the
``[connector]`` source starts with a tap (:class:`~tapewire.streams.hotpath.colocated.
ColocatedFrames`): each frame is produced to ``md.raw`` (asynchronous, the record) and
then normalized and run through the trading graph in the connector's thread. On stop the
connector stops first (its frames flushed to ``md.raw``), then the worker (its outputs
flushed, its offsets committed). A ccxt.pro connector's frames are handed to one
dedicated thread: ccxt's offline parsing runs its own event loop, which cannot run
inside the connector's.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading

from tapewire.connectors.capture.paced import SimulatorFeed
from tapewire.connectors.live.connector import LiveConnector
from tapewire.connectors.live.sink import KafkaRawSink
from tapewire.core.errors import KafkaRuntimeError
from tapewire.deploy.config import ConnectorSection
from tapewire.runtime.kafka_io import read_markets
from tapewire.schemas.codec import Codec
from tapewire.streams.hotpath.colocated import RAW_LINGER_MS, ColocatedFrames
from tapewire.streams.hotpath.worker import HotPathWorker

log = logging.getLogger("tapewire.deploy")
START_TIMEOUT_S = 120.0


def run_colocated(
    worker: HotPathWorker,
    section: ConnectorSection,
    bootstrap: str,
    codec: Codec,
    stop: threading.Event,
) -> None:
    """Run ``worker`` and the connector of ``section`` feeding it until ``stop``."""
    worker_stop, ready = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    def work() -> None:
        try:
            worker.run(worker_stop, ready)
        except BaseException as exc:  # reported in the role's thread
            failure.append(exc)
            stop.set()

    thread = threading.Thread(target=work, name="tapewire-trade-hotpath", daemon=True)
    thread.start()
    try:
        if not ready.wait(START_TIMEOUT_S) and not failure:
            raise KafkaRuntimeError(
                f"trade: the hot path did not start within {START_TIMEOUT_S:.0f} s",
                hint="check the broker (tapewire kafka status)",
            )
        if not failure:
            _run_source(worker, section, bootstrap, codec, stop)
    finally:
        worker_stop.set()
        thread.join()
        stats = worker.stats
        log.info(
            "trade: %d market record(s) in-process, %d of the same venues skipped on Kafka, "
            "%d message(s) from Kafka",
            stats.local,
            stats.skipped_local,
            stats.consumed,
        )
    if failure:
        raise failure[0]


def _frames(worker: HotPathWorker, codec: Codec, venues: frozenset[str]) -> ColocatedFrames:
    markets = worker.config.topics.markets
    return ColocatedFrames(
        worker,
        codec,
        venues,
        markets_reader=lambda: read_markets(worker.bootstrap, markets, codec),
    )


def _run_source(
    worker: HotPathWorker,
    section: ConnectorSection,
    bootstrap: str,
    codec: Codec,
    stop: threading.Event,
) -> None:
    topics = worker.config.topics
    source = section.source
    if source.kind == "simulator":

        def tap(key: bytes, value: bytes) -> None:
            frames(key, value)  # bound below, before the feed starts

        feed = SimulatorFeed(
            bootstrap,
            seed=source.seed,
            rate=source.rate,
            max_frames=source.max_frames,
            codec=codec,
            topic=topics.raw,
            markets_topic=topics.markets,
            spread_ticks=source.spread_ticks,
            start_ns=source.start_ns,
            tap=tap,
        )
        frames = _frames(worker, codec, feed.venues)
        log.info("trade: connector in-process for %s", sorted(feed.venues))
        feed.start()
        try:
            while not stop.wait(0.5) and not feed.stats.done:
                pass
            stop.wait()  # a finished feed leaves the trade process running
        finally:
            feed.stop()
        log.info(
            "trade: %d frames to %s, %d in-process (%d market records)",
            feed.stats.delivered,
            topics.raw,
            frames.frames,
            frames.records,
        )
        return
    venues = frozenset(e.exchange for e in source.exchanges)
    frames = _frames(worker, codec, venues)
    handoff: queue.SimpleQueue[tuple[bytes, bytes] | None] = queue.SimpleQueue()

    def drain() -> None:
        while (item := handoff.get()) is not None:
            frames(*item)

    drainer = threading.Thread(target=drain, name="tapewire-trade-frames", daemon=True)
    drainer.start()
    log.info("trade: connector in-process for %s", sorted(venues))

    async def live() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        threading.Thread(
            target=lambda: (stop.wait(), loop.call_soon_threadsafe(stopping.set)), daemon=True
        ).start()
        sinks = [
            KafkaRawSink(
                bootstrap,
                codec=codec,
                topic=topics.raw,
                markets_topic=topics.markets,
                tap=lambda key, value: handoff.put((key, value)),
                extra={"linger.ms": RAW_LINGER_MS},
            )
            for _ in source.exchanges
        ]
        try:
            await asyncio.gather(
                *(
                    LiveConnector(exchange, sink).run(stopping)
                    for exchange, sink in zip(source.exchanges, sinks, strict=True)
                )
            )
        finally:
            for sink in sinks:
                sink.flush()

    try:
        asyncio.run(live())
    finally:
        handoff.put(None)
        drainer.join()
