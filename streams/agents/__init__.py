"""Faust agents: thin shells that wire the pure cores to topics (see ``docs/streams.md``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from streams.agents.bars import BarsStage, register_bars
from streams.agents.bbo import BboStage, register_bbo
from streams.agents.common import InMsg, OutMsg, Stage
from streams.agents.nbbo import NbboStage, RekeyStage, register_nbbo
from streams.agents.normalize import NormalizeStage, register_normalize
from streams.agents.positions import PositionsStage, register_positions
from streams.agents.risk import RiskStage, register_risk
from streams.agents.router import PaperVenueAdapter, RouterStage, Venue, register_router
from streams.agents.strategy import StrategyStage, TopicMsg, register_strategy

if TYPE_CHECKING:
    from streams.app import TapewireApp

__all__ = [
    "BarsStage",
    "BboStage",
    "InMsg",
    "NbboStage",
    "NormalizeStage",
    "OutMsg",
    "PaperVenueAdapter",
    "PositionsStage",
    "RekeyStage",
    "RiskStage",
    "RouterStage",
    "Stage",
    "StrategyStage",
    "TopicMsg",
    "Venue",
    "register",
]


def register(app: TapewireApp, agents: Sequence[str]) -> None:
    """Register the named agents (``normalize``, ``bars``, ``nbbo``, ``bbo``,
    ``strategy``, ``risk``, ``router``, ``positions``) on ``app``."""
    if "normalize" in agents:
        register_normalize(app)
    if "bars" in agents:
        register_bars(app)
    if "nbbo" in agents:
        register_nbbo(app)
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
