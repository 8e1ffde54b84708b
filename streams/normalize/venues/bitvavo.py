"""Bitvavo spot: ccxt parses ``trade``, ``book`` deltas, the ``getBook`` snapshot and
``ticker24h``; this adds what ccxt's offline run lacks:

* book priming with the "snapshot already requested" flag set (ccxt would schedule its own
  ``getBook`` request with ``delay``; the connector sends it and captures the response);
* the ``nonce`` checks ccxt does not make: a stale delta (nonce not above the book's) is
  dropped without resolving the book, a jump (nonce above the book's + 1) is a
  ``sequence_gap`` (the book waits for the next ``getBook``, the delta is buffered), a
  ``getBook`` response whose nonce the buffered deltas do not continue is not applied (the
  book keeps waiting), and one that arrives while the book is live is ignored;
* ``ticker`` frames (best bid/ask; ccxt.pro has no handler) as one quote each, and one quote
  per market of a ``ticker24h`` frame (ccxt resolves each twice).
"""

from __future__ import annotations

from typing import Any, ClassVar

from ccxt.base.errors import InvalidNonce

from tapewire.streams.normalize.ccxt_offline import FrameResult, OfflineVenue
from tapewire.streams.normalize.venues.base import BookMeta, VenueAdapter, int_or_none


def _book(message: Any) -> tuple[dict[str, Any], bool] | None:
    """``(book object, snapshot?)`` of a ``book`` event or a ``getBook`` response."""
    if not isinstance(message, dict):
        return None
    if message.get("event") == "book":
        return message, False
    response = message.get("response")
    if message.get("action") == "getBook" and isinstance(response, dict):
        return response, True
    return None


def prime(venue: OfflineVenue, symbol: str, market_id: str) -> Any:
    """The book ``watch_order_book`` leaves (``nonce=None``, a delta cache), with ccxt's
    own snapshot request marked as already made."""
    ex = venue.ex
    book = ex.orderbooks.get(symbol)
    if book is None:
        book = ex.orderbooks[symbol] = ex.order_book({})
        book["nonce"] = None
        book.cache = []
        key = "book@" + market_id
        subscription = venue.client.subscriptions.setdefault(key, {})
        subscription["watchingOrderBookSnapshot@" + market_id] = True
    return book


class BitvavoVenue(OfflineVenue):
    """ccxt's Bitvavo object with nonce bookkeeping and ``ticker`` quotes."""

    def handle(self, message: Any) -> FrameResult:
        """See the module docstring."""
        try:
            found = _book(message)
            if found is not None:
                return self._book(message, *found)
            if isinstance(message, dict) and message.get("event") == "ticker":
                return self._ticker(message)
        except Exception as exc:
            res = self.collect()
            res.error = exc
            return res
        res = super().handle(message)
        if len(res.quotes) > 1:  # ticker24h: a bid/ask ticker and a ticker per market
            unique: dict[Any, dict[str, Any]] = {}
            for quote in res.quotes:
                unique.setdefault(quote.get("symbol"), quote)
            res.quotes = list(unique.values())
        return res

    def _book(self, message: Any, data: dict[str, Any], snapshot: bool) -> FrameResult:
        ex = self.ex
        market_id = data["market"]
        symbol = ex.safe_symbol(market_id, None, "-")
        book = prime(self, symbol, market_id)
        nonce = int_or_none(data.get("nonce"))
        last = book["nonce"]
        if nonce is None:
            raise ValueError(f"bitvavo book without an integer nonce: {data.get('nonce')!r}")
        if snapshot:
            if isinstance(last, int):
                return FrameResult()  # the live book is ahead of any snapshot
            expected = nonce + 1
            for cached in book.cache:
                cached_nonce = int_or_none(cached.get("nonce"))
                if cached_nonce is None or cached_nonce < expected:
                    continue
                if cached_nonce != expected:
                    return FrameResult()  # cannot be bridged to the buffered deltas
                expected += 1
            res = super().handle(message)
            book.cache = []
            return res
        if isinstance(last, int):
            if nonce <= last:
                return FrameResult()  # already in the book
            if nonce != last + 1:
                ex.orderbooks.pop(symbol, None)
                prime(self, symbol, market_id).cache.append(message)
                self.client.reject(InvalidNonce(f"bitvavo nonce {last} -> {nonce}"), symbol)
                return self.collect()
        return super().handle(message)

    def _ticker(self, message: dict[str, Any]) -> FrameResult:
        ex = self.ex
        market = ex.safe_market(message.get("market"), None, "-")
        ticker = ex.safe_ticker(
            {
                "symbol": market["symbol"],
                "bid": ex.safe_string(message, "bestBid"),
                "bidVolume": ex.safe_string(message, "bestBidSize"),
                "ask": ex.safe_string(message, "bestAsk"),
                "askVolume": ex.safe_string(message, "bestAskSize"),
                "info": message,
            },
            market,
        )
        self.client.resolve(ticker, "ticker:" + market["symbol"])
        return self.collect()


class BitvavoAdapter(VenueAdapter):
    """Bitvavo spot adapter."""

    venue: ClassVar[str] = "bitvavo"
    ws_url: ClassVar[str] = "wss://ws.bitvavo.com/v2"
    market_paths: ClassVar[tuple[str, ...]] = ()
    venue_class: ClassVar[type[OfflineVenue]] = BitvavoVenue

    def book_meta(self, venue: OfflineVenue, message: Any) -> list[BookMeta]:
        """``book`` deltas and ``getBook`` snapshots: ``nonce`` is the sequence."""
        found = _book(message)
        if found is None:
            return []
        data, snapshot = found
        return [
            BookMeta(
                symbol=self.symbol(venue, data.get("market"), "spot"),
                snapshot=snapshot,
                last_sequence=int_or_none(data.get("nonce")),
            )
        ]

    def prime(self, venue: OfflineVenue, symbol: str) -> None:
        """Empty waiting book (see :func:`prime`)."""
        market = venue.ex.markets.get(symbol)
        if market is not None:
            prime(venue, symbol, market["id"])

    def invalidate(self, venue: OfflineVenue, symbol: str) -> None:
        """Drop the book unless it already waits (its buffered deltas are kept)."""
        book = venue.ex.orderbooks.get(symbol)
        if book is not None and book["nonce"] is None:
            return
        super().invalidate(venue, symbol)
