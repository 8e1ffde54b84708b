"""Kraken Futures: ccxt parses ``trade``/``trade_snapshot``, ``book_snapshot``/``book`` and
``ticker``/``ticker_lite``; this adds the decoder (JSON numbers kept as wire text) and what
ccxt's book handler lacks (:mod:`.sequenced`): a snapshot starts a fresh book, each ``book``
frame's ``seq`` must be the last one + 1 (else a ``sequence_gap``), updates of a book that
is not synced are ignored (ccxt's handler would raise without a book), the book's sequence
is ``seq``. Ticker times come from ``time`` (ccxt reads a ``lastTime`` the feed lacks).
"""

from __future__ import annotations

from typing import Any, ClassVar

from tapewire.core.records import Record
from tapewire.streams.normalize.ccxt_offline import (
    Decoder,
    OfflineVenue,
    decode_json_floats_as_text,
)
from tapewire.streams.normalize.venues.base import MS, BookMeta, VenueAdapter, int_or_none
from tapewire.streams.normalize.venues.sequenced import BookFrame, SequencedVenue

_BOOK_FEEDS = ("book", "book_snapshot")


def _book_message(message: Any) -> dict[str, Any] | None:
    if isinstance(message, dict) and message.get("feed") in _BOOK_FEEDS and "event" not in message:
        return message
    return None


class KrakenFuturesVenue(SequencedVenue):
    """ccxt's Kraken Futures object with snapshot resets and ``seq`` + 1 checks."""

    def book_frame(self, message: Any) -> BookFrame | None:
        """A ``book``/``book_snapshot`` frame's product and ``seq``."""
        data = _book_message(message)
        if data is None:
            return None
        symbol = self.ex.safe_symbol(data.get("product_id"))
        seq = int_or_none(data.get("seq"))
        snapshot = data["feed"] == "book_snapshot"
        prev = None if snapshot or seq is None else seq - 1
        return BookFrame(symbol, snapshot, seq, prev)


class KrakenFuturesAdapter(VenueAdapter):
    """Kraken Futures perpetuals and fixed-maturity futures."""

    venue: ClassVar[str] = "krakenfutures"
    ws_url: ClassVar[str] = "wss://futures.kraken.com/ws/v1"
    decoder: ClassVar[Decoder] = staticmethod(decode_json_floats_as_text)
    venue_class: ClassVar[type[OfflineVenue]] = KrakenFuturesVenue

    def book_meta(self, venue: OfflineVenue, message: Any) -> list[BookMeta]:
        """``book_snapshot`` / ``book`` frames: ``seq`` and ``timestamp``."""
        data = _book_message(message)
        if data is None:
            return []
        ts = int_or_none(data.get("timestamp"))
        return [
            BookMeta(
                symbol=self.symbol(venue, data.get("product_id")),
                snapshot=data["feed"] == "book_snapshot",
                last_sequence=int_or_none(data.get("seq")),
                exchange_ts_ns=ts * MS if ts is not None else None,
            )
        ]

    def invalidate(self, venue: OfflineVenue, symbol: str) -> None:
        """Drop the book and its last ``seq``: updates wait for the next snapshot."""
        if isinstance(venue, SequencedVenue):
            venue.forget(symbol)
        else:
            super().invalidate(venue, symbol)

    def quote_ts_ns(self, quote: Record, message: Any) -> int | None:
        """``time`` (ms) of a ``ticker`` frame; ``ticker_lite`` has none."""
        ts = int_or_none(message.get("time")) if isinstance(message, dict) else None
        return ts * MS if ts is not None else super().quote_ts_ns(quote, message)
