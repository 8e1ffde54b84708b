"""Gemini market data v2: ccxt parses ``l2_updates`` (the first per symbol is the whole
book) and ``trade``; this adds book priming (ccxt starts a book from an update that
arrives before the first ``l2_updates`` snapshot, which would be published as a snapshot)
and book metadata. No ids and no checksum.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tapewire.streams.normalize.ccxt_offline import OfflineVenue
from tapewire.streams.normalize.mappers.gemini import is_snapshot
from tapewire.streams.normalize.venues.base import BookMeta, VenueAdapter


class GeminiAdapter(VenueAdapter):
    """Gemini (market data v2) adapter."""

    venue: ClassVar[str] = "gemini"
    ws_url: ClassVar[str] = "wss://api.gemini.com/v2/marketdata"

    def book_meta(self, venue: OfflineVenue, message: Any) -> list[BookMeta]:
        """``l2_updates`` frames."""
        if not isinstance(message, dict) or message.get("type") != "l2_updates":
            return []
        native = str(message.get("symbol")).lower()
        return [BookMeta(symbol=self.symbol(venue, native, "spot"), snapshot=is_snapshot(message))]

    def prime(self, venue: OfflineVenue, symbol: str) -> None:
        """An empty book not marked as a snapshot: updates before the first snapshot are
        applied by ccxt and dropped by the normalizer."""
        if symbol not in venue.ex.orderbooks:
            book = venue.ex.order_book({})
            book["symbol"] = symbol
            book.was_reset = False
            venue.ex.orderbooks[symbol] = book
