"""Backtests with the live code: stored market history from ClickHouse replayed through the
stages that trade live (NBBO, strategy, risk gate, router with paper venues, positions,
TCA),
in-process on a simulated clock, deterministically (``tapewire backtest``,
``docs/backtest.md``).

Modules: :mod:`.history` (stored events in replay order), :mod:`.engine` (the replay loop
over the hot path's stage graph), :mod:`.codec` (records checked, no Avro bytes),
:mod:`.stats` (PnL series, Sharpe, drawdown, turnover, fill ratio), :mod:`.tca` (the TCA
summary from the TCA stage's reports), :mod:`.report` (JSON, CSV, PNG, HTML),
:mod:`.store` (ClickHouse rows, migrations 0010 and 0011), :mod:`.sweep` (parameter
grids), :mod:`.run` (the command's body: processes, loading once, storing from the parent).

Layer: above :mod:`tapewire.deploy` (it reads the deployment file), below the CLI.
"""

from tapewire.backtest.engine import Outputs, SimClock, replay
from tapewire.backtest.history import MarketEvent, load_history
from tapewire.backtest.run import BacktestOptions, JobResult, run_backtest

__all__ = [
    "BacktestOptions",
    "JobResult",
    "MarketEvent",
    "Outputs",
    "SimClock",
    "load_history",
    "replay",
    "run_backtest",
]
