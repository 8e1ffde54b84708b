"""Faust glue of the bars stage (:mod:`tapewire.streams.stages.bars`)."""

from __future__ import annotations

from tapewire.streams.agents.base import TapewireApp
from tapewire.streams.agents.common import batched_agent
from tapewire.streams.stages.bars import SOURCE, BarsStage


def register_bars(app: TapewireApp) -> BarsStage:
    """Register the ``bars`` agent on ``app``."""
    config = app.streams_config
    stage = BarsStage(app.codec, config.topics.name, config=config.bars)
    batched_agent(app, config.topics.name(SOURCE), stage, stage.emitter, name="bars")
    return stage
