"""Order records: requests, execution reports (order events) and fills."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import msgspec

from tapewire.core.records import TypedRecord


class OrderRequest(TypedRecord, frozen=True, kw_only=True, gc=False):
    """A new, cancel, replace or cancel-all request (``oms.requests``)."""

    client_order_id: str
    account: str
    venue: str
    instrument: str
    action: str = "NEW"
    orig_client_order_id: str | None = None
    side: str
    order_type: str
    time_in_force: str
    quantity: Decimal
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trailing_offset: Decimal | None = None
    trailing_offset_type: str | None = None
    post_only: bool = False
    reduce_only: bool = False
    expire_ts_ns: int | None = None
    strategy_id: str | None = None
    requested_by: str
    request_ts_ns: int
    tags: dict[str, str] = msgspec.field(default_factory=dict)


class OrderEvent(TypedRecord, frozen=True, kw_only=True, gc=False):
    """An execution report: one change of an order's state (``oms.events``)."""

    event_id: str
    client_order_id: str
    orig_client_order_id: str | None = None
    venue_order_id: str | None = None
    account: str
    venue: str
    instrument: str
    side: str
    order_type: str
    time_in_force: str
    status: str
    exec_type: str
    quantity: Decimal
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    cum_qty: Decimal
    leaves_qty: Decimal
    avg_price: Decimal | None = None
    last_qty: Decimal | None = None
    last_price: Decimal | None = None
    exec_id: str | None = None
    text: str | None = None
    emulated: bool = False
    venue_ts_ns: int | None = None
    event_ts_ns: int
    strategy_id: str | None = None


class Fill(TypedRecord, frozen=True, kw_only=True, gc=False):
    """One execution of an order (``oms.fills``)."""

    fill_id: str
    client_order_id: str
    venue_order_id: str | None = None
    account: str
    venue: str
    instrument: str
    side: str
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_currency: str | None = None
    liquidity: str = "UNKNOWN"
    venue_ts_ns: int | None = None
    receive_ts_ns: int
    strategy_id: str | None = None


class ParentRequest(TypedRecord, frozen=True, kw_only=True, gc=False):
    """A parent order for an execution algorithm, or its cancel (``oms.parent_requests``)."""

    parent_id: str
    account: str
    action: str = "NEW"
    algo: str = "SOR"
    instrument: str
    side: str
    quantity: Decimal
    limit_price: Decimal | None = None
    venues: Sequence[str] = ()
    params: dict[str, str] = msgspec.field(default_factory=dict)
    strategy_id: str | None = None
    requested_by: str
    request_ts_ns: int


class ParentOrderEvent(TypedRecord, frozen=True, kw_only=True, gc=False):
    """One parent event (journal) and the parent's state after it (``oms.parent_events``)."""

    event_id: str
    parent_id: str
    account: str
    algo: str
    instrument: str
    side: str
    event_type: str
    event: str
    status: str
    quantity: Decimal
    limit_price: Decimal | None = None
    cum_qty: Decimal
    leaves_qty: Decimal
    avg_price: Decimal | None = None
    avg_price_with_fees: Decimal | None = None
    children: int
    open_children: int
    waves: int
    strategy_id: str | None = None
    event_ts_ns: int
