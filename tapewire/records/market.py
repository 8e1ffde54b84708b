"""Market-data records: raw frames, trades, book updates, quotes, NBBO, bars, coverage."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from tapewire.core.records import TypedRecord


class RawFrame(TypedRecord, frozen=True, kw_only=True, gc=False):
    """One exchange frame exactly as received (``md.raw``, ``md.markets``)."""

    venue: str
    connection_id: str
    sequence: int
    transport: str
    origin: str
    channel: str | None = None
    symbol: str | None = None
    payload: bytes
    binary: bool = False
    receive_ts_ns: int
    request_ts_ns: int | None = None
    rest_url: str | None = None
    rest_status: int | None = None


class Trade(TypedRecord, frozen=True, kw_only=True, gc=False):
    """One public trade on a venue (``md.trades``)."""

    venue: str
    instrument: str
    trade_id: str
    price: Decimal
    size: Decimal
    side: str
    exchange_ts_ns: int | None = None
    receive_ts_ns: int
    process_ts_ns: int
    connection_id: str | None = None
    frame_sequence: int | None = None


class PriceLevel(TypedRecord, frozen=True, kw_only=True, gc=False):
    """One book level; a size of 0 in a delta removes the level."""

    price: Decimal
    size: Decimal


class BookUpdate(TypedRecord, frozen=True, kw_only=True, gc=False):
    """An L2 snapshot or delta (``md.book``)."""

    venue: str
    instrument: str
    kind: str
    bids: Sequence[PriceLevel]
    asks: Sequence[PriceLevel]
    depth: int | None = None
    first_sequence: int | None = None
    last_sequence: int | None = None
    prev_sequence: int | None = None
    checksum: int | None = None
    exchange_ts_ns: int | None = None
    receive_ts_ns: int
    process_ts_ns: int


class Quote(TypedRecord, frozen=True, kw_only=True, gc=False):
    """A venue's best bid and offer (``md.quotes``)."""

    venue: str
    instrument: str
    bid_price: Decimal | None = None
    bid_size: Decimal | None = None
    ask_price: Decimal | None = None
    ask_size: Decimal | None = None
    source: str = "UNKNOWN"
    exchange_ts_ns: int | None = None
    receive_ts_ns: int
    process_ts_ns: int


class DerivativesTicker(TypedRecord, frozen=True, kw_only=True, gc=False):
    """Mark price, index price and funding rate of a derivative (``md.derivatives``)."""

    venue: str
    instrument: str
    mark_price: Decimal | None = None
    index_price: Decimal | None = None
    funding_rate: Decimal | None = None
    next_funding_ts_ns: int | None = None
    exchange_ts_ns: int | None = None
    receive_ts_ns: int
    process_ts_ns: int


class ConsolidatedQuote(TypedRecord, frozen=True, kw_only=True, gc=False):
    """The best bid and offer across venues (``md.nbbo``)."""

    instrument: str
    bid_price: Decimal | None = None
    bid_size: Decimal | None = None
    bid_venue: str | None = None
    ask_price: Decimal | None = None
    ask_size: Decimal | None = None
    ask_venue: str | None = None
    venue_count: int
    bid_receive_ts_ns: int | None = None
    ask_receive_ts_ns: int | None = None
    process_ts_ns: int


class Bar(TypedRecord, frozen=True, kw_only=True, gc=False):
    """An OHLCV bar of one interval (``md.bars.<interval>``)."""

    venue: str
    instrument: str
    interval: str
    interval_ns: int
    start_ts_ns: int
    end_ts_ns: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal
    vwap: Decimal | None = None
    trade_count: int
    buy_volume: Decimal
    sell_volume: Decimal
    revision: int = 0
    process_ts_ns: int


class CoverageEvent(TypedRecord, frozen=True, kw_only=True, gc=False):
    """A gap or resync: a period in which a venue's data is incomplete (``md.coverage``)."""

    venue: str
    instrument: str
    channel: str
    event: str
    from_ns: int
    to_ns: int | None = None
    reason: str
    process_ts_ns: int


class DepthLevel(TypedRecord, frozen=True, kw_only=True, gc=False):
    """One venue's price level in a :class:`ConsolidatedDepth`, with its fee-adjusted price."""

    venue: str
    instrument: str
    price: Decimal
    size: Decimal
    effective_price: Decimal


class ConsolidatedDepth(TypedRecord, frozen=True, kw_only=True, gc=False):
    """Top N levels per venue of one consolidated instrument, fee-adjusted (``md.depth``)."""

    instrument: str
    levels: int
    bids: Sequence[DepthLevel]
    asks: Sequence[DepthLevel]
    venue_count: int
    receive_ts_ns: int
    process_ts_ns: int
