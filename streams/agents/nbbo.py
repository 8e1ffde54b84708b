"""Faust glue of the nbbo stage (:mod:`tapewire.streams.stages.nbbo`)."""

from __future__ import annotations

from tapewire.streams.agents.base import TapewireApp
from tapewire.streams.agents.common import batched_agent
from tapewire.streams.stages.nbbo import REPARTITION, SOURCE, NbboStage, RekeyStage


def register_nbbo(app: TapewireApp) -> tuple[RekeyStage, NbboStage]:
    """Register the ``nbbo-rekey`` and ``nbbo`` agents on ``app``."""
    config = app.streams_config
    name = config.topics.name
    rekey = RekeyStage(app.codec, name, config.nbbo)
    batched_agent(app, name(SOURCE), rekey, rekey.emitter, name="nbbo-rekey")
    nbbo = NbboStage(app.codec, name, config=config.nbbo)
    batched_agent(app, name(REPARTITION), nbbo, nbbo.emitter, name="nbbo")
    return rekey, nbbo
