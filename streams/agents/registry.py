"""Which agents exist and how they are registered on an app."""

from __future__ import annotations

from collections.abc import Sequence

from tapewire.streams.agents.bars import register_bars
from tapewire.streams.agents.base import TapewireApp
from tapewire.streams.agents.bbo import register_bbo
from tapewire.streams.agents.depth import register_depth
from tapewire.streams.agents.nbbo import register_nbbo
from tapewire.streams.agents.normalize import register_normalize
from tapewire.streams.agents.positions import register_positions
from tapewire.streams.agents.risk import register_risk
from tapewire.streams.agents.router import register_router
from tapewire.streams.agents.sor import register_sor
from tapewire.streams.agents.strategy import register_strategy
from tapewire.streams.agents.tca import register_tca


def register(app: TapewireApp, agents: Sequence[str]) -> None:
    """Register the named agents (``normalize``, ``bars``, ``nbbo``, ``depth``, ``bbo``,
    ``strategy``, ``risk``, ``router``, ``positions``, ``sor``, ``tca``) on ``app``."""
    if "normalize" in agents:
        register_normalize(app)
    if "bars" in agents:
        register_bars(app)
    if "nbbo" in agents:
        register_nbbo(app)
    if "depth" in agents:
        register_depth(app)
    if "bbo" in agents and app.streams_config.bbo_venues:
        register_bbo(app)
    if "strategy" in agents:
        register_strategy(app)
    if "risk" in agents:
        register_risk(app)
    if "router" in agents:
        register_router(app)
    if "positions" in agents:
        register_positions(app)
    if "sor" in agents:
        register_sor(app)
    if "tca" in agents:
        register_tca(app)
