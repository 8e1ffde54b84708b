"""Transaction cost analysis records: one report per order, one per parent (``tca``)."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from tapewire.core.records import TypedRecord


class TcaReport(TypedRecord, frozen=True, kw_only=True, gc=False):
    """The costs of one order, or of a SOR/algo parent over its children (``tca``).

    Figures follow ``docs/tca.md``: bps and costs are positive when they cost the order.
    """

    tca_id: str
    kind: str
    account: str
    order_id: str
    parent_id: str | None = None
    venue: str | None = None
    instrument: str
    side: str
    strategy_id: str | None = None
    status: str
    revision: int = 0
    children: int = 0
    quantity: Decimal | None = None
    filled_qty: Decimal
    fill_ratio: Decimal | None = None
    avg_price: Decimal | None = None
    notional: Decimal
    arrival_ts_ns: int
    arrival_mid: Decimal | None = None
    arrival_source: str
    arrival_quote_ts_ns: int | None = None
    end_ts_ns: int
    end_mid: Decimal | None = None
    interval_vwap: Decimal | None = None
    interval_volume: Decimal
    interval_trades: int
    slippage_arrival_bps: Decimal | None = None
    slippage_vwap_bps: Decimal | None = None
    execution_cost: Decimal | None = None
    fees_quote: Decimal
    opportunity_cost: Decimal | None = None
    shortfall_bps: Decimal | None = None
    quote_currency: str | None = None
    fees: dict[str, Decimal] = msgspec.field(default_factory=dict)
    venue_mix: dict[str, Decimal] = msgspec.field(default_factory=dict)
    note: str | None = None
