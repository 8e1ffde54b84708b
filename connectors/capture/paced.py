"""The market simulator paced in wall-clock time, published to ``md.raw`` (the demo and
the ``connector`` role of a deployment with a simulator source)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from tapewire.connectors.capture.simulated import raw_frames
from tapewire.connectors.markets import MARKETS_TOPIC, is_venue_metadata
from tapewire.connectors.simulator import MarketSimulator, SimConfig
from tapewire.core.errors import KafkaRuntimeError
from tapewire.core.kafka import producer_config
from tapewire.schemas.codec import Codec

RAW_TOPIC = "md.raw"


def feed_producer_config(bootstrap: str) -> dict[str, Any]:
    """Idempotent, batching producer settings shared by the demo's publishers."""
    return producer_config(bootstrap) | {
        "linger.ms": 5,
        # No compression: Faust's consumer (aiokafka) reads lz4/zstd only with extra
        # libraries, and on loopback compression costs more CPU than it saves.
    }


@dataclass
class FeedStats:
    """What a feed has published so far (read by the progress display)."""

    produced: int = 0
    delivered: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    done: bool = False


FrameTap = Callable[[bytes, bytes], None]
"""Called with (key, value) of each frame right after it is handed to the producer."""


class SimulatorFeed:
    """Publishes a seeded simulator run to ``md.raw`` at ``rate`` frames per second;
    ``tap`` also receives every encoded frame, in the feed's thread (a co-located hot
    path, ``docs/hot-path.md``)."""

    def __init__(
        self,
        bootstrap: str,
        *,
        seed: int,
        rate: int,
        max_frames: int | None,
        codec: Codec,
        topic: str = RAW_TOPIC,
        markets_topic: str | None = None,
        spread_ticks: int = 1,
        start_ns: int | None = None,
        tap: FrameTap | None = None,
    ) -> None:
        self._bootstrap = bootstrap
        self._tap = tap
        self._rate = rate
        self._topic = topic
        self._markets_topic = markets_topic
        self._codec = codec
        # Simulated time starts now (ms-aligned, as venues stamp), so bars and dashboards
        # line up with the wall clock; ground truth is off to keep memory flat.
        if start_ns is None:
            start_ns = time.time_ns() // 1_000_000 * 1_000_000
        self._sim = MarketSimulator(
            SimConfig(
                seed=seed,
                n_frames=max_frames,
                endless=max_frames is None,
                rate=rate,
                start_ns=start_ns,
                ground_truth=False,
                spread_ticks=spread_ticks,
            )
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tapewire-sim-feed", daemon=True)
        self.stats = FeedStats()

    def start(self) -> SimulatorFeed:
        """Start publishing in a background thread."""
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop publishing and wait until every produced frame is delivered."""
        self._stop.set()
        self._thread.join(timeout=timeout_s)

    @property
    def venues(self) -> frozenset[str]:
        """The simulated venues (the ``venue`` of every frame)."""
        return frozenset(v.name for v in self._sim.config.venues)

    def _records(self) -> Iterator[dict[str, Any]]:
        return raw_frames(self._sim.frames(), connection="demo")

    def _run(self) -> None:
        producer = Producer(feed_producer_config(self._bootstrap))
        serde = self._codec.for_topic(RAW_TOPIC)  # by schema topic: self._topic may be prefixed
        stats = self.stats

        def on_delivery(err: KafkaError | None, _msg: Message) -> None:
            if err is None:
                stats.delivered += 1
            else:
                stats.failed += 1
                if len(stats.errors) < 5:
                    stats.errors.append(str(err))

        started = time.monotonic()
        try:
            for record in self._records():
                if self._stop.is_set():
                    break
                # Pace in wall-clock time: frame n is due at n / rate seconds after start.
                due = started + stats.produced / self._rate
                delay = due - time.monotonic()
                if delay > 0.002:
                    producer.poll(0)
                    if self._stop.wait(delay):
                        break
                value = serde.encode(record)
                if self._markets_topic is not None and is_venue_metadata(record):
                    key = self._codec.key(MARKETS_TOPIC, record)
                    _produce(producer, self._markets_topic, value, key, None)
                key = self._codec.key(RAW_TOPIC, record)
                _produce(producer, self._topic, value, key, on_delivery)
                if self._tap is not None:  # in-process consumer (a co-located hot path)
                    self._tap(key, value)
                stats.produced += 1
                producer.poll(0)
        finally:
            remaining = producer.flush(30)
            if remaining:
                stats.errors.append(f"{remaining} frame(s) undelivered at shutdown")
            stats.done = True
        if stats.failed:
            raise KafkaRuntimeError(f"{stats.failed} frame(s) failed: {stats.errors}")


def _produce(
    producer: Producer,
    topic: str,
    value: bytes,
    key: bytes,
    on_delivery: Callable[[KafkaError | None, Message], None] | None,
) -> None:
    while True:
        try:
            producer.produce(topic, value, key, on_delivery=on_delivery)
            return
        except BufferError:
            producer.poll(0.05)
