"""Gate v4 spot: ccxt parses ``spot.trades``, the order book v2 channel ``spot.obu`` and
``spot.book_ticker``; this adds what its handlers lack:

* **``U``/``u`` continuity.** ccxt applies every ``spot.obu`` delta newer than its book,
  even across lost updates. Here a delta must start at the last ``u`` + 1 (the first after
  a snapshot must cover it); otherwise it is not applied and is rejected as
  ``InvalidNonce`` (the normalizer's ``sequence_gap``) and the book waits for the next
  ``full`` snapshot (Gate's recovery: re-subscribe). Deltas before any snapshot are
  dropped.
* **Trade time to the ns.** ccxt truncates ``create_time_ms`` (``"…213.4578"``) to whole
  ms; the trade's time keeps its fraction.
* **Snapshot depth** from the stream name ``ob.{pair}.{levels}``.
"""

from __future__ import annotations

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


def obu_frame(message: Any) -> tuple[str, bool, int | None, int | None, int | None] | None:
    """``(pair, full, U, u, levels)`` of a ``spot.obu`` update frame."""
    if not isinstance(message, dict) or message.get("channel") != "spot.obu":
        return None
    result = message.get("result")
    if message.get("event") != "update" or not isinstance(result, dict):
        return None
    parts = str(result.get("s") or "").split(".")
    if len(parts) != 3:
        return None
    full = result.get("full") is True
    return (
        parts[1],
        full,
        int_or_none(result.get("U")),
        int_or_none(result.get("u")),
        int_or_none(parts[2]),
    )


class GateVenue(OfflineVenue):
    """ccxt's Gate object with ``U``/``u`` gating of ``spot.obu`` deltas."""

    def __init__(self, exchange: Any, ws_url: str, rest: CapturedRest, decoder: Decoder) -> None:
        super().__init__(exchange, ws_url, rest, decoder)
        self.last_u: dict[str, int] = {}
        """Symbol -> ``u`` of the last frame applied to ccxt's book (absent: waiting)."""
        self.bridged: set[str] = set()

    def handle(self, message: Any) -> FrameResult:
        """Check a delta's range before ccxt applies it."""
        book = obu_frame(message)
        if book is None:
            return super().handle(message)
        pair, full, first, last, _levels = book
        symbol = str(self.ex.safe_symbol(pair, None, "_", "spot"))
        if not full:
            prev = self.last_u.get(symbol)
            if prev is None:
                return FrameResult()  # no snapshot yet, or waiting for the resync snapshot
            if last is not None and last <= prev:
                return FrameResult()  # already in the book
            follows = first is not None and (
                first == prev + 1 if symbol in self.bridged else first <= prev + 1
            )
            if not follows:
                del self.last_u[symbol]
                self.ex.orderbooks.pop(symbol, None)
                self.client.reject(
                    InvalidNonce(f"gate {symbol} delta U={first} after u={prev}"),
                    "orderbook:" + symbol,
                )
                return self.collect()
        res = super().handle(message)
        if res.error is None and last is not None:
            self.last_u[symbol] = last
            if full:
                self.bridged.discard(symbol)
            else:
                self.bridged.add(symbol)
        else:
            self.last_u.pop(symbol, None)
        return res


class GateAdapter(VenueAdapter):
    """Gate v4 spot adapter."""

    venue: ClassVar[str] = "gate"
    ws_url: ClassVar[str] = "wss://api.gateio.ws/ws/v4/"
    options: ClassVar[dict[str, Any]] = {"fetchMarkets": {"types": ["spot"]}}
    venue_class: ClassVar[type[OfflineVenue]] = GateVenue

    def __init__(self) -> None:
        super().__init__()
        self._depth: dict[str, int | None] = {}

    def book_meta(self, venue: OfflineVenue, message: Any) -> list[BookMeta]:
        """``spot.obu`` frames: a ``full`` snapshot or a ``U..u`` delta."""
        book = obu_frame(message)
        if book is None:
            return []
        pair, full, first, last, levels = book
        symbol = self.symbol(venue, pair, "spot")
        if full:
            self._depth[symbol] = levels
        ts = int_or_none(message["result"].get("t"))
        return [
            BookMeta(
                symbol=symbol,
                snapshot=full,
                first_sequence=None if full else first,
                last_sequence=last,
                exchange_ts_ns=ts * MS if ts is not None else None,
            )
        ]

    def invalidate(self, venue: OfflineVenue, symbol: str) -> None:
        """Drop ccxt's book; deltas are dropped until the next snapshot."""
        super().invalidate(venue, symbol)
        if isinstance(venue, GateVenue):
            venue.last_u.pop(symbol, None)

    def snapshot_depth(self, book: RecordingOrderBook) -> int | None:
        """The levels of the ``ob.{pair}.{levels}`` stream."""
        return self._depth.get(str(book["symbol"]))

    def trade_ts_ns(self, trade: Record) -> int | None:
        """``create_time_ms`` with its fraction (ccxt keeps whole ms)."""
        info = trade.get("info")
        text = info.get("create_time_ms") if isinstance(info, dict) else None
        if isinstance(text, str):
            whole, _, frac = text.partition(".")
            if whole.isdigit() and (not frac or frac.isdigit()):
                return int(whole) * MS + int((frac + "000000")[:6])
        return super().trade_ts_ns(trade)
