"""The TCA figures of one execution, as pure functions of exact sums.

Notation (``docs/tca.md``): ``s`` = +1 for a buy, -1 for a sell; ``Q`` the quantity
(``None`` when unknown, e.g. a parent without its quantity tag); ``F`` the filled quantity;
``N`` the notional ``sum(price * qty)`` of the fills; ``A`` the arrival mid; ``E`` the mid at
the end; ``Vn``/``Vq`` the market notional/volume of the interval (VWAP = ``Vn / Vq``).

* ``slippage_arrival_bps = s * (N/F - A) / A * 10^4``
* ``slippage_vwap_bps = s * (N/F - Vn/Vq) / (Vn/Vq) * 10^4``
* ``execution_cost = s * (N - F*A)`` and ``opportunity_cost = s * (Q - F) * (E - A)``
  (quote currency)
* ``shortfall_bps = (execution_cost + fees_quote + opportunity_cost) / (Q*A) * 10^4``
  (implementation shortfall after Perold; over ``F*A`` without opportunity cost when ``Q``
  is unknown)

Positive = cost to the order. Every figure is computed exactly (``Decimal`` sums and
products, ratios on exact fractions) and rounded **once**, half-even to 18 places (the
``decimal(38,18)`` of the wire); nothing downstream re-uses a rounded value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from tapewire.core.exact import BPS, ZERO, add, div18_exact, mul, round18, sub

SIGN = {"BUY": 1, "SELL": -1}


@dataclass(frozen=True)
class Execution:
    """Exact sums over an order's (or a parent's) fills."""

    side: str
    quantity: Decimal | None
    filled: Decimal = ZERO
    notional: Decimal = ZERO
    fees_quote: Decimal = ZERO
    venue_qty: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Figures:
    """The figures of :func:`figures` (each ``None`` when an input is missing)."""

    fill_ratio: Decimal | None
    avg_price: Decimal | None
    slippage_arrival_bps: Decimal | None
    slippage_vwap_bps: Decimal | None
    interval_vwap: Decimal | None
    execution_cost: Decimal | None
    opportunity_cost: Decimal | None
    shortfall_bps: Decimal | None
    venue_mix: dict[str, Decimal]
    notes: tuple[str, ...] = ()


def _sign(side: str) -> Decimal:
    try:
        return Decimal(SIGN[side])
    except KeyError:
        raise ValueError(f"side {side!r} is not BUY or SELL") from None


def figures(
    ex: Execution,
    arrival: Decimal | None,
    end: Decimal | None,
    interval_notional: Decimal,
    interval_volume: Decimal,
) -> Figures:
    """Every figure of ``ex`` against the arrival mid, the end mid and the interval's
    market trades; ``notes`` say why a figure is missing or partial."""
    s = _sign(ex.side)
    f, n, q = ex.filled, ex.notional, ex.quantity
    notes: list[str] = []
    filled = f > 0
    avg = div18_exact(n, f) if filled else None
    ratio = div18_exact(f, q) if q is not None and q > 0 else None
    vwap = div18_exact(interval_notional, interval_volume) if interval_volume > 0 else None
    slip_vwap = None
    if filled and interval_volume > 0 and interval_notional > 0:
        # s * (N/F - Vn/Vq) / (Vn/Vq) = s * (N*Vq - F*Vn) / (F*Vn)
        gap = sub(mul(n, interval_volume), mul(f, interval_notional))
        slip_vwap = div18_exact(mul(mul(s, gap), BPS), mul(f, interval_notional))
    if interval_volume == 0:
        notes.append("no market trade in the interval: no VWAP")
    if arrival is None:
        notes.append("no arrival mid: arrival figures and shortfall are null")
        return Figures(ratio, avg, None, slip_vwap, vwap, None, None, None, _mix(ex), tuple(notes))
    execution_cost = mul(s, sub(n, mul(f, arrival)))
    slip_arrival = div18_exact(mul(execution_cost, BPS), mul(f, arrival)) if filled else None
    opportunity: Decimal | None = ZERO
    if q is None:
        base = f
        opportunity = None
        notes.append("quantity unknown: shortfall over the filled quantity, no opportunity cost")
    else:
        base = q
        unfilled = sub(q, f)
        if unfilled > 0:
            if end is None:
                opportunity = None
                notes.append("no mid at the end: opportunity cost left out of the shortfall")
            else:
                opportunity = mul(s, mul(unfilled, sub(end, arrival)))
    cost = add(add(execution_cost, ex.fees_quote), opportunity or ZERO)
    denominator = mul(base, arrival)
    shortfall = div18_exact(mul(cost, BPS), denominator) if denominator > 0 else None
    return Figures(
        fill_ratio=ratio,
        avg_price=avg,
        slippage_arrival_bps=slip_arrival,
        slippage_vwap_bps=slip_vwap,
        interval_vwap=vwap,
        execution_cost=round18(execution_cost),
        opportunity_cost=None if opportunity is None else round18(opportunity),
        shortfall_bps=shortfall,
        venue_mix=_mix(ex),
        notes=tuple(notes),
    )


def _mix(ex: Execution) -> dict[str, Decimal]:
    """Share of the filled quantity per venue (each rounded half-even to 18 places)."""
    if ex.filled <= 0:
        return {}
    return {v: div18_exact(qty, ex.filled) for v, qty in sorted(ex.venue_qty.items()) if qty > 0}


def fee_in_quote(
    fee: Decimal, currency: str | None, price: Decimal, base: str | None, quote: str | None
) -> Decimal | None:
    """A fill's fee in quote currency: as is in ``quote``, times the fill price in ``base``;
    ``None`` for any other (or an unknown) currency."""
    if currency is None or quote is None:
        return None
    if currency == quote:
        return fee
    if currency == base:
        return mul(fee, price)
    return None
