"""Market data records: ``md.book``, ``md.quotes``, ``md.nbbo`` and ``md.trades``."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from tapewire.records.market import BookUpdate, ConsolidatedQuote, PriceLevel, Quote, Trade
from tests.factories import INST, T0, Num, dec

Level = tuple[Num, Num]
"""A book level as ``(price, size)``."""


def book(
    venue: str = "binance",
    bids: Sequence[Level] = (),
    asks: Sequence[Level] = (),
    *,
    instrument: str = INST,
    kind: str = "SNAPSHOT",
    ts: int = T0,
    exchange_ts_ns: int | None = None,
    **changes: Any,
) -> BookUpdate:
    """A ``BookUpdate`` record (no sequences, no checksum); receive and process time ``ts``."""
    record: dict[str, Any] = {
        "venue": venue,
        "instrument": instrument,
        "kind": kind,
        "bids": [PriceLevel(price=Decimal(p), size=Decimal(s)) for p, s in bids],
        "asks": [PriceLevel(price=Decimal(p), size=Decimal(s)) for p, s in asks],
        "depth": None,
        "first_sequence": None,
        "last_sequence": None,
        "prev_sequence": None,
        "checksum": None,
        "exchange_ts_ns": exchange_ts_ns,
        "receive_ts_ns": ts,
        "process_ts_ns": ts,
    }
    return BookUpdate(**(record | changes))


def top_book(
    venue: str = "binance",
    bid: Num = "100",
    ask: Num = "101",
    *,
    size: Num = "1",
    ts: int = T0,
    **changes: Any,
) -> BookUpdate:
    """A one-level ``BookUpdate`` snapshot: ``size`` at ``bid`` and at ``ask``, all times ``ts``."""
    return book(venue, [(bid, size)], [(ask, size)], ts=ts, exchange_ts_ns=ts, **changes)


def quote(
    venue: str = "binance",
    bid: Num | None = "100",
    ask: Num | None = "101",
    *,
    size: Num = "1",
    instrument: str = INST,
    ts: int = T0,
    **changes: Any,
) -> Quote:
    """A venue's ``Quote`` (source ``VENUE_BBO``): ``size`` on each side, all times ``ts``."""
    record: dict[str, Any] = {
        "venue": venue,
        "instrument": instrument,
        "bid_price": dec(bid),
        "bid_size": Decimal(size),
        "ask_price": dec(ask),
        "ask_size": Decimal(size),
        "source": "VENUE_BBO",
        "exchange_ts_ns": ts,
        "receive_ts_ns": ts,
        "process_ts_ns": ts,
    }
    return Quote(**(record | changes))


def nbbo(
    bid: Num = "100",
    ask: Num = "101",
    *,
    ts: int = T0,
    size: Num = "1",
    bid_venue: str = "okx",
    ask_venue: str = "binance",
    instrument: str = INST,
    **changes: Any,
) -> ConsolidatedQuote:
    """A ``ConsolidatedQuote`` (``md.nbbo``) of two venues; all times ``ts``."""
    record: dict[str, Any] = {
        "instrument": instrument,
        "bid_price": Decimal(bid),
        "bid_size": Decimal(size),
        "bid_venue": bid_venue,
        "ask_price": Decimal(ask),
        "ask_size": Decimal(size),
        "ask_venue": ask_venue,
        "venue_count": 2,
        "bid_receive_ts_ns": ts,
        "ask_receive_ts_ns": ts,
        "process_ts_ns": ts,
    }
    return ConsolidatedQuote(**(record | changes))


def trade(
    price: Num = "100",
    size: Num = "1",
    *,
    ts: int = T0,
    venue: str = "binance",
    instrument: str = INST,
    side: str = "BUY",
    trade_id: str | None = None,
    **changes: Any,
) -> Trade:
    """A public ``Trade`` (``md.trades``), id ``t<ts>`` unless given; all times ``ts``."""
    record: dict[str, Any] = {
        "venue": venue,
        "instrument": instrument,
        "trade_id": trade_id or f"t{ts}",
        "price": Decimal(price),
        "size": Decimal(size),
        "side": side,
        "exchange_ts_ns": ts,
        "receive_ts_ns": ts,
        "process_ts_ns": ts,
        "connection_id": None,
        "frame_sequence": None,
    }
    return Trade(**(record | changes))
