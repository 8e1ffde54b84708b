"""Bybit v5 spot: ccxt parses ``publicTrade`` and ``orderbook.{depth}`` (snapshot/delta);
this adds what ccxt lacks (research: ``docs/research/ccxt-offline-parsing.md``):

* **``u`` continuity.** Bybit documents ``u`` (update id) as "always in sequence" per
  topic: a delta must carry the previous frame's ``u`` + 1. A ``snapshot`` frame always
  resets the book (``u`` = 1 is the snapshot Bybit sends after a service restart). ccxt
  checks nothing; here a discontinuous delta is not applied and is rejected as
  ``InvalidNonce`` on ccxt's book hash, which the normalizer turns into a ``sequence_gap``.
  The book resyncs on the next ``snapshot`` frame (the connector re-subscribes).
* **No delta before a snapshot.** ccxt applies a delta that arrives before any snapshot to
  an empty book (and would resolve it as a new book). Such deltas are dropped before ccxt
  sees them, as are deltas while a book waits for its resync snapshot.
* **One book depth per instrument.** ccxt keeps one book per symbol, so ``orderbook.1``
  would overwrite ``orderbook.50``. The first L2 depth (> 1) seen for a symbol is its
  book; a frame of another L2 depth for that symbol is a DeadLetter (``DepthConflict``).
* **BBO from ``orderbook.1``**, parsed by ccxt on a second exchange object of its own.
  ccxt's bid/ask ticker for it comes back with ``bid``/``ask`` = None in exact mode (it
  reads the Decimal book back through ``safe_number``), so the quote takes the top of that
  depth-1 book. ``orderbook.1`` frames produce quotes only, never ``md.book`` records.
  Spot ``tickers`` frames carry no bid/ask; ccxt still resolves them as tickers, which are
  dropped (they would be quotes with every price null; found with a recorded 2026 capture
  not vendored for licence reasons, see ``tests/data/real/README.md``).
* **Timestamps** in ns from the frame: trades ``T`` (ccxt's ms), books and quotes ``cts``
  (matching-engine time, comparable with trade ``T``), else ``ts`` (push time).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ccxt.base.errors import InvalidNonce

from tapewire.core.records import Record
from tapewire.streams.normalize.ccxt_offline import (
    CapturedRest,
    Decoder,
    FrameResult,
    OfflineVenue,
    RecordingOrderBook,
)
from tapewire.streams.normalize.venues.base import MS, BookMeta, VenueAdapter, int_or_none

BBO_DEPTH = 1


class DepthConflict(ValueError):  # noqa: N818 (the class name is the DeadLetter error_type)
    """A book frame of another L2 depth than the one the instrument's book uses."""


def book_topic(message: Any) -> tuple[int, str, str | None, int | None] | None:
    """``(depth, type, native symbol, u)`` of an ``orderbook.{depth}.{symbol}`` frame."""
    if not isinstance(message, dict):
        return None
    topic = message.get("topic")
    if not isinstance(topic, str) or not topic.startswith("orderbook."):
        return None
    depth = int_or_none(topic.split(".", 2)[1])
    kind = message.get("type")
    data = message.get("data")
    if depth is None or kind not in ("snapshot", "delta") or not isinstance(data, dict):
        return None
    native = data.get("s")
    return depth, str(kind), native if isinstance(native, str) else None, int_or_none(data.get("u"))


def frame_ts_ns(message: Any) -> int | None:
    """``cts`` (matching engine) or else ``ts`` (push time) of a frame, ms -> ns."""
    if not isinstance(message, dict):
        return None
    ms = int_or_none(message.get("cts"))
    if ms is None:
        ms = int_or_none(message.get("ts"))
    return ms * MS if ms is not None else None


class BybitVenue(OfflineVenue):
    """The L2 ccxt object plus a second one for ``orderbook.1`` (BBO), with ``u`` gating.

    ``last_u[symbol]`` is the update id of the last frame applied to ccxt's book; a symbol
    absent from it waits for a snapshot (deltas are dropped).
    """

    def __init__(self, exchange: Any, ws_url: str, rest: CapturedRest, decoder: Decoder) -> None:
        super().__init__(exchange, ws_url, rest, decoder)
        self.bbo: OfflineVenue | None = None
        self.last_u: dict[str, int] = {}
        self.bbo_last_u: dict[str, int] = {}

    def handle(self, message: Any) -> FrameResult:
        """Route book frames through the ``u`` checks; everything else straight to ccxt."""
        topic = book_topic(message)
        if topic is None:
            res = super().handle(message)
            res.quotes = []  # spot ``tickers`` have no bid/ask: quotes come from orderbook.1
            return res
        depth, kind, native, u = topic
        symbol = str(self.ex.safe_symbol(native, None, None, "spot"))
        if depth == BBO_DEPTH:
            return self._bbo(message, symbol, kind, u)
        if kind == "delta":
            last = self.last_u.get(symbol)
            if last is None:  # no snapshot yet, or waiting for the resync snapshot
                return FrameResult()
            if u is None or u != last + 1:
                del self.last_u[symbol]
                self.ex.orderbooks.pop(symbol, None)
                err = InvalidNonce(f"bybit {symbol} delta u={u} after u={last}")
                self.client.reject(err, "orderbook:" + symbol)
                return self.collect()
        res = super().handle(message)
        if res.error is None and u is not None:
            self.last_u[symbol] = u
        else:
            self.last_u.pop(symbol, None)
        return res

    def _bbo(self, message: Any, symbol: str, kind: str, u: int | None) -> FrameResult:
        """``orderbook.1`` on its own ccxt object; a quote from the top of that book."""
        bbo = self.bbo
        if bbo is None:
            return FrameResult()
        if kind == "delta":
            last = self.bbo_last_u.get(symbol)
            if last is None or u is None or u != last + 1:  # wait for the next snapshot
                self.bbo_last_u.pop(symbol, None)
                bbo.ex.orderbooks.pop(symbol, None)
                return FrameResult()
        res = bbo.handle(message)
        if res.error is not None or u is None:
            self.bbo_last_u.pop(symbol, None)
            bbo.ex.orderbooks.pop(symbol, None)
            return FrameResult(error=res.error)
        self.bbo_last_u[symbol] = u
        quotes = []
        for book, ticker in zip(res.books, res.quotes, strict=False):
            quote = dict(ticker)
            for side, price, size in (("bids", "bid", "bidVolume"), ("asks", "ask", "askVolume")):
                levels = book[side]
                top = levels[0] if len(levels) else (None, None)
                quote[price], quote[size] = top[0], top[1]
            quotes.append(quote)
        return FrameResult(quotes=quotes)


class BybitAdapter(VenueAdapter):
    """Bybit v5 spot adapter."""

    venue: ClassVar[str] = "bybit"
    ws_url: ClassVar[str] = "wss://stream.bybit.com/v5/public/spot"  # "spot": ccxt's market type
    options: ClassVar[dict[str, Any]] = {"fetchMarkets": {"types": ["spot"]}}

    def __init__(self) -> None:
        super().__init__()
        self._depth: dict[str, int] = {}

    def create(
        self,
        rest: Mapping[str, bytes] | None,
        markets: list[dict[str, Any]] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> OfflineVenue:
        """The L2 ccxt object, with a second one for ``orderbook.1`` attached."""
        kwargs: dict[str, Any] = {
            "ws_url": self.ws_url,
            "rest": rest,
            "markets": markets,
            "options": self.ccxt_options(options),
            "decoder": type(self).decoder,
        }
        venue = BybitVenue.create(self.venue, **kwargs)
        assert isinstance(venue, BybitVenue)
        venue.bbo = OfflineVenue.create(self.venue, **kwargs)
        return venue

    def book_meta(self, venue: OfflineVenue, message: Any) -> list[BookMeta]:
        """L2 ``orderbook.{depth}`` frames (``orderbook.1`` is the BBO, not a book)."""
        topic = book_topic(message)
        if topic is None or topic[0] == BBO_DEPTH:
            return []
        depth, kind, native, u = topic
        symbol = self.symbol(venue, native, "spot")
        pinned = self._depth.setdefault(symbol, depth)
        if depth != pinned:
            raise DepthConflict(
                f"orderbook.{depth} frame for {symbol}, whose book is orderbook.{pinned}"
            )
        return [
            BookMeta(
                symbol=symbol,
                snapshot=kind == "snapshot",
                last_sequence=u,
                exchange_ts_ns=frame_ts_ns(message),
            )
        ]

    def invalidate(self, venue: OfflineVenue, symbol: str) -> None:
        """Drop ccxt's book; deltas are dropped until the next snapshot."""
        super().invalidate(venue, symbol)
        if isinstance(venue, BybitVenue):
            venue.last_u.pop(symbol, None)

    def snapshot_depth(self, book: RecordingOrderBook) -> int | None:
        """The ``orderbook.{depth}`` the instrument's book comes from."""
        return self._depth.get(str(book["symbol"]))

    def quote_ts_ns(self, quote: Record, message: Any) -> int | None:
        """``cts``/``ts`` of the ``orderbook.1`` frame."""
        ts = frame_ts_ns(message)
        return ts if ts is not None else super().quote_ts_ns(quote, message)
