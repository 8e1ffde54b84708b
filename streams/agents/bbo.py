"""Faust glue of the bbo stage (:mod:`tapewire.streams.stages.bbo`)."""

from __future__ import annotations

from tapewire.streams.agents.base import TapewireApp
from tapewire.streams.agents.common import batched_agent
from tapewire.streams.aggregate import BboConfig, BookBbo
from tapewire.streams.stages.bbo import SOURCE, BboStage


def register_bbo(app: TapewireApp) -> BboStage:
    """Register the ``bbo`` agent for ``StreamsConfig.bbo_venues``."""
    config = app.streams_config
    stage = BboStage(app.codec, config.topics.name, BookBbo(BboConfig(config.bbo_venues)))
    batched_agent(app, config.topics.name(SOURCE), stage, stage.emitter, name="bbo")
    return stage
