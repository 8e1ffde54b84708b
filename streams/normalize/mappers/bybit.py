"""Bybit v5 public spot websocket (``wss://stream.bybit.com/v5/public/spot``; linear and
inverse contracts are other URLs, not mapped here).

Channels: ``publicTrade.{symbol}`` (``S`` is the taker's side, ``i`` the trade id, ``T``
ms), ``orderbook.{depth}.{symbol}`` (``snapshot`` + ``delta``) and best bid/ask from
``orderbook.1`` (a depth-1 book kept per symbol; its frames are quotes, never md.book).
Prices and sizes are JSON strings. ``tickers`` of spot carry no bid/ask: no quote.

Sequencing ``INCREMENT`` on ``u`` (documented "always in sequence" per topic): a delta must
be the book's ``u`` + 1, a repeated or older one is a gap; every snapshot resets the book
(``u`` = 1 after a service restart). No checksum. Book and quote times are ``cts``
(matching engine), else ``ts`` (push time).

State kept by the mapper (as ccxt's adapter keeps it): the first L2 depth (> 1) seen per
symbol is its book; a frame of another depth for it is a dead letter naming its ``topic``;
``orderbook.1`` deltas continue a depth-1 book only while their ``u`` chain (else no quote
until the next ``orderbook.1`` snapshot).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar

from tapewire.streams.normalize.decimals import exact
from tapewire.streams.normalize.errors import NormalizeError
from tapewire.streams.normalize.mappers.base import (
    MS,
    Mapper,
    MarketIndex,
    Sequencing,
    VenueSpec,
    integer,
    levels,
    text,
)
from tapewire.streams.normalize.mappers.common import lookup
from tapewire.streams.normalize.mappers.events import (
    BUY,
    SELL,
    BookEvent,
    Level,
    MapError,
    MarketEvent,
    QuoteEvent,
    TradeEvent,
)

MARKET_TYPE = "spot"
BBO_DEPTH = 1
_SIDES = {"Buy": BUY, "Sell": SELL}


def _subscribe(channel: str, markets: Sequence[str]) -> list[dict[str, Any]]:
    prefix = {"trades": "publicTrade.", "book": "orderbook.50.", "quotes": "orderbook.1."}[channel]
    return [{"op": "subscribe", "args": [prefix + m for m in markets]}]


class _Bbo:
    """A depth-1 book of ``orderbook.1``: levels per side and the last ``u``."""

    __slots__ = ("asks", "bids", "u")

    def __init__(self) -> None:
        self.bids: dict[Decimal, Level] = {}
        self.asks: dict[Decimal, Level] = {}
        self.u = 0

    def apply(self, bids: list[Level], asks: list[Level]) -> None:
        for side, updates in ((self.bids, bids), (self.asks, asks)):
            for price, size in updates:
                key = exact(price, "price")
                if exact(size, "size"):
                    side[key] = (price, size)
                else:
                    side.pop(key, None)

    def top(self) -> tuple[Level | None, Level | None]:
        bid = self.bids[max(self.bids)] if self.bids else None
        ask = self.asks[min(self.asks)] if self.asks else None
        return bid, ask


class BybitMapper(Mapper):
    """Bybit v5 spot frames -> trades, book snapshots/deltas, quotes."""

    spec: ClassVar[VenueSpec] = VenueSpec(
        venue="bybit",
        ws_url="wss://stream.bybit.com/v5/public/spot",
        channels={"trades": "publicTrade", "book": "orderbook.50", "quotes": "orderbook.1"},
        sequencing=Sequencing.INCREMENT,
        market_types=(MARKET_TYPE,),
        subscribe=_subscribe,
        notes="u increments by 1; snapshots on the socket; no checksum",
    )

    def __init__(self, markets: MarketIndex) -> None:
        super().__init__(markets)
        self._depth: dict[str, int] = {}
        self._bbo: dict[str, _Bbo] = {}

    def map(self, message: Any) -> list[MarketEvent]:
        """One websocket frame."""
        if message.__class__ is not dict:
            raise MapError("frame", message, "a JSON object")
        topic = message.get("topic")
        if topic.__class__ is not str:
            return []  # subscription results, pongs
        if topic.startswith("publicTrade."):
            data = message["data"]
            if data.__class__ is not list:
                raise MapError("data", data, "a list of trades")
            return [self._trade(m) for m in data]
        if topic.startswith("orderbook."):
            return self._book(message, topic)
        return []  # tickers (no bid/ask on spot), klines ...

    def _trade(self, m: Any) -> TradeEvent:
        if m.__class__ is not dict:
            raise MapError("data", m, "a trade object")
        side = lookup(m, "S", _SIDES, "Buy or Sell")
        return TradeEvent(
            instrument=self.markets.instrument(m["s"], MARKET_TYPE),
            trade_id=text(m, "i"),
            price=text(m, "p"),
            size=text(m, "v"),
            side=side,
            exchange_ts_ns=integer(m, "T") * MS,
        )

    def _book(self, message: dict[str, Any], topic: str) -> list[MarketEvent]:
        depth_text = topic.split(".", 2)[1]
        if not depth_text.isdigit():
            raise MapError("topic", topic, "orderbook.{depth}.{symbol}")
        depth = int(depth_text)
        kind = message.get("type")
        if kind != "snapshot" and kind != "delta":
            raise MapError("type", kind, "snapshot or delta")
        data = message["data"]
        if data.__class__ is not dict:
            raise MapError("data", data, "a book object")
        instrument = self.markets.instrument(data["s"], MARKET_TYPE)
        u = integer(data, "u")
        bids, asks = levels(data["b"], "b"), levels(data["a"], "a")
        ts = message.get("cts")
        if ts is None:
            ts = message.get("ts")
        if ts.__class__ is not int:
            raise MapError("ts", ts, "milliseconds as an integer")
        exchange_ns = ts * MS
        if depth == BBO_DEPTH:
            return self._quote(instrument, kind == "snapshot", u, bids, asks, exchange_ns)
        pinned = self._depth.setdefault(instrument, depth)
        if depth != pinned:
            raise MapError("topic", topic, f"orderbook.{pinned} (the depth of this book)")
        snapshot = kind == "snapshot"
        return [
            BookEvent(
                instrument=instrument,
                snapshot=snapshot,
                bids=bids,
                asks=asks,
                exchange_ts_ns=exchange_ns,
                last_sequence=u,
                depth=depth if snapshot else None,
            )
        ]

    def _quote(
        self,
        instrument: str,
        snapshot: bool,
        u: int,
        bids: list[Level],
        asks: list[Level],
        exchange_ns: int,
    ) -> list[MarketEvent]:
        bbo = self._bbo.get(instrument)
        if snapshot:
            bbo = self._bbo[instrument] = _Bbo()
        elif bbo is None or u != bbo.u + 1:  # no snapshot yet or a lost delta: wait
            self._bbo.pop(instrument, None)
            return []
        try:
            bbo.apply(bids, asks)
        except NormalizeError:  # not an exact decimal: this BBO book is lost
            self._bbo.pop(instrument, None)
            raise
        bbo.u = u
        bid, ask = bbo.top()
        return [
            QuoteEvent(
                instrument=instrument,
                bid_price=bid[0] if bid else None,
                bid_size=bid[1] if bid else None,
                ask_price=ask[0] if ask else None,
                ask_size=ask[1] if ask else None,
                exchange_ts_ns=exchange_ns,
            )
        ]
