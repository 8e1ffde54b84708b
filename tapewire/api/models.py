"""Response bodies of the API (the OpenAPI document shows them). Decimals are exact
strings; ``*_ns`` fields are integer UTC nanoseconds."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

Dec = str
"""An exact decimal as text, e.g. ``"0.00000812"``."""


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class TokenRequest(BaseModel):
    """``POST /v1/auth/token``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str
    password: str


class TokenOut(_Out):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_at_s: int
    token_id: str


class MeOut(_Out):
    user: str
    role: str
    accounts: list[str]
    token_id: str


class AcceptedOut(_Out):
    """The request is on ``oms.requests``; the risk gate decides next."""

    client_order_id: str
    action: str
    topic: str
    partition: int
    offset: int


class OrderOut(_Out):
    client_order_id: str
    account: str
    venue: str
    instrument: str
    side: str
    order_type: str
    time_in_force: str
    status: str
    exec_type: str
    quantity: Dec
    limit_price: Dec | None
    cum_qty: Dec
    leaves_qty: Dec
    avg_price: Dec | None
    text: str | None
    event_ts_ns: int


class OrderStatusOut(_Out):
    """An order's latest state: its execution report, else its risk decision or request
    (``step``: ``venue``, ``risk`` or ``request``)."""

    client_order_id: str
    account: str
    venue: str
    instrument: str
    step: str
    status: str | None = None
    detail: str | None = None
    order: OrderOut | None = None
    ts_ns: int


class ParentAcceptedOut(_Out):
    """The parent request is on ``oms.parent_requests``; the parent stage works it next."""

    parent_id: str
    action: str
    algo: str
    topic: str
    partition: int
    offset: int


class ParentOut(_Out):
    """A parent's state after its newest event (``parent_events``)."""

    status: str
    event_type: str
    quantity: Dec
    limit_price: Dec | None
    cum_qty: Dec
    leaves_qty: Dec
    avg_price: Dec | None
    avg_price_with_fees: Dec | None
    children: int
    open_children: int
    waves: int


class ParentStatusOut(_Out):
    """A parent order's latest state: its newest parent event (``step`` ``algo``), else
    its newest request (``step`` ``request``: no event yet)."""

    parent_id: str
    account: str
    algo: str
    instrument: str
    side: str
    step: str
    status: str | None = None
    detail: str | None = None
    parent: ParentOut | None = None
    ts_ns: int


class FillOut(_Out):
    fill_id: str
    client_order_id: str
    account: str
    venue: str
    instrument: str
    side: str
    price: Dec
    quantity: Dec
    fee: Dec
    fee_currency: str | None
    liquidity: str
    venue_ts_ns: int | None
    receive_ts_ns: int


class PositionOut(_Out):
    account: str
    venue: str
    instrument: str
    quantity: Dec
    avg_price: Dec | None
    realized_pnl: Dec
    unrealized_pnl: Dec
    fees: Dec
    mark_price: Dec | None
    pnl_currency: str
    update_ts_ns: int


class NbboOut(_Out):
    instrument: str
    bid_price: Dec | None
    bid_size: Dec | None
    bid_venue: str
    ask_price: Dec | None
    ask_size: Dec | None
    ask_venue: str
    venue_count: int
    process_ts_ns: int


class LevelOut(_Out):
    price: Dec
    size: Dec


class VenueBookOut(_Out):
    """One venue's book: best levels first (bids highest, asks lowest)."""

    venue: str
    bids: list[LevelOut]
    asks: list[LevelOut]
    update_ts_ns: int


class BookOut(_Out):
    instrument: str
    venues: list[VenueBookOut]


class BarOut(_Out):
    venue: str
    instrument: str
    interval: str
    start_ts_ns: int
    end_ts_ns: int
    open: Dec
    high: Dec
    low: Dec
    close: Dec
    volume: Dec
    quote_volume: Dec
    vwap: Dec | None
    trade_count: int


class TradeOut(_Out):
    venue: str
    instrument: str
    trade_id: str
    price: Dec
    size: Dec
    side: str
    exchange_ts_ns: int
    receive_ts_ns: int


class ErrorOut(_Out):
    """Every 4xx/5xx the API itself answers."""

    detail: str
