"""Configuration of the trading agents (strategy, risk, router, positions)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tapewire.streams.execution.paper import PaperConfig
from tapewire.streams.risk import RiskConfig
from tapewire.streams.trading.positions import PositionLimits
from tapewire.streams.trading.shard import ALL_ACCOUNTS, AccountShard
from tapewire.streams.trading.strategy import Strategy

KILL_SWITCH_TAG = "trading_state"
"""Tag of a CANCEL_ALL request that is a trading-state command (see ``docs/trading.md``)."""
RISK_LIMITS_TAG = "risk_limits"
"""Tag of a CANCEL_ALL request that replaces an account's risk limits: its value is the
``AccountLimits`` as JSON (see ``docs/risk.md``)."""


@dataclass(frozen=True)
class TradingConfig:
    """What the trading agents need; ``StreamsConfig.trading`` carries it.

    ``risk`` is required (no implicit limits: without accounts every request is denied).
    ``paper_venues`` are the venues the router trades on (one :class:`PaperVenue` each,
    fed from ``md.book`` and ``md.trades``). ``strategies`` are factories (a strategy
    holds state, so each worker builds its own). ``clock`` is the risk gate's clock.
    """

    risk: RiskConfig
    paper_venues: tuple[PaperConfig, ...] = ()
    strategies: tuple[Callable[[], Strategy], ...] = ()
    position_limits: PositionLimits = field(default_factory=PositionLimits)
    clock: Callable[[], int] = time.time_ns
    shard: AccountShard | None = None
    """The accounts this process owns when trading is sharded (``streams/trading/shard.py``);
    None: every request is decided here."""
    remote_venues: frozenset[str] = frozenset()
    """Venues another process executes (the ``router`` role's ccxt venues): this router
    leaves their approvals to it, and their ``oms.events``/``oms.fills`` are read back from
    Kafka for risk, positions and strategies (``docs/deployment.md``, "Live venues")."""


__all__ = ["ALL_ACCOUNTS", "KILL_SWITCH_TAG", "RISK_LIMITS_TAG", "AccountShard", "TradingConfig"]
