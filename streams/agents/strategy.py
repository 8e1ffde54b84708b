"""Faust glue of the strategy stage (:mod:`tapewire.streams.stages.strategy`)."""

from __future__ import annotations

from collections.abc import Sequence

from tapewire.core.errors import ConfigError
from tapewire.streams.agents.base import TapewireApp
from tapewire.streams.agents.common import topics_agent
from tapewire.streams.stages.strategy import INPUTS, StrategyStage
from tapewire.streams.trading.config import TradingConfig
from tapewire.streams.trading.strategy import Strategy


def register_strategy(app: TapewireApp, strategies: Sequence[Strategy] | None = None) -> None:
    """Register the ``strategy`` agent (strategies from ``StreamsConfig.trading``)."""
    trading = trading_config(app)
    built = list(strategies) if strategies is not None else [f() for f in trading.strategies]
    stage = StrategyStage(app.codec, built, app.streams_config.topics.name)
    topics_agent(app, INPUTS, stage, name="strategy")


def trading_config(app: TapewireApp) -> TradingConfig:
    """``app.streams_config.trading``, or a :class:`ConfigError` naming the field."""
    trading = app.streams_config.trading
    if trading is None:
        raise ConfigError(
            "the trading agents need StreamsConfig.trading",
            field="trading",
            hint="pass StreamsConfig(trading=TradingConfig(risk=RiskConfig(...), ...))",
        )
    return trading
