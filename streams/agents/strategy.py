"""Strategy agent: ``md.quotes``, ``md.nbbo``, ``md.trades``, ``oms.events`` -> ``oms.requests``.

Also home of the multi-topic shell the trading agents share (:func:`topics_agent`): like
:func:`streams.agents.common.batched_agent`, but one agent reads several topics (Faust
channel over many topics) and each message carries its topic, so one pure stage on one
thread owns the state that several inputs update (the risk gate needs requests *and*
NBBO; the router needs approvals *and* books). Kafka orders messages only within a
partition: across topics the stage sees them in arrival order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from schemas.codec import Codec
from streams.agents.common import Emitter, OutMsg, send_all
from streams.trading.config import TradingConfig
from streams.trading.strategy import Strategy
from tapewire import metrics
from tapewire.errors import ConfigError

if TYPE_CHECKING:
    from streams.app import TapewireApp

log = logging.getLogger(__name__)

DLQ = "dlq.trading"
INPUTS = ("md.quotes", "md.nbbo", "md.trades", "oms.events")


@dataclass(frozen=True, slots=True)
class TopicMsg:
    """One consumed message with its canonical topic (the prefix removed)."""

    topic: str
    partition: int | None
    offset: int | None
    key: bytes | None
    value: bytes | None


class TopicStage(Protocol):
    """A batch transformation over messages of several topics; never raises."""

    name: str
    emitter: Emitter

    def process(self, batch: Sequence[TopicMsg]) -> list[OutMsg]:
        """Outputs of one batch, in emission order."""
        ...


def decode_topics(
    codec: Codec, batch: Sequence[TopicMsg], emitter: Emitter
) -> list[tuple[TopicMsg, dict[str, Any]]]:
    """Decode every message with its topic's schema; failures become DeadLetters."""
    out: list[tuple[TopicMsg, dict[str, Any]]] = []
    for msg in batch:
        try:
            if msg.value is None:
                raise ValueError("tombstone (null value)")
            out.append((msg, codec.decode(msg.topic, msg.value)))
        except Exception as exc:
            emitter.dead(
                source_topic=msg.topic,
                payload=msg.value or b"",
                error_type="DecodeError",
                reason=f"{type(exc).__name__}: {exc}",
                labels={"partition": str(msg.partition), "offset": str(msg.offset)},
            )
    return out


def dead_record(emitter: Emitter, msg: TopicMsg, exc: Exception, stage: str) -> None:
    """A record the core refused (it raised): dead-letter it, keep going."""
    metrics.stream_agent_errors.labels(stage, type(exc).__name__).inc()
    emitter.dead(
        source_topic=msg.topic,
        payload=msg.value or b"",
        error_type=type(exc).__name__,
        reason=f"{stage}: {exc}",
        labels={"partition": str(msg.partition), "offset": str(msg.offset)},
    )


def safe_topics(stage: TopicStage, batch: Sequence[TopicMsg]) -> list[OutMsg]:
    """``stage.process(batch)``; an unexpected error dead-letters the whole batch."""
    try:
        return stage.process(batch)
    except Exception as exc:
        metrics.stream_agent_errors.labels(stage.name, type(exc).__name__).inc()
        log.exception("%s: batch of %d failed; dead-lettered", stage.name, len(batch))
        stage.emitter.take()
        for msg in batch:
            dead_record(stage.emitter, msg, exc, stage.name)
        return stage.emitter.take()


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


class StrategyStage:
    """Market records and own order events -> ``OrderRequest`` records on ``oms.requests``."""

    name = "strategy"

    def __init__(
        self,
        codec: Codec,
        strategies: Sequence[Strategy],
        kafka_name: Callable[[str], str] = str,
    ) -> None:
        self.codec = codec
        self.strategies = list(strategies)
        self.emitter = Emitter(codec, self.name, kafka_name, DLQ)

    def process(self, batch: Sequence[TopicMsg]) -> list[OutMsg]:
        """Feed each record to every strategy in order; emit their intents."""
        emitter = self.emitter
        for msg, record in decode_topics(self.codec, batch, emitter):
            for strategy in self.strategies:
                try:
                    intents = strategy.on_record(msg.topic, record)
                except Exception as exc:
                    dead_record(emitter, msg, exc, f"{self.name}:{strategy.strategy_id}")
                    continue
                for intent in intents:
                    metrics.trading_intents.labels(strategy.strategy_id).inc()
                    emitter.emit("oms.requests", intent.to_record())
        return emitter.take()


def register_strategy(app: TapewireApp, strategies: Sequence[Strategy] | None = None) -> None:
    """Register the ``strategy`` agent (strategies from ``StreamsConfig.trading``)."""
    trading = trading_config(app)
    built = list(strategies) if strategies is not None else [f() for f in trading.strategies]
    stage = StrategyStage(app.codec, built, app.streams_config.topics.name)
    topics_agent(app, INPUTS, stage, name="strategy")


def trading_config(app: TapewireApp) -> TradingConfig:
    """``app.streams_config.trading``, or a :class:`ConfigError` naming the field."""
    trading = app.streams_config.trading
    if trading is None:
        raise ConfigError(
            "the trading agents need StreamsConfig.trading",
            field="trading",
            hint="pass StreamsConfig(trading=TradingConfig(risk=RiskConfig(...), ...))",
        )
    return trading
