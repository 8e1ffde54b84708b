"""Faust glue of the positions stage (:mod:`tapewire.streams.stages.positions`)."""

from __future__ import annotations

from tapewire.streams.agents.base import TapewireApp
from tapewire.streams.agents.common import topics_agent
from tapewire.streams.agents.strategy import trading_config
from tapewire.streams.stages.positions import INPUTS, PositionsStage


def register_positions(app: TapewireApp) -> PositionsStage:
    """Register the ``positions`` agent."""
    config = app.streams_config
    trading = trading_config(app)
    stage = PositionsStage(
        app.codec, trading.position_limits, config.topics.name, config.nbbo.consolidated_id
    )
    topics_agent(app, INPUTS, stage, name="positions")
    return stage
