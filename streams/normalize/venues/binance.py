"""Binance spot: ccxt parses trades, diff depth and bookTicker; this adds the REST-snapshot
sync (the connector captures ``GET /api/v3/depth`` into md.raw) and book priming.

Gaps: ccxt raises its (misnamed) ``ChecksumError`` on a ``U != prev u + 1`` delta, deletes
the book and rejects the ``orderbook::SYM`` hash; the normalizer turns that into a resync and
the adapter re-primes so later deltas are buffered until the next captured REST snapshot.
Binance sends no checksum. ``bookTicker`` has no timestamp (exchange ts is null).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

from tapewire.streams.normalize.ccxt_offline import FrameResult, OfflineVenue, RecordingOrderBook
from tapewire.streams.normalize.venues.base import MS, BookMeta, VenueAdapter, int_or_none

DEFAULT_LIMIT = 1000


class BinanceAdapter(VenueAdapter):
    """Binance spot adapter."""

    venue: ClassVar[str] = "binance"
    ws_url: ClassVar[str] = "wss://stream.binance.com:9443/stream"  # '/stream' => spot
    options: ClassVar[dict[str, Any]] = {"fetchMarkets": {"types": ["spot"]}}
    snapshot_path: ClassVar[str | None] = "/api/v3/depth"
    market_type: ClassVar[str] = "spot"
    """ccxt market type of the feed's native ids."""
    subscription_type: ClassVar[str] = "spot"
    """``type`` of ccxt's order-book subscription (``linear`` for USD-M futures)."""

    def book_meta(self, venue: OfflineVenue, message: Any) -> list[BookMeta]:
        """Diff-depth frames (plain or combined-stream wrapped)."""
        if (
            isinstance(message, dict)
            and "stream" in message
            and isinstance(message.get("data"), dict)
        ):
            message = message["data"]
        if not isinstance(message, dict) or message.get("e") != "depthUpdate":
            return []
        symbol = self.symbol(venue, message.get("s"), self.market_type)
        event_ms = int_or_none(message.get("E"))
        return [
            BookMeta(
                symbol=symbol,
                snapshot=False,
                first_sequence=int_or_none(message.get("U")),
                last_sequence=int_or_none(message.get("u")),
                prev_sequence=int_or_none(message.get("pu")),  # USD-M futures only
                exchange_ts_ns=event_ms * MS if event_ms is not None else None,
            )
        ]

    def prime(self, venue: OfflineVenue, symbol: str, limit: int = DEFAULT_LIMIT) -> None:
        """Empty book with ``nonce=None``: ccxt buffers deltas in ``orderbook.cache``."""
        if symbol in venue.ex.orderbooks:
            return
        book = venue.ex.order_book({}, limit)
        book["nonce"] = None
        book["symbol"] = symbol
        book.cache = []
        venue.ex.orderbooks[symbol] = book
        venue.client.subscriptions["orderbook::" + symbol] = self._subscription(symbol, limit)

    def _subscription(self, symbol: str, limit: int) -> dict[str, Any]:
        return {"symbol": symbol, "type": self.subscription_type, "limit": limit, "params": {}}

    def rest_snapshot_symbol(self, venue: OfflineVenue, url: str) -> str | None:
        """Symbol from the ``symbol=`` query parameter."""
        native = (parse_qs(urlparse(url).query).get("symbol") or [""])[0]
        symbol = self.symbol(venue, native, self.market_type)
        return symbol if symbol in venue.ex.markets else None

    def rest_snapshot(
        self, venue: OfflineVenue, url: str, body: bytes
    ) -> tuple[str, FrameResult] | None:
        """Run ccxt's own ``fetch_order_book_snapshot`` (reset + buffered-delta replay)
        with the captured body. A snapshot older than the first buffered delta is refused."""
        query = parse_qs(urlparse(url).query)
        native = (query.get("symbol") or [""])[0]
        limit = int((query.get("limit") or [str(DEFAULT_LIMIT)])[0])
        symbol = venue.ex.safe_symbol(native, None, None, self.market_type)
        if symbol not in venue.ex.markets:
            raise ValueError(f"REST depth snapshot for unknown symbol {native!r}")
        self.prime(venue, symbol, limit)
        book = venue.ex.orderbooks[symbol]
        snapshot_id = int_or_none(json.loads(body).get("lastUpdateId"))
        if snapshot_id is None:
            raise ValueError("REST depth snapshot has no integer lastUpdateId")
        cache = getattr(book, "cache", [])
        if cache and snapshot_id + 1 < (int_or_none(cache[0].get("U")) or 0):
            return symbol, FrameResult()  # too old to bridge to the buffered deltas
        venue.rest.put(url, body)  # ccxt requests it by this URL (same symbol and limit)
        sub = self._subscription(symbol, limit)
        book.snapshot_limit = limit
        return symbol, venue.run(venue.ex.fetch_order_book_snapshot(venue.client, None, sub))

    def snapshot_depth(self, book: RecordingOrderBook) -> int | None:
        """The ``limit`` of the REST snapshot the book was last synced from."""
        limit = getattr(book, "snapshot_limit", None)
        return limit if isinstance(limit, int) else None
