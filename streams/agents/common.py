"""Faust glue shared by every agent: batches in, the stage, outputs delivered before commit."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tapewire.core import metrics
from tapewire.streams.agents.base import TapewireApp
from tapewire.streams.stages.base import (
    Emitter,
    InMsg,
    OutMsg,
    Stage,
    TopicMsg,
    TopicStage,
    safe_process,
    safe_topics,
)

log = logging.getLogger(__name__)


def batched_agent(
    app: TapewireApp, source: str, stage: Stage, emitter: Emitter, *, name: str
) -> None:
    """Register a Faust agent that feeds ``source`` to ``stage`` in batches.

    Events are acked (their offsets become committable) only after the batch body returns,
    i.e. after every output was delivered with ``acks=all``: at-least-once, with the
    idempotent producer preventing duplicates from producer retries.
    """
    config = app.streams_config
    channel = app.topic(source, value_serializer="raw", key_serializer="raw")
    batch_size = metrics.stream_batch_size.labels(name)
    process_seconds = metrics.stream_batch_seconds.labels(name, "process")
    send_seconds = metrics.stream_batch_seconds.labels(name, "send")
    processed = metrics.messages_processed.labels(name, source)
    produced: dict[str, Any] = {}
    # The pure cores run on one dedicated thread per agent: ccxt's offline REST path drives
    # its own private event loop (run_until_complete), which cannot run on Faust's loop,
    # and the cores' state is then only ever touched by that one thread, in batch order.
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"tapewire-{name}")
    app.executors.append(executor)

    async def agent(stream: Any) -> None:
        loop = asyncio.get_running_loop()
        async for events in stream.take_events(config.batch_size, within=config.batch_within_s):
            batch = [
                InMsg(e.message.partition, e.message.offset, e.message.key, e.message.value)
                for e in events
            ]
            t0 = time.perf_counter()
            out = await loop.run_in_executor(executor, safe_process, stage, emitter, batch)
            t1 = time.perf_counter()
            await send_all(app, out, produced, name)
            send_seconds.observe(time.perf_counter() - t1)
            process_seconds.observe(t1 - t0)
            batch_size.observe(len(batch))
            processed.inc(len(batch))

    app.agent(channel, name=name)(agent)


async def send_all(
    app: TapewireApp, out: Sequence[OutMsg], counters: dict[str, Any], stage: str
) -> None:
    """Produce ``out`` in order and wait until the broker acknowledged every message.

    A delivery failure (after the producer's own retries) crashes the app: the batch's
    offsets are not committed, so a restarted worker processes it again.
    """
    if not out:
        return
    send = app.producer.send
    futures = []
    counts: dict[str, int] = {}
    for topic, key, value, _ in out:
        futures.append(await send(topic, key, value, None, None, None))
        counts[topic] = counts.get(topic, 0) + 1
    try:
        await asyncio.gather(*futures)
    except Exception as exc:
        log.exception("%s: delivery failed; crashing so the batch is reprocessed", stage)
        await app.crash(exc)
        raise
    for topic, count in counts.items():
        counter = counters.get(topic)
        if counter is None:
            counter = counters[topic] = metrics.messages_produced.labels(stage, topic)
        counter.inc(count)


def topics_agent(
    app: TapewireApp, canonical: Sequence[str], stage: TopicStage, *, name: str
) -> None:
    """Register one Faust agent reading every topic of ``canonical`` into ``stage``.

    Same delivery contract as ``batched_agent``: outputs are delivered (acks=all,
    idempotent producer) before the batch's offsets become committable.
    """
    config = app.streams_config
    kafka_names = {config.topics.name(t): t for t in canonical}
    channel = app.topic(*kafka_names, value_serializer="raw", key_serializer="raw")
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"tapewire-{name}")
    app.executors.append(executor)
    produced: dict[str, Any] = {}
    batch_size = metrics.stream_batch_size.labels(name)
    process_seconds = metrics.stream_batch_seconds.labels(name, "process")

    async def agent(stream: Any) -> None:
        loop = asyncio.get_running_loop()
        async for events in stream.take_events(config.batch_size, within=config.batch_within_s):
            batch = [
                TopicMsg(
                    kafka_names.get(e.message.topic, e.message.topic),
                    e.message.partition,
                    e.message.offset,
                    e.message.key,
                    e.message.value,
                )
                for e in events
            ]
            t0 = time.perf_counter()
            out = await loop.run_in_executor(executor, safe_topics, stage, batch)
            process_seconds.observe(time.perf_counter() - t0)
            await send_all(app, out, produced, name)
            batch_size.observe(len(batch))
            for msg in batch:
                metrics.messages_processed.labels(name, msg.topic).inc()

    app.agent(channel, name=name)(agent)
