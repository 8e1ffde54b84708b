"""Faust glue of the normalize stage (:mod:`tapewire.streams.stages.normalize`)."""

from __future__ import annotations

from collections.abc import Set
from typing import Any

from tapewire.runtime.kafka_io import peek_raw_markets, read_markets
from tapewire.streams.agents.base import TapewireApp
from tapewire.streams.agents.common import batched_agent
from tapewire.streams.stages.normalize import MARKETS, NormalizeStage


def register_normalize(app: TapewireApp) -> NormalizeStage:
    """Register the ``normalize`` agent on ``app``."""
    topics = app.streams_config.topics
    bootstrap = ",".join(f"{url.host}:{url.port}" for url in app.conf.broker)
    markets_topic = topics.name(MARKETS)
    codec = app.codec

    def reader() -> list[dict[str, Any]]:
        return read_markets(bootstrap, markets_topic, codec)

    raw_topic = topics.raw
    group = app.conf.id  # Faust's consumer group

    def raw_reader(venues: Set[str]) -> list[dict[str, Any]]:
        return peek_raw_markets(bootstrap, raw_topic, group, codec, venues)

    stage = NormalizeStage(
        app.codec, topics.name, markets_reader=reader, raw_markets_reader=raw_reader
    )

    def on_revoked(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        revoked: Set[Any] = args[0] if args else set()
        stage.partitions_revoked({tp.partition for tp in revoked if tp.topic == raw_topic})

    app.on_partitions_revoked.connect(on_revoked)
    batched_agent(app, raw_topic, stage, stage.emitter, name="normalize")
    return stage
