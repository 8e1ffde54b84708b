"""Faust glue of the risk stage (:mod:`tapewire.streams.stages.risk`)."""

from __future__ import annotations

from tapewire.streams.agents.base import TapewireApp
from tapewire.streams.agents.common import topics_agent
from tapewire.streams.agents.strategy import trading_config
from tapewire.streams.stages.risk import INPUTS, RiskStage


def register_risk(app: TapewireApp) -> RiskStage:
    """Register the ``risk`` agent (config from ``StreamsConfig.trading``)."""
    config = app.streams_config
    trading = trading_config(app)
    stage = RiskStage(
        app.codec, trading.risk, trading.clock, config.topics.name, config.nbbo.consolidated_id
    )
    topics_agent(app, INPUTS, stage, name="risk")
    return stage
