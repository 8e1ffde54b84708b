"""KuCoin spot: ccxt parses ``/market/match``, ``/market/level2`` and ``/market/ticker``;
this adds the REST-snapshot sync (the connector captures ``GET
/api/v1/market/orderbook/level2_100`` into md.raw; applied as ccxt's ``load_order_book``
does: reset, then the buffered deltas from the bridging one), book priming, the gap check
ccxt lacks (a delta whose ``sequenceStart`` is past the book's ``sequenceEnd + 1`` is
rejected: the book resyncs on the next snapshot) and the ns trade times ccxt truncates.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

from ccxt.base.errors import InvalidNonce

from tapewire.core.records import Record
from tapewire.streams.normalize.ccxt_offline import FrameResult, OfflineVenue, RecordingOrderBook
from tapewire.streams.normalize.venues.base import MS, BookMeta, VenueAdapter, int_or_none

SNAPSHOT_PATH = "/api/v1/market/orderbook/level2_100"
DEPTH = 100


def _delta(message: Any) -> dict[str, Any] | None:
    if not isinstance(message, dict) or message.get("type") != "message":
        return None
    topic, data = message.get("topic"), message.get("data")
    if isinstance(topic, str) and topic.startswith("/market/level2:") and isinstance(data, dict):
        return data
    return None


class KucoinVenue(OfflineVenue):
    """ccxt's KuCoin object with a sequence-gap check on ``/market/level2`` deltas."""

    def handle(self, message: Any) -> FrameResult:
        """Reject a delta that does not follow the synced book; the rest to ccxt."""
        data = _delta(message)
        if data is not None:
            symbol = self.ex.safe_symbol(data.get("symbol"), None, "-")
            book = self.ex.orderbooks.get(symbol)
            nonce = book.get("nonce") if book is not None else None
            start = int_or_none(data.get("sequenceStart"))
            if isinstance(nonce, int) and start is not None and start > nonce + 1:
                self.client.reject(InvalidNonce(f"kucoin gap {nonce} -> {start}"), symbol)
                return self.collect()
        return super().handle(message)


class KucoinAdapter(VenueAdapter):
    """KuCoin spot adapter."""

    venue: ClassVar[str] = "kucoin"
    ws_url: ClassVar[str] = "wss://ws-api-spot.kucoin.com/"
    options: ClassVar[dict[str, Any]] = {"watchOrderBook": {"snapshotDelay": 1 << 62}}
    snapshot_path: ClassVar[str | None] = SNAPSHOT_PATH
    venue_class: ClassVar[type[OfflineVenue]] = KucoinVenue

    def book_meta(self, venue: OfflineVenue, message: Any) -> list[BookMeta]:
        """``/market/level2`` deltas."""
        data = _delta(message)
        if data is None:
            return []
        ms = int_or_none(data.get("time"))
        return [
            BookMeta(
                symbol=self.symbol(venue, data.get("symbol"), "spot"),
                snapshot=False,
                first_sequence=int_or_none(data.get("sequenceStart")),
                last_sequence=int_or_none(data.get("sequenceEnd")),
                exchange_ts_ns=ms * MS if ms is not None else None,
            )
        ]

    def prime(self, venue: OfflineVenue, symbol: str) -> None:
        """Empty book with ``nonce=None``: ccxt buffers deltas in ``orderbook.cache``."""
        if symbol in venue.ex.orderbooks:
            return
        book = venue.ex.order_book({})
        book["nonce"] = None
        book["symbol"] = symbol
        book.cache = []
        venue.ex.orderbooks[symbol] = book

    def rest_snapshot_symbol(self, venue: OfflineVenue, url: str) -> str | None:
        """Symbol from the ``symbol=`` query parameter."""
        native = (parse_qs(urlparse(url).query).get("symbol") or [""])[0]
        symbol = self.symbol(venue, native, "spot")
        return symbol if symbol in venue.ex.markets else None

    def rest_snapshot(
        self, venue: OfflineVenue, url: str, body: bytes
    ) -> tuple[str, FrameResult] | None:
        """ccxt's ``load_order_book`` steps, synchronously, on the captured body."""
        symbol = self.rest_snapshot_symbol(venue, url)
        if symbol is None:
            raise ValueError(f"REST level2 snapshot for an unknown symbol: {url}")
        ex = venue.ex
        self.prime(venue, symbol)
        book = ex.orderbooks[symbol]
        data = json.loads(body).get("data") or {}
        snapshot = ex.parse_order_book(data, symbol, int_or_none(data.get("time")))
        snapshot["nonce"] = int_or_none(data.get("sequence"))
        if snapshot["nonce"] is None:
            raise ValueError("REST level2 snapshot has no integer sequence")
        cache = getattr(book, "cache", [])
        index = ex.get_cache_index(snapshot, cache) if cache else 0
        if index < 0:
            return symbol, FrameResult()  # too old to bridge to the buffered deltas
        book.reset(snapshot)
        book.snapshot_limit = DEPTH
        ex.handle_book_deltas(book, cache[index:])
        cache.clear()
        venue.client.resolve(book, "orderbook:" + symbol)
        return symbol, venue.collect()

    def snapshot_depth(self, book: RecordingOrderBook) -> int | None:
        """``level2_100`` snapshots."""
        limit = getattr(book, "snapshot_limit", None)
        return limit if isinstance(limit, int) else None

    def trade_ts_ns(self, trade: Record) -> int | None:
        """``time`` of the raw trade is in ns."""
        info = trade.get("info")
        ns = int_or_none(info.get("time")) if isinstance(info, dict) else None
        return ns if ns is not None else super().trade_ts_ns(trade)
