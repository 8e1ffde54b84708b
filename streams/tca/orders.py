"""What the TCA core keeps per order and per parent, and the report it makes of them.

An :class:`OrderTca` collects an order's request terms (from its approval), its fills (by
``fill_id``, so a redelivered fill counts once) and its terminal report; it is *done* when
a terminal report was seen **and** its fills add up to the report's ``cum_qty`` (a venue
may send the terminal report before the fill records of the same execution). A
:class:`ParentTca` adds up its children's executions as each child is done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from tapewire.core.exact import ZERO, add, mul, round18
from tapewire.core.instruments import Instrument, InstrumentError
from tapewire.records.orders import Fill
from tapewire.records.tca import TcaReport
from tapewire.streams.tca.figures import Execution, fee_in_quote, figures
from tapewire.streams.tca.market import Interval, Mid

TERMINAL = frozenset(("FILLED", "CANCELED", "REJECTED", "EXPIRED"))


def currencies(instrument: str) -> tuple[str | None, str | None]:
    """(base, quote) of a canonical instrument id; ``(None, None)`` if it is not one."""
    try:
        parsed = Instrument.parse(instrument)
    except InstrumentError:
        return None, None
    return parsed.base, parsed.quote


@dataclass
class Fills:
    """Exact sums over fills, per currency and venue (shared by orders and parents)."""

    base: str | None
    quote: str | None
    filled: Decimal = ZERO
    notional: Decimal = ZERO
    fees: dict[str, Decimal] = field(default_factory=dict)
    fees_quote: Decimal = ZERO
    unconverted: set[str] = field(default_factory=set)
    venue_qty: dict[str, Decimal] = field(default_factory=dict)
    last_ts_ns: int | None = None

    def add(self, fill: Fill) -> None:
        """Count one fill (its fee converted to quote currency when it can be)."""
        self.filled = add(self.filled, fill.quantity)
        self.notional = add(self.notional, mul(fill.price, fill.quantity))
        currency = fill.fee_currency or "UNKNOWN"
        if fill.fee != 0 or fill.fee_currency is not None:
            self.fees[currency] = add(self.fees.get(currency, ZERO), fill.fee)
        in_quote = fee_in_quote(fill.fee, fill.fee_currency, fill.price, self.base, self.quote)
        if in_quote is None:
            if fill.fee != 0:
                self.unconverted.add(currency)
        else:
            self.fees_quote = add(self.fees_quote, in_quote)
        self.venue_qty[fill.venue] = add(self.venue_qty.get(fill.venue, ZERO), fill.quantity)
        ts = fill.venue_ts_ns if fill.venue_ts_ns is not None else fill.receive_ts_ns
        self.last_ts_ns = ts if self.last_ts_ns is None else max(self.last_ts_ns, ts)

    def merge(self, other: Fills) -> None:
        """Add another execution's sums (a child's into its parent's)."""
        self.filled = add(self.filled, other.filled)
        self.notional = add(self.notional, other.notional)
        for currency, fee in other.fees.items():
            self.fees[currency] = add(self.fees.get(currency, ZERO), fee)
        self.fees_quote = add(self.fees_quote, other.fees_quote)
        self.unconverted |= other.unconverted
        for venue, qty in other.venue_qty.items():
            self.venue_qty[venue] = add(self.venue_qty.get(venue, ZERO), qty)


@dataclass
class Terms:
    """What identifies an order or a parent and what it asked for."""

    account: str
    order_id: str
    instrument: str
    side: str
    quantity: Decimal | None
    arrival_ts_ns: int
    venue: str | None = None
    strategy_id: str | None = None
    parent_id: str | None = None


@dataclass
class OrderTca:
    """One order on its way to a terminal state."""

    terms: Terms
    interval: Interval
    fills: Fills
    arrival: Mid | None = None
    approved: bool = False
    """Terms from the approval (else from the first execution report: ``note`` says so)."""
    fill_ids: set[str] = field(default_factory=set)
    status: str = "PENDING_NEW"
    final_cum: Decimal | None = None
    """``cum_qty`` of the terminal report; ``None`` while the order is open."""
    end_ts_ns: int | None = None
    evicted: bool = False

    def add_fill(self, fill: Fill) -> bool:
        """Count ``fill`` once; False for a fill already counted."""
        if fill.fill_id in self.fill_ids:
            return False
        self.fill_ids.add(fill.fill_id)
        self.fills.add(fill)
        return True

    @property
    def done(self) -> bool:
        """Terminal report seen and every fill it counts received."""
        return self.final_cum is not None and self.fills.filled >= self.final_cum

    def end_ns(self) -> int:
        """The later of the last fill and the terminal report."""
        times = [t for t in (self.end_ts_ns, self.fills.last_ts_ns) if t is not None]
        return max(times) if times else self.terms.arrival_ts_ns


@dataclass
class ParentTca:
    """A parent's running totals over its children."""

    terms: Terms
    interval: Interval
    fills: Fills
    arrival: Mid | None
    open_children: set[str] = field(default_factory=set)
    done_children: int = 0
    end_ts_ns: int = 0
    revision: int = 0
    notes: list[str] = field(default_factory=list)


def report(
    kind: str,
    terms: Terms,
    fills: Fills,
    interval: Interval,
    arrival: Mid | None,
    end: Mid | None,
    *,
    status: str,
    end_ts_ns: int,
    notes: list[str],
    revision: int = 0,
    children: int = 0,
) -> TcaReport:
    """The :class:`TcaReport` of an order or a parent as it stands."""
    arrival_mid = arrival.price if arrival is not None else None
    fig = figures(
        Execution(
            terms.side,
            terms.quantity,
            fills.filled,
            fills.notional,
            fills.fees_quote,
            fills.venue_qty,
        ),
        arrival_mid,
        end.price if end is not None else None,
        interval.notional,
        interval.volume,
    )
    all_notes = [*notes, *fig.notes]
    if fills.unconverted:
        names = ", ".join(sorted(fills.unconverted))
        all_notes.append(f"fees in {names} not converted to {fills.quote or 'quote currency'}")
    prefix = "order" if kind == "ORDER" else "parent"
    return TcaReport(
        tca_id=f"{prefix}:{terms.account}:{terms.order_id}",
        kind=kind,
        account=terms.account,
        order_id=terms.order_id,
        parent_id=terms.parent_id,
        venue=terms.venue,
        instrument=terms.instrument,
        side=terms.side,
        strategy_id=terms.strategy_id,
        status=status,
        revision=revision,
        children=children,
        quantity=terms.quantity,
        filled_qty=round18(fills.filled),
        fill_ratio=fig.fill_ratio,
        avg_price=fig.avg_price,
        notional=round18(fills.notional),
        arrival_ts_ns=terms.arrival_ts_ns,
        arrival_mid=None if arrival_mid is None else round18(arrival_mid),
        arrival_source="NONE" if arrival is None else arrival.source,
        arrival_quote_ts_ns=None if arrival is None else arrival.ts_ns,
        end_ts_ns=end_ts_ns,
        end_mid=None if end is None else round18(end.price),
        interval_vwap=fig.interval_vwap,
        interval_volume=round18(interval.volume),
        interval_trades=interval.trades,
        slippage_arrival_bps=fig.slippage_arrival_bps,
        slippage_vwap_bps=fig.slippage_vwap_bps,
        execution_cost=fig.execution_cost,
        fees_quote=round18(fills.fees_quote),
        opportunity_cost=fig.opportunity_cost,
        shortfall_bps=fig.shortfall_bps,
        quote_currency=fills.quote,
        fees={c: round18(v) for c, v in sorted(fills.fees.items())},
        venue_mix=fig.venue_mix,
        note="; ".join(all_notes) or None,
    )
