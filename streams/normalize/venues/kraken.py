"""Kraken spot websocket v2: ccxt parses ``trade``, ``book`` and ``ticker``; this adds the
decoder (v2 sends JSON numbers: kept as wire text), book priming (depth from the
subscription), the CRC32 book checksum ccxt cannot check on exact books, and the
microsecond exchange timestamps ccxt truncates to ms.

Checksum: CRC32 over the top 10 asks then the top 10 bids, each ``price`` and ``qty`` as
wire text with ``.`` removed and leading zeros stripped. Kraken has no sequence numbers:
a checksum mismatch is the gap signal; the book resyncs on the next ``snapshot`` frame.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tapewire.core.records import Record
from tapewire.streams.normalize.ccxt_offline import (
    Decoder,
    OfflineVenue,
    RecordingOrderBook,
    decode_json_floats_as_text,
)
from tapewire.streams.normalize.mappers.common import kraken_crc32
from tapewire.streams.normalize.venues.base import BookMeta, VenueAdapter, int_or_none, iso_to_ns

DEPTH = 10


def kraken_checksum(asks: list[Any], bids: list[Any]) -> int:
    """Kraken book checksum over ccxt's exact levels (shared with the native mapper)."""
    return kraken_crc32(asks, bids)


class KrakenAdapter(VenueAdapter):
    """Kraken spot (websocket v2) adapter."""

    venue: ClassVar[str] = "kraken"
    ws_url: ClassVar[str] = "wss://ws.kraken.com/v2"
    decoder: ClassVar[Decoder] = staticmethod(decode_json_floats_as_text)

    def book_meta(self, venue: OfflineVenue, message: Any) -> list[BookMeta]:
        """``book`` snapshot/update frames."""
        if not isinstance(message, dict) or message.get("channel") != "book":
            return []
        kind = message.get("type")
        out = []
        for item in message.get("data") or []:
            if isinstance(item, dict) and kind in ("snapshot", "update"):
                ts = item.get("timestamp")
                out.append(
                    BookMeta(
                        symbol=self.symbol(venue, item.get("symbol")),
                        snapshot=kind == "snapshot",
                        checksum=int_or_none(item.get("checksum")),
                        exchange_ts_ns=iso_to_ns(ts) if isinstance(ts, str) else None,
                    )
                )
        return out

    def prime(self, venue: OfflineVenue, symbol: str) -> None:
        """Subscribe (ccxt truncates the book to the subscribed depth) and give ccxt an
        empty book: an update before the first snapshot would raise ``KeyError`` in ccxt."""
        venue.client.subscriptions.setdefault("orderbook@" + symbol, {"limit": DEPTH})
        if symbol not in venue.ex.orderbooks:
            book = venue.ex.order_book({}, DEPTH)
            book["symbol"] = symbol
            book.was_reset = False
            venue.ex.orderbooks[symbol] = book

    def invalidate(self, venue: OfflineVenue, symbol: str) -> None:
        """Keep ccxt's (now untrusted, unpublished) book: the next snapshot resets it."""
        self.prime(venue, symbol)

    def verify(self, book: RecordingOrderBook, meta: BookMeta | None) -> str | None:
        """CRC32 of the top 10 levels per side."""
        if meta is None or meta.checksum is None:
            return None
        got = kraken_checksum(book["asks"], book["bids"])
        if got != meta.checksum:
            return f"checksum mismatch: sent {meta.checksum}, book {got}"
        return None

    def snapshot_depth(self, book: RecordingOrderBook) -> int | None:
        """The subscribed depth."""
        return DEPTH

    def trade_ts_ns(self, trade: Record) -> int | None:
        """Microsecond ISO timestamp of the raw trade."""
        info = trade.get("info")
        ts = info.get("timestamp") if isinstance(info, dict) else None
        return iso_to_ns(ts) if isinstance(ts, str) else super().trade_ts_ns(trade)
