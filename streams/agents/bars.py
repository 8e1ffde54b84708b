"""Faust glue of the bars stage (:mod:`streams.stages.bars`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tapewire.streams.agents.common import batched_agent
from tapewire.streams.stages.bars import SOURCE, BarsStage

if TYPE_CHECKING:
    from tapewire.streams.agents.app import TapewireApp


def register_bars(app: TapewireApp) -> BarsStage:
    """Register the ``bars`` agent on ``app``."""
    config = app.streams_config
    stage = BarsStage(app.codec, config.topics.name, config=config.bars)
    batched_agent(app, config.topics.name(SOURCE), stage, stage.emitter, name="bars")
    return stage
