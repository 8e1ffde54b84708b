"""What a venue mapper returns: canonical market events, prices and sizes as wire text.

A mapper turns one decoded frame into these events; the normalizer turns their text into
checked decimals (never a float) and their instrument into the canonical id's record.
Events are built once per frame on the hot path: plain structs (``msgspec.Struct``, built in
C, not tracked by the garbage collector), positional or keyword construction.
"""

from __future__ import annotations

import msgspec

from tapewire.core.errors import TapewireError

Level = tuple[str, str]
"""One price level as the venue sent it: ``(price text, size text)``; size ``"0"`` deletes."""

BUY, SELL, UNKNOWN = "BUY", "SELL", "UNKNOWN"
"""Aggressor sides of a trade."""


class MapError(TapewireError):
    """A frame a mapper cannot map: names the field, the value and what was expected."""

    def __init__(self, field_name: str, value: object, expected: str) -> None:
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"field {field_name!r} = {shown}: expected {expected}")
        self.field = field_name
        self.value = value


class TradeEvent(msgspec.Struct, gc=False):
    """One trade: ``instrument`` is the canonical id, ``side`` the aggressor's."""

    instrument: str
    trade_id: str
    price: str
    size: str
    side: str
    exchange_ts_ns: int | None


class BookEvent(msgspec.Struct, gc=False):
    """One book snapshot (every level) or delta (the levels the frame changed)."""

    instrument: str
    snapshot: bool
    bids: list[Level]
    asks: list[Level]
    exchange_ts_ns: int | None = None
    first_sequence: int | None = None
    """First update id the frame covers (Binance ``U``)."""
    last_sequence: int | None = None
    """Update id after the frame (Binance ``u``, OKX ``seqId``)."""
    prev_sequence: int | None = None
    """Update id the frame follows (OKX ``prevSeqId``, Binance futures ``pu``)."""
    checksum: int | None = None
    depth: int | None = None
    """Levels per side of a depth-limited snapshot (None: full depth or a delta)."""


class QuoteEvent(msgspec.Struct, gc=False):
    """Best bid and offer as the venue sent them (a side may be absent)."""

    instrument: str
    bid_price: str | None
    bid_size: str | None
    ask_price: str | None
    ask_size: str | None
    exchange_ts_ns: int | None = None


class DerivativesEvent(msgspec.Struct, gc=False):
    """Mark price, index price and funding rate of a derivative (any may be absent)."""

    instrument: str
    mark_price: str | None = None
    index_price: str | None = None
    funding_rate: str | None = None
    """A fraction per funding interval as the venue sent it; may be negative."""
    next_funding_ts_ns: int | None = None
    exchange_ts_ns: int | None = None


MarketEvent = TradeEvent | BookEvent | QuoteEvent | DerivativesEvent
