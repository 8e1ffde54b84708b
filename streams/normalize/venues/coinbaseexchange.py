"""Coinbase Exchange: ccxt parses ``match`` (taker side: it inverts the maker ``side``),
``snapshot`` / ``l2update`` and ``ticker``; this adds book priming (ccxt's ``l2update``
handler needs a book to exist: an update before any snapshot would raise), book metadata
and the microsecond times ccxt truncates to ms. ``level2`` has no ids and no checksum.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tapewire.core.records import Record
from tapewire.streams.normalize.ccxt_offline import OfflineVenue
from tapewire.streams.normalize.venues.base import BookMeta, VenueAdapter, iso_to_ns


def _time_ns(message: Any) -> int | None:
    ts = message.get("time") if isinstance(message, dict) else None
    return iso_to_ns(ts) if isinstance(ts, str) else None


class CoinbaseExchangeAdapter(VenueAdapter):
    """Coinbase Exchange (``coinbaseexchange``) adapter."""

    venue: ClassVar[str] = "coinbaseexchange"
    ws_url: ClassVar[str] = "wss://ws-feed.exchange.coinbase.com"

    def book_meta(self, venue: OfflineVenue, message: Any) -> list[BookMeta]:
        """``snapshot`` and ``l2update`` frames."""
        if not isinstance(message, dict) or message.get("type") not in ("snapshot", "l2update"):
            return []
        symbol = self.symbol(venue, message.get("product_id"), "spot")
        snapshot = message["type"] == "snapshot"
        return [BookMeta(symbol=symbol, snapshot=snapshot, exchange_ts_ns=_time_ns(message))]

    def prime(self, venue: OfflineVenue, symbol: str) -> None:
        """An empty book, so that ccxt applies (and the normalizer drops) an update that
        arrives before the first snapshot instead of raising."""
        if symbol not in venue.ex.orderbooks:
            book = venue.ex.order_book({})
            book["symbol"] = symbol
            book.was_reset = False  # not a snapshot: the updates applied to it are dropped
            venue.ex.orderbooks[symbol] = book

    def trade_ts_ns(self, trade: Record) -> int | None:
        """``time`` of the raw ``match``, to the µs."""
        ns = _time_ns(trade.get("info"))
        return ns if ns is not None else super().trade_ts_ns(trade)

    def quote_ts_ns(self, quote: Record, message: Any) -> int | None:
        """``time`` of the ``ticker`` frame, to the µs."""
        ns = _time_ns(message)
        return ns if ns is not None else super().quote_ts_ns(quote, message)
