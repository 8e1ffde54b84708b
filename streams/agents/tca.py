"""Faust glue of the TCA stage (:mod:`tapewire.streams.stages.tca`)."""

from __future__ import annotations

from tapewire.streams.agents.base import TapewireApp
from tapewire.streams.agents.common import topics_agent
from tapewire.streams.stages.tca import INPUTS, TcaStage


def register_tca(app: TapewireApp) -> TcaStage:
    """Register the ``tca`` agent."""
    config = app.streams_config
    stage = TcaStage(app.codec, config.tca, config.topics.name, config.nbbo.consolidated_id)
    topics_agent(app, INPUTS, stage, name="tca")
    return stage
