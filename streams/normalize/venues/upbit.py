"""Upbit spot: ccxt parses ``trade``, ``orderbook`` (every frame a full top-N snapshot, which
ccxt resets its book from) and ``ticker``; this adds the quote of an ``orderbook`` frame's
first unit (Upbit's ticker has no best bid/ask: ccxt's ticker quote is empty and dropped),
a book for a REALTIME frame that arrives before any SNAPSHOT (ccxt only creates one on a
SNAPSHOT), no truncation to ccxt's default 15 levels (up to 30 units are sent), the number
of units as the snapshot depth and the trade time ``trade_timestamp`` (ccxt takes the
message ``timestamp``). JSON numbers are decoded as wire text.
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
from tapewire.streams.normalize.venues.base import MS, VenueAdapter, int_or_none

MAX_UNITS = 30


class UpbitVenue(OfflineVenue):
    """ccxt's Upbit object: quotes from ``orderbook`` frames, none from ``ticker`` frames."""

    def handle(self, message: Any) -> FrameResult:
        """ccxt's handler; an ``orderbook`` frame also resolves its top unit as a quote."""
        kind = message.get("type") if isinstance(message, dict) else None
        if kind != "orderbook":
            res = super().handle(message)
            if kind == "ticker":
                res.quotes = [q for q in res.quotes if q.get("bid") or q.get("ask")]
            return res
        try:
            ex = self.ex
            symbol = ex.safe_symbol(ex.safe_string(message, "code"), None, "-")
            if symbol not in ex.orderbooks:
                ex.orderbooks[symbol] = ex.order_book({}, MAX_UNITS)
            units = message["orderbook_units"]
            top = units[0]
            ex.handle_message(self.client, message)
            ex.orderbooks[symbol].snapshot_limit = len(units)
            ticker = ex.safe_ticker(
                {
                    "symbol": symbol,
                    "timestamp": ex.safe_integer(message, "timestamp"),
                    "bid": ex.safe_string(top, "bid_price"),
                    "bidVolume": ex.safe_string(top, "bid_size"),
                    "ask": ex.safe_string(top, "ask_price"),
                    "askVolume": ex.safe_string(top, "ask_size"),
                    "info": message,
                }
            )
            self.client.resolve(ticker, "bidask:" + symbol)
        except Exception as exc:
            res = self.collect()
            res.error = exc
            return res
        return self.collect()


class UpbitAdapter(VenueAdapter):
    """Upbit spot adapter."""

    venue: ClassVar[str] = "upbit"
    ws_url: ClassVar[str] = "wss://api.upbit.com/websocket/v1"
    options: ClassVar[dict[str, Any]] = {"watchOrderBook": {"limit": MAX_UNITS}}
    decoder: ClassVar[Decoder] = staticmethod(decode_json_floats_as_text)
    market_paths: ClassVar[tuple[str, ...]] = ()
    venue_class: ClassVar[type[OfflineVenue]] = UpbitVenue

    def snapshot_depth(self, book: RecordingOrderBook) -> int | None:
        """Units of the last ``orderbook`` frame."""
        limit = getattr(book, "snapshot_limit", None)
        return limit if isinstance(limit, int) else None

    def trade_ts_ns(self, trade: Record) -> int | None:
        """``trade_timestamp`` of the raw trade (ms)."""
        info = trade.get("info")
        ms = int_or_none(info.get("trade_timestamp")) if isinstance(info, dict) else None
        return ms * MS if ms is not None else super().trade_ts_ns(trade)
