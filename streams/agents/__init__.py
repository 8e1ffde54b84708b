"""Faust agents: thin shells that wire the pure cores to topics (see ``docs/streams.md``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from streams.agents.bars import BarsStage, register_bars
from streams.agents.bbo import BboStage, register_bbo
from streams.agents.common import InMsg, OutMsg, Stage
from streams.agents.nbbo import NbboStage, RekeyStage, register_nbbo
from streams.agents.normalize import NormalizeStage, register_normalize

if TYPE_CHECKING:
    from streams.app import TapewireApp

__all__ = [
    "BarsStage",
    "BboStage",
    "InMsg",
    "NbboStage",
    "NormalizeStage",
    "OutMsg",
    "RekeyStage",
    "Stage",
    "register",
]


def register(app: TapewireApp, agents: Sequence[str]) -> None:
    """Register the named agents (``normalize``, ``bars``, ``nbbo``, ``bbo``) on ``app``."""
    if "normalize" in agents:
        register_normalize(app)
    if "bars" in agents:
        register_bars(app)
    if "nbbo" in agents:
        register_nbbo(app)
    if "bbo" in agents and app.streams_config.bbo_venues:
        register_bbo(app)
