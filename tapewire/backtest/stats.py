"""Performance statistics of one replay: PnL series, daily PnL, Sharpe, drawdown, turnover,
fees, fill ratio.

Everything is computed from the recorded outputs (:class:`~tapewire.backtest.engine.Outputs`)
in exact decimals, except the Sharpe ratio (a float, rounded to 6 places for the report).

* **Equity** per (account, currency) at each sample: the sum over that account's positions
  in that PnL currency of realized + unrealized - fees (:class:`Position` records, marked to
  the NBBO mid by the live positions stage).
* **Sharpe** per currency: the equity increments between consecutive samples, mean over
  sample standard deviation, annualised by ``sqrt(samples per year)`` with a year of
  365 days (crypto trades every day, around the clock): at ``--interval 1s`` that is
  ``sqrt(31,536,000)``. No capital is configured, so this is the Sharpe of PnL increments,
  which equals the Sharpe of returns on any fixed capital (the ratio is scale-free); no
  risk-free rate. ``null`` when fewer than two increments or no variation.
* **Max drawdown** per currency: the largest fall of equity from its running peak (peak
  starts at 0, before the first trade), in the currency.
* **Daily PnL** per currency: equity at the last sample of each UTC day minus the previous
  day's (the first day starts from 0).
* **Turnover**: traded notional (price x quantity of every fill) per quote currency;
  **fees** per fee currency; **fill ratio**: filled quantity / quantity of the approved
  NEW orders.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import reduce
from typing import Any

from tapewire.backtest.engine import Outputs, Sample
from tapewire.core.exact import ZERO, add, div18, mul, sub
from tapewire.core.instruments import Instrument
from tapewire.records.orders import Fill, OrderRequest
from tapewire.records.risk import RiskDecision

YEAR_NS = 365 * 86_400 * 1_000_000_000
"""The annualisation year: 365 days (crypto markets never close)."""


@dataclass(frozen=True)
class PnlPoint:
    """One row of the PnL series: an account's totals in one currency at ``ts_ns``."""

    ts_ns: int
    account: str
    currency: str
    realized: Decimal
    unrealized: Decimal
    fees: Decimal
    total: Decimal
    drawdown: Decimal
    """Fall from the running peak of ``total`` (>= 0)."""


def text(value: Decimal) -> str:
    """A decimal as plain text without exponent or trailing zeros (``"0"`` for zero)."""
    if value == 0:
        return "0"
    formatted = format(value, "f")
    return formatted.rstrip("0").rstrip(".") if "." in formatted else formatted


def pnl_series(samples: list[Sample]) -> list[PnlPoint]:
    """Per sample, per (account, currency): totals and drawdown."""
    points: list[PnlPoint] = []
    peaks: dict[tuple[str, str], Decimal] = {}
    for sample in samples:
        sums: dict[tuple[str, str], list[Decimal]] = {}
        for p in sample.positions:
            acc = sums.setdefault((p.account, p.pnl_currency), [ZERO, ZERO, ZERO])
            acc[0] = add(acc[0], p.realized_pnl)
            acc[1] = add(acc[1], p.unrealized_pnl)
            acc[2] = add(acc[2], p.fees)
        for (account, currency), (realized, unrealized, fees) in sorted(sums.items()):
            total = sub(add(realized, unrealized), fees)
            peak = max(peaks.get((account, currency), ZERO), total)
            peaks[(account, currency)] = peak
            points.append(
                PnlPoint(
                    sample.ts_ns,
                    account,
                    currency,
                    realized,
                    unrealized,
                    fees,
                    total,
                    sub(peak, total),
                )
            )
    return points


def _sum(values: Iterable[Decimal]) -> Decimal:
    return reduce(add, values, ZERO)


def equity_by_currency(
    points: Sequence[PnlPoint], times: Sequence[int]
) -> dict[str, list[tuple[int, Decimal]]]:
    """Total equity per currency over accounts at every sample time (0 before the first
    position in that currency)."""
    by: dict[str, dict[int, Decimal]] = {}
    for p in points:
        series = by.setdefault(p.currency, {})
        series[p.ts_ns] = add(series.get(p.ts_ns, ZERO), p.total)
    out: dict[str, list[tuple[int, Decimal]]] = {}
    for currency, series in sorted(by.items()):
        value = ZERO
        filled: list[tuple[int, Decimal]] = []
        for ts in times:
            value = series.get(ts, value)
            filled.append((ts, value))
        out[currency] = filled
    return out


def sharpe(equity: list[tuple[int, Decimal]], interval_ns: int) -> float | None:
    """Annualised Sharpe of the equity increments (module docstring)."""
    values = [ZERO, *(v for _, v in equity)]
    steps = [float(sub(b, a)) for a, b in itertools.pairwise(values)]
    if len(steps) < 2:
        return None
    mean = sum(steps) / len(steps)
    var = sum((s - mean) ** 2 for s in steps) / (len(steps) - 1)
    if var <= 0:
        return None
    return round(mean / math.sqrt(var) * math.sqrt(YEAR_NS / interval_ns), 6)


def max_drawdown(equity: list[tuple[int, Decimal]]) -> Decimal:
    """Largest fall from the running peak (peak starts at 0)."""
    peak, worst = ZERO, ZERO
    for _, value in equity:
        peak = max(peak, value)
        worst = max(worst, sub(peak, value))
    return worst


def daily(equity: list[tuple[int, Decimal]]) -> dict[str, Decimal]:
    """PnL per UTC day (``YYYY-MM-DD``)."""
    closes: dict[str, Decimal] = {}
    for ts, value in equity:
        closes[datetime.fromtimestamp(ts // 1_000_000_000, UTC).date().isoformat()] = value
    out: dict[str, Decimal] = {}
    previous = ZERO
    for day, close in closes.items():
        out[day] = sub(close, previous)
        previous = close
    return out


def _quote_currency(instrument: str) -> str:
    inst = Instrument.parse(instrument)
    return inst.settle or inst.quote


def trading_counts(outputs: Outputs) -> dict[str, Any]:
    """Orders, decisions, fills, turnover, fees and the fill ratio."""
    requests = outputs.records["oms.requests"]
    approved = outputs.records["oms.approved"]
    denied = outputs.records["oms.denied"]
    fills = [f for f in outputs.records["oms.fills"] if isinstance(f, Fill)]
    turnover: dict[str, Decimal] = {}
    fees: dict[str, Decimal] = {}
    filled = ZERO
    for fill in fills:
        ccy = _quote_currency(fill.instrument)
        turnover[ccy] = add(turnover.get(ccy, ZERO), mul(fill.price, fill.quantity))
        fee_ccy = fill.fee_currency or ccy
        fees[fee_ccy] = add(fees.get(fee_ccy, ZERO), fill.fee)
        filled = add(filled, fill.quantity)
    ordered = ZERO
    for decision in approved:
        if isinstance(decision, RiskDecision) and decision.request.action == "NEW":
            ordered = add(ordered, decision.request.quantity)
    rules = Counter(
        str(d.rule) for d in denied if isinstance(d, RiskDecision) and d.rule is not None
    )
    return {
        "orders_requested": sum(
            1 for r in requests if isinstance(r, OrderRequest) and r.action == "NEW"
        ),
        "orders_approved": len(approved),
        "orders_denied": len(denied),
        "denied_by_rule": dict(sorted(rules.items())),
        "orders_filled": len({(f.account, f.client_order_id) for f in fills}),
        "fills": len(fills),
        "filled_quantity": text(filled),
        "ordered_quantity": text(ordered),
        "fill_ratio": None if ordered == 0 else text(div18(filled, ordered)),
        "turnover": {c: text(v) for c, v in sorted(turnover.items())},
        "fees": {c: text(v) for c, v in sorted(fees.items())},
    }


def performance(points: list[PnlPoint], times: Sequence[int], interval_ns: int) -> dict[str, Any]:
    """Per currency: total PnL (last equity), daily PnL, Sharpe, max drawdown, split."""
    last: dict[tuple[str, str], PnlPoint] = {}
    for p in points:
        last[(p.account, p.currency)] = p
    out: dict[str, Any] = {}
    for currency, equity in equity_by_currency(points, times).items():
        finals = [p for (_, c), p in sorted(last.items()) if c == currency]
        out[currency] = {
            "total_pnl": text(equity[-1][1]) if equity else "0",
            "realized_pnl": text(_sum(p.realized for p in finals)),
            "unrealized_pnl": text(_sum(p.unrealized for p in finals)),
            "fees": text(_sum(p.fees for p in finals)),
            "daily_pnl": {d: text(v) for d, v in daily(equity).items()},
            "sharpe": sharpe(equity, interval_ns),
            "max_drawdown": text(max_drawdown(equity)),
            "by_account": {a: text(p.total) for (a, c), p in sorted(last.items()) if c == currency},
        }
    return out
