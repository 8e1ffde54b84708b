"""The TCA summary of a backtest report, from the run's own TCA reports.

The replay runs the live TCA stage (:mod:`tapewire.streams.stages.tca`, a deferred node of
the hot path) and records every :class:`~tapewire.records.tca.TcaReport` it emits
(``Outputs.records["tca"]``, stored in ``backtest_tca``). :func:`tca_summary` adds up the
**order** reports (parents are counted, not added: their children are already in) per
quote currency and, within it, per venue. Each bps figure is a sum of costs over a sum of
values (a value-weighted mean of the orders' figures), positive = cost, ``docs/tca.md``:

* ``slippage_arrival_bps = 10^4 * sum(execution_cost) / sum(filled_qty * arrival_mid)``
  over the filled orders with an arrival mid;
* ``slippage_vwap_bps = 10^4 * sum(s * (notional - filled_qty * vwap)) /
  sum(filled_qty * vwap)`` over the filled orders with an interval VWAP (``s`` = +1 buy,
  -1 sell; ``vwap`` the report's ``interval_vwap``);
* ``shortfall_bps = 10^4 * sum(execution_cost + fees_quote + opportunity_cost) /
  sum(quantity * arrival_mid)`` over the orders with a shortfall.

Sums are exact; each ratio is rounded once, half-even to 18 places. The result is a pure
function of the reports (``summary.json`` is byte-identical across runs).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tapewire.backtest.engine import Outputs
from tapewire.backtest.stats import text
from tapewire.core.exact import BPS, ZERO, add, div18_exact, mul, sub
from tapewire.records.risk import RiskDecision
from tapewire.records.tca import TcaReport
from tapewire.streams.tca.figures import SIGN

METHOD = (
    "TcaReports of the live TCA stage; bps = 10^4 * sum(costs) / sum(values) "
    "over the order reports, positive = cost (docs/backtest.md)"
)


@dataclass
class Ratio:
    """A sum of costs over a sum of values, in bps."""

    cost: Decimal = ZERO
    value: Decimal = ZERO
    orders: int = 0

    def add(self, cost: Decimal, value: Decimal) -> None:
        """Count one order's cost and value."""
        self.cost = add(self.cost, cost)
        self.value = add(self.value, value)
        self.orders += 1

    def bps(self) -> str | None:
        """``10^4 * cost / value`` (``None`` without value)."""
        return None if self.value == 0 else text(div18_exact(mul(self.cost, BPS), self.value))


@dataclass
class TcaSums:
    """Exact sums over order reports of one quote currency (or one venue in it)."""

    orders: int = 0
    filled_orders: int = 0
    notional: Decimal = ZERO
    fees_quote: Decimal = ZERO
    fees: dict[str, Decimal] = field(default_factory=dict)
    arrival: Ratio = field(default_factory=Ratio)
    vwap: Ratio = field(default_factory=Ratio)
    shortfall: Ratio = field(default_factory=Ratio)

    def add(self, r: TcaReport) -> None:
        """Count one order report."""
        self.orders += 1
        self.filled_orders += r.filled_qty > 0
        self.notional = add(self.notional, r.notional)
        self.fees_quote = add(self.fees_quote, r.fees_quote)
        for currency, fee in r.fees.items():
            self.fees[currency] = add(self.fees.get(currency, ZERO), fee)
        mid = r.arrival_mid
        if r.slippage_arrival_bps is not None and r.execution_cost is not None and mid:
            self.arrival.add(r.execution_cost, mul(r.filled_qty, mid))
        vwap = r.interval_vwap
        if r.slippage_vwap_bps is not None and vwap:
            at_vwap = mul(r.filled_qty, vwap)
            self.vwap.add(mul(Decimal(SIGN[r.side]), sub(r.notional, at_vwap)), at_vwap)
        if r.shortfall_bps is not None and r.execution_cost is not None and mid:
            cost = add(add(r.execution_cost, r.fees_quote), r.opportunity_cost or ZERO)
            base = r.quantity if r.quantity is not None else r.filled_qty
            self.shortfall.add(cost, mul(base, mid))

    def as_json(self) -> dict[str, Any]:
        """The figures, decimals as exact text."""
        return {
            "orders": self.orders,
            "filled_orders": self.filled_orders,
            "filled_notional": text(self.notional),
            "fees_quote": text(self.fees_quote),
            "fees": {c: text(v) for c, v in sorted(self.fees.items())},
            "slippage_arrival_bps": self.arrival.bps(),
            "slippage_vwap_bps": self.vwap.bps(),
            "shortfall_bps": self.shortfall.bps(),
            "orders_with_arrival_slippage": self.arrival.orders,
            "orders_with_vwap_slippage": self.vwap.orders,
            "orders_with_shortfall": self.shortfall.orders,
        }


def tca_summary(reports: Iterable[TcaReport], approved_orders: int) -> dict[str, Any]:
    """The ``"tca"`` section of the report (module doc); ``approved_orders``: approved NEW
    orders of the run (those without a report were still open at the end of the range)."""
    totals: dict[str, TcaSums] = {}
    venues: dict[str, dict[str, TcaSums]] = {}
    parents: set[tuple[str, str]] = set()
    for r in reports:
        if r.kind != "ORDER":
            parents.add((r.account, r.order_id))
            continue
        quote = r.quote_currency or "UNKNOWN"
        totals.setdefault(quote, TcaSums()).add(r)
        venues.setdefault(quote, {}).setdefault(r.venue or "UNKNOWN", TcaSums()).add(r)
    orders = sum(s.orders for s in totals.values())
    by_quote: dict[str, Any] = {}
    for quote in sorted(totals):
        section = totals[quote].as_json()
        section["by_venue"] = {v: s.as_json() for v, s in sorted(venues[quote].items())}
        by_quote[quote] = section
    return {
        "method": METHOD,
        "order_reports": orders,
        "parent_reports": len(parents),
        "orders_open_at_end": max(approved_orders - orders, 0),
        "by_quote_currency": by_quote,
    }


def approved_new_orders(decisions: Sequence[object]) -> int:
    """Approved NEW requests among the ``oms.approved`` records."""
    return sum(
        1
        for d in decisions
        if isinstance(d, RiskDecision) and d.decision == "APPROVED" and d.request.action == "NEW"
    )


def summary_of(outputs: Outputs) -> dict[str, Any]:
    """:func:`tca_summary` of a replay's recorded TCA reports."""
    reports = [r for r in outputs.records["tca"] if isinstance(r, TcaReport)]
    return tca_summary(reports, approved_new_orders(outputs.records["oms.approved"]))
