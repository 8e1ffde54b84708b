"""Crypto.com Exchange v1: ccxt parses ``trade``, ``book``/``book.update`` and ``ticker``;
this adds markets from ``public/get-instruments``, what ccxt's book handler lacks
(:mod:`.sequenced`: ccxt raises on a ``pu`` mismatch instead of signalling a gap and would
start a book from a delta) and one quote per ``ticker`` frame (ccxt resolves it twice, as
a bid/ask and as a ticker). The ``cs`` checksum is kept, not verified (undocumented).
"""

from __future__ import annotations

from typing import Any, ClassVar

from tapewire.streams.normalize.ccxt_offline import FrameResult, OfflineVenue, RecordingOrderBook
from tapewire.streams.normalize.venues.base import MS, BookMeta, VenueAdapter, int_or_none
from tapewire.streams.normalize.venues.sequenced import BookFrame, SequencedVenue


def _book_items(message: Any) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    if not isinstance(message, dict) or message.get("method") != "subscribe":
        return None
    result = message.get("result")
    if not isinstance(result, dict) or result.get("channel") not in ("book", "book.update"):
        return None
    data = result.get("data")
    items = [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []
    return (result, items) if items else None


class CryptocomVenue(SequencedVenue):
    """ccxt's Crypto.com object: sequence bookkeeping, one quote per ticker frame."""

    def book_frame(self, message: Any) -> BookFrame | None:
        """A book frame's instrument, kind and ``u``/``pu``."""
        found = _book_items(message)
        if found is None:
            return None
        result, items = found
        item = items[0]
        return BookFrame(
            self.ex.safe_symbol(result.get("instrument_name")),
            result["channel"] == "book",
            int_or_none(item.get("u")),
            int_or_none(item.get("pu")),
        )

    def collect(self) -> FrameResult:
        """What ccxt resolved, the second copy of a ticker's quote dropped."""
        res = super().collect()
        if len(res.quotes) > 1:
            seen: set[Any] = set()
            quotes = []
            for quote in res.quotes:
                if quote.get("symbol") not in seen:
                    seen.add(quote.get("symbol"))
                    quotes.append(quote)
            res.quotes = quotes
        return res


class CryptocomAdapter(VenueAdapter):
    """Crypto.com spot and perpetuals."""

    venue: ClassVar[str] = "cryptocom"
    ws_url: ClassVar[str] = "wss://stream.crypto.com/exchange/v1/market"
    venue_class: ClassVar[type[OfflineVenue]] = CryptocomVenue

    def book_meta(self, venue: OfflineVenue, message: Any) -> list[BookMeta]:
        """``book`` snapshots and ``book.update`` deltas."""
        found = _book_items(message)
        if found is None:
            return []
        result, items = found
        symbol = self.symbol(venue, result.get("instrument_name"))
        out = []
        for item in items:
            ts = int_or_none(item.get("t"))
            out.append(
                BookMeta(
                    symbol=symbol,
                    snapshot=result["channel"] == "book",
                    last_sequence=int_or_none(item.get("u")),
                    prev_sequence=int_or_none(item.get("pu")),
                    checksum=int_or_none(item.get("cs")),
                    exchange_ts_ns=ts * MS if ts is not None else None,
                )
            )
        return out

    def invalidate(self, venue: OfflineVenue, symbol: str) -> None:
        """Drop the book and its last id: deltas wait for the next snapshot."""
        if isinstance(venue, SequencedVenue):
            venue.forget(symbol)
        else:
            super().invalidate(venue, symbol)

    def snapshot_depth(self, book: RecordingOrderBook) -> int | None:
        """The subscribed depth ccxt limits the book to."""
        depth = book["asks"]._depth
        return depth if isinstance(depth, int) and depth < 1 << 30 else None
