"""The TCA summary of a backtest report, and the place where full TCA plugs in.

**Hook.** The report calls ``TCA_SUMMARY(outputs)`` (a :data:`TcaSummary`) and stores the
mapping it returns under ``"tca"`` in ``summary.json`` and on the HTML page. The default,
:func:`arrival_summary`, measures what the recorded outputs alone allow: each fill's
slippage against its order's *arrival mid* (the NBBO mid the risk gate recorded when it
approved the order, ``RiskDecision.reference_price``), in basis points, positive = worse
(paid above the mid on a buy, sold below it on a sell), averaged weighted by notional,
overall and per venue.

**Full TCA.** The streaming TCA stage (``tapewire.streams.tca``: implementation shortfall,
interval VWAP, per parent order) is being written separately. When it lands, replace
:data:`TCA_SUMMARY` with a function that feeds ``outputs.records["oms.approved"]``,
``["oms.events"]`` and ``["oms.fills"]`` (typed records, in emission order) through that
core and returns its summary; the report, JSON and HTML need no other change. The result
must be a pure function of the outputs (the report is byte-identical across runs).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from tapewire.backtest.engine import Outputs
from tapewire.backtest.stats import text
from tapewire.core.exact import BPS, ZERO, add, div18, mul, sub
from tapewire.records.orders import Fill
from tapewire.records.risk import RiskDecision

TcaSummary = Callable[[Outputs], dict[str, Any]]
"""Recorded outputs -> the ``"tca"`` section of the report (JSON-ready, deterministic)."""


def arrival_summary(outputs: Outputs) -> dict[str, Any]:
    """Notional-weighted slippage of fills against the arrival mid, in bps (module doc)."""
    arrival: dict[tuple[str, str], Decimal] = {}
    for decision in outputs.records["oms.approved"]:
        if isinstance(decision, RiskDecision) and decision.reference_price is not None:
            arrival[(decision.account, decision.client_order_id)] = decision.reference_price
    cost: dict[str, Decimal] = {}
    notional: dict[str, Decimal] = {}
    measured = unmeasured = 0
    for fill in outputs.records["oms.fills"]:
        if not isinstance(fill, Fill):
            continue
        mid = arrival.get((fill.account, fill.client_order_id))
        if mid is None or mid <= 0:
            unmeasured += 1
            continue
        measured += 1
        per_unit = sub(fill.price, mid) if fill.side == "BUY" else sub(mid, fill.price)
        # bps of the mid, weighted by the fill's notional at the mid: sum(per_unit * qty)
        # over sum(mid * qty) is the notional-weighted mean of per_unit / mid
        for key in ("all", fill.venue):
            cost[key] = add(cost.get(key, ZERO), mul(per_unit, fill.quantity))
            notional[key] = add(notional.get(key, ZERO), mul(mid, fill.quantity))

    def bps(key: str) -> str | None:
        total = notional.get(key, ZERO)
        return None if total == 0 else text(div18(mul(cost[key], BPS), total))

    return {
        "method": "slippage vs arrival mid (risk gate's NBBO mid), notional-weighted bps",
        "fills_measured": measured,
        "fills_without_arrival_mid": unmeasured,
        "slippage_bps": bps("all"),
        "slippage_bps_by_venue": {v: bps(v) for v in sorted(notional) if v != "all"},
        "full_tca": "not wired yet: see tapewire/backtest/tca.py (TCA_SUMMARY)",
    }


TCA_SUMMARY: TcaSummary = arrival_summary
"""The TCA summary the report uses (the hook: see the module docstring)."""
