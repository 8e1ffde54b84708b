"""Position records: quantity, average price and PnL per account and instrument."""

from __future__ import annotations

from decimal import Decimal

from tapewire.core.records import TypedRecord


class Position(TypedRecord, frozen=True, kw_only=True, gc=False):
    """One account's position in one instrument on one venue (``positions``)."""

    account: str
    venue: str
    instrument: str
    quantity: Decimal
    avg_price: Decimal | None = None
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal
    mark_price: Decimal | None = None
    mark_ts_ns: int | None = None
    pnl_currency: str
    last_fill_id: str | None = None
    update_ts_ns: int
