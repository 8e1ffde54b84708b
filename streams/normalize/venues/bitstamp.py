"""Bitstamp spot: ccxt parses ``live_trades`` and ``diff_order_book`` (deltas, which it
syncs from a REST snapshot); this adds the socket snapshot ccxt has no handler for
(``order_book_<pair>``, top 100 levels: the book is reset from it through ccxt's own
``parse_order_book``), book priming, ``microtimestamp`` book metadata and the microsecond
trade times ccxt truncates to ms. JSON numbers are decoded as wire text.

No ids and no checksum: a delta whose ``microtimestamp`` is not newer than the book's is
stale (ccxt drops it too). ccxt's REST snapshot fetch is disabled offline.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tapewire.core.records import Record
from tapewire.streams.normalize.ccxt_offline import (
    Decoder,
    FrameResult,
    OfflineVenue,
    RecordingOrderBook,
    decode_json_floats_as_text,
)
from tapewire.streams.normalize.venues.base import BookMeta, VenueAdapter, int_or_none

DEPTH = 100
US = 1_000


def _book_channel(message: Any) -> tuple[str, bool] | None:
    """``(native pair, snapshot?)`` of an ``order_book_``/``diff_order_book_`` data frame."""
    if not isinstance(message, dict) or message.get("event") != "data":
        return None
    channel = message.get("channel")
    if not isinstance(channel, str):
        return None
    if channel.startswith("diff_order_book_"):
        return channel[16:], False
    if channel.startswith("order_book_"):
        return channel[11:], True
    return None


class BitstampVenue(OfflineVenue):
    """ccxt's Bitstamp object, plus ``order_book_<pair>`` snapshots."""

    def handle(self, message: Any) -> FrameResult:
        """Reset ccxt's book from an ``order_book_`` frame; everything else to ccxt."""
        book_channel = _book_channel(message)
        if book_channel is None or not book_channel[1]:
            return super().handle(message)
        try:
            ex = self.ex
            symbol = ex.safe_symbol(book_channel[0], None, None, "spot")
            data = message["data"]
            micros = int(data["microtimestamp"])
            book = ex.orderbooks.get(symbol)
            if book is None:
                book = ex.orderbooks[symbol] = ex.order_book({})
            book.reset(ex.parse_order_book(data, symbol, micros // 1000))
            book["nonce"] = micros
            book.cache = []
            self.client.resolve(book, "orderbook:" + symbol)
        except Exception as exc:
            res = self.collect()
            res.error = exc
            return res
        return self.collect()


class BitstampAdapter(VenueAdapter):
    """Bitstamp spot adapter."""

    venue: ClassVar[str] = "bitstamp"
    ws_url: ClassVar[str] = "wss://ws.bitstamp.net"
    options: ClassVar[dict[str, Any]] = {"watchOrderBook": {"snapshotDelay": 1 << 62}}
    decoder: ClassVar[Decoder] = staticmethod(decode_json_floats_as_text)
    venue_class: ClassVar[type[OfflineVenue]] = BitstampVenue

    def book_meta(self, venue: OfflineVenue, message: Any) -> list[BookMeta]:
        """Book snapshot and diff frames: ``microtimestamp`` is the sequence and the time."""
        book_channel = _book_channel(message)
        if book_channel is None:
            return []
        data = message.get("data")
        micros = int_or_none(data.get("microtimestamp")) if isinstance(data, dict) else None
        return [
            BookMeta(
                symbol=self.symbol(venue, book_channel[0], "spot"),
                snapshot=book_channel[1],
                last_sequence=micros,
                exchange_ts_ns=micros * US if micros is not None else None,
            )
        ]

    def prime(self, venue: OfflineVenue, symbol: str) -> None:
        """A book with ``nonce=None``: ccxt caches deltas until a snapshot resets it."""
        if symbol in venue.ex.orderbooks:
            return
        book = venue.ex.order_book({})
        book["nonce"] = None
        book["symbol"] = symbol
        book.cache = []
        venue.ex.orderbooks[symbol] = book

    def snapshot_depth(self, book: RecordingOrderBook) -> int | None:
        """``order_book_<pair>`` frames hold the top 100 levels per side."""
        return DEPTH

    def trade_ts_ns(self, trade: Record) -> int | None:
        """``microtimestamp`` of the raw trade."""
        info = trade.get("info")
        micros = int_or_none(info.get("microtimestamp")) if isinstance(info, dict) else None
        return micros * US if micros is not None else super().trade_ts_ns(trade)
