"""Faust glue of the consolidated depth stages (:mod:`tapewire.streams.stages.depth`)."""

from __future__ import annotations

from tapewire.streams.agents.base import TapewireApp
from tapewire.streams.agents.common import batched_agent
from tapewire.streams.stages.base import Stage
from tapewire.streams.stages.depth import REPARTITION, SOURCE, DepthStage, depth_rekey


def register_depth(app: TapewireApp) -> tuple[Stage, DepthStage]:
    """Register the ``depth-rekey`` and ``depth`` agents on ``app``."""
    config = app.streams_config
    name = config.topics.name
    rekey = depth_rekey(app.codec, name, config.nbbo)
    batched_agent(app, name(SOURCE), rekey, rekey.emitter, name="depth-rekey")
    depth = DepthStage(app.codec, name, config.depth, config.nbbo)
    batched_agent(app, name(REPARTITION), depth, depth.emitter, name="depth")
    return rekey, depth
