"""Performance statistics on hand-made series: equity, Sharpe, drawdown, daily PnL."""

from __future__ import annotations

import math
from decimal import Decimal

from tapewire.backtest.engine import Sample
from tapewire.backtest.stats import (
    YEAR_NS,
    daily,
    equity_by_currency,
    max_drawdown,
    performance,
    pnl_series,
    sharpe,
    text,
)
from tapewire.records.positions import Position

D = Decimal
SECOND = 1_000_000_000
DAY = 86_400 * SECOND


def _position(venue: str, realized: str, unrealized: str, fees: str) -> Position:
    return Position(
        account="acct",
        venue=venue,
        instrument="BTC-USDT-SPOT",
        quantity=D("0.01"),
        realized_pnl=D(realized),
        unrealized_pnl=D(unrealized),
        fees=D(fees),
        pnl_currency="USDT",
        update_ts_ns=0,
    )


def test_equity_sums_venues_and_drawdown_runs_from_the_peak() -> None:
    samples = [
        Sample(1 * SECOND, ()),
        Sample(2 * SECOND, (_position("binance", "0", "3", "1"), _position("okx", "1", "0", "0"))),
        Sample(3 * SECOND, (_position("binance", "0", "-1", "1"), _position("okx", "1", "0", "0"))),
    ]
    points = pnl_series(samples)
    assert [(p.ts_ns, p.total, p.drawdown) for p in points] == [
        (2 * SECOND, D(3), D(0)),
        (3 * SECOND, D(-1), D(4)),
    ]
    equity = equity_by_currency(points, [s.ts_ns for s in samples])
    assert equity == {"USDT": [(SECOND, D(0)), (2 * SECOND, D(3)), (3 * SECOND, D(-1))]}
    assert max_drawdown(equity["USDT"]) == D(4)


def test_sharpe_is_the_annualised_mean_over_std_of_increments() -> None:
    equity = [(i * SECOND, D(v)) for i, v in enumerate(["1", "3", "2", "5"], start=1)]
    steps = [1.0, 2.0, -1.0, 3.0]  # from 0, then each increment
    mean = sum(steps) / 4
    std = math.sqrt(sum((s - mean) ** 2 for s in steps) / 3)
    expected = round(mean / std * math.sqrt(YEAR_NS / SECOND), 6)
    assert sharpe(equity, SECOND) == expected


def test_sharpe_is_none_without_variation_or_increments() -> None:
    assert sharpe([(SECOND, D(1))], SECOND) is None
    assert sharpe([(SECOND, D(0)), (2 * SECOND, D(0))], SECOND) is None


def test_daily_pnl_is_the_change_of_each_days_last_equity() -> None:
    start = 1_704_067_200 * SECOND  # 2024-01-01T00:00:00Z
    equity = [(start + SECOND, D(5)), (start + DAY - 1, D(7)), (start + DAY + 1, D(4))]
    assert daily(equity) == {"2024-01-01": D(7), "2024-01-02": D(-3)}


def test_performance_reports_exact_text() -> None:
    samples = [Sample(SECOND, (_position("okx", "0.10", "0.020", "0.0050"),))]
    figures = performance(pnl_series(samples), [SECOND], SECOND)["USDT"]
    assert figures["total_pnl"] == "0.115"
    assert figures["fees"] == "0.005"
    assert figures["by_account"] == {"acct": "0.115"}
    assert text(D("1E+3")) == "1000"
    assert text(D("0E-18")) == "0"
