"""Crypto.com Exchange v1 market websocket: ``trade.{instrument}``, ``book.{instrument}.{depth}``
with ``book_subscription_type: SNAPSHOT_AND_UPDATE`` (a ``book`` snapshot, then
``book.update`` deltas chained by ``pu`` -> ``u``: :attr:`Sequencing.PREV`) and
``ticker.{instrument}`` (best bid/ask ``b``/``bs``, ``k``/``ks``). Spot (``BTC_USDT``) and
perpetuals (``BTCUSD-PERP``) on one feed. Every push is
``{"method": "subscribe", "result": {"channel", "instrument_name", "data": [...]}}``.

Prices and sizes are JSON strings. Book levels are ``[price, size, order count]``; size
``"0"`` deletes. The ``cs`` checksum each book frame carries is not verified: its
algorithm is not in Crypto.com's public documentation (ccxt does not check it either); it
is kept on the records. Trade ``s`` is the taker's (aggressor) side; exchange times are
the millisecond ``t`` (trades also carry ``tn`` in ns; ``t`` is what ccxt reports too).

Fast path: :meth:`CryptocomMapper.map_bytes` decodes ``trade``, ``ticker``, ``book`` and
``book.update`` pushes straight from the bytes into the typed structs of
:mod:`.cryptocom_wire` (exactly the values :meth:`CryptocomMapper.map` accepts, else None:
that frame then takes ``orjson`` + :meth:`CryptocomMapper.map`, which names the bad field).
"""

from __future__ import annotations

from typing import Any, ClassVar

from tapewire.streams.normalize.mappers import cryptocom_wire as wire
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
from tapewire.streams.normalize.mappers.events import (
    BUY,
    SELL,
    BookEvent,
    MapError,
    MarketEvent,
    QuoteEvent,
    TradeEvent,
)

SIDES = {"BUY": BUY, "SELL": SELL}
CHANNELS = frozenset(("trade", "book", "book.update", "ticker"))
_INVALID = wire.INVALID
_decode = wire.pushes
_TRADE_RESULT, _BOOK_RESULT, _UPDATE_RESULT = wire.TradeResult, wire.BookResult, wire.UpdateResult


def _subscribe(channel: str, markets: list[str] | Any) -> list[dict[str, Any]]:
    pattern = {"trades": "trade.{}", "book": "book.{}.50", "quotes": "ticker.{}"}[channel]
    params: dict[str, Any] = {"channels": [pattern.format(m) for m in markets]}
    if channel == "book":
        params |= {"book_subscription_type": "SNAPSHOT_AND_UPDATE", "book_update_frequency": 10}
    return [{"id": 1, "method": "subscribe", "params": params, "nonce": 0}]


def _optional(message: dict[str, Any], key: str) -> str | None:
    return None if message.get(key) is None else text(message, key)


class CryptocomMapper(Mapper):
    """Crypto.com frames -> trades, book snapshots/updates, quotes."""

    spec: ClassVar[VenueSpec] = VenueSpec(
        venue="cryptocom",
        ws_url="wss://stream.crypto.com/exchange/v1/market",
        channels={"trades": "trade", "book": "book", "quotes": "ticker"},
        sequencing=Sequencing.PREV,
        market_types=("spot", "swap"),
        subscribe=_subscribe,
        notes="u/pu; cs checksum not verified (algorithm undocumented)",
    )

    def __init__(self, markets: MarketIndex) -> None:
        super().__init__(markets)
        self._instrument = markets.resolver()
        self._ids: dict[str, str] = markets.ids()
        """Native id -> instrument, as ``markets.instrument`` gives it (read inline)."""
        self._native: str | None = None
        """The native id the fast path resolved last, and its instrument: a stream's pushes
        mostly name one, and a compare needs no hash of the fresh text."""
        self._native_instrument = ""

    def map(self, message: Any) -> list[MarketEvent]:
        """One websocket frame."""
        if message.__class__ is not dict:
            raise MapError("frame", message, "a JSON object")
        result = message.get("result")
        if message.get("method") != "subscribe" or result is None:
            return []  # heartbeats, acks, errors
        if result.__class__ is not dict:
            raise MapError("result", result, "a JSON object")
        channel = result.get("channel")
        if channel.__class__ is not str or channel not in CHANNELS:
            return []
        data = result["data"]
        if data.__class__ is not list:
            raise MapError("data", data, "a list")
        instrument = self.markets.instrument(result["instrument_name"])
        if channel == "trade":
            return [self._trade(instrument, t) for t in data]
        if channel == "ticker":
            return [self._quote(instrument, t) for t in data]
        return [self._book(instrument, result, channel == "book", item) for item in data]

    def map_bytes(self, payload: bytes) -> list[MarketEvent] | None:
        """A ``trade`` / ``ticker`` / ``book`` / ``book.update`` push decoded straight into
        its typed struct (:mod:`.cryptocom_wire`); None for any other frame, or one that is
        not exactly that shape (the generic path then maps it or names the bad field)."""
        # ``result`` untyped: typed as the union of the result structs, the mypyc build would
        # check it against each struct class on every frame
        result: Any
        try:
            result = _decode(payload).result
        except _INVALID:
            return None
        native = result.instrument_name
        if native == self._native:
            instrument = self._native_instrument
        else:
            instrument = self._ids.get(native) or self._instrument(native)
            self._native, self._native_instrument = native, instrument
        kind = result.__class__
        # loops, not comprehensions (on this interpreter a comprehension is a function call:
        # more instructions than a loop at a frame's one item, or a side's few levels);
        # ``list.append`` called as written (the interpreter specialises it, not a bound
        # method kept in a local)
        out: list[MarketEvent] = []
        if kind is _BOOK_RESULT:
            depth = result.depth
            for b in result.data:
                bids = []
                for price, size, _ in b.bids:
                    bids.append((price, size))
                asks = []
                for price, size, _ in b.asks:
                    asks.append((price, size))
                out.append(
                    BookEvent(instrument, True, bids, asks, b.t * MS, None, b.u, None, b.cs, depth)
                )
        elif kind is _UPDATE_RESULT:
            for u in result.data:
                sides = u.update
                bids = []
                for price, size, _ in sides.bids:
                    bids.append((price, size))
                asks = []
                for price, size, _ in sides.asks:
                    asks.append((price, size))
                out.append(
                    BookEvent(instrument, False, bids, asks, u.t * MS, None, u.u, u.pu, u.cs, None)
                )
        elif kind is _TRADE_RESULT:
            for t in result.data:
                side = BUY if t.s == "BUY" else SELL
                out.append(TradeEvent(instrument, t.d, t.p, t.q, side, t.t * MS))
        else:  # the ticker
            for q in result.data:
                out.append(QuoteEvent(instrument, q.b, q.bs, q.k, q.ks, q.t * MS))
        return out

    @staticmethod
    def _object(item: Any) -> dict[str, Any]:
        if item.__class__ is not dict:
            raise MapError("data", item, "a JSON object")
        return item

    def _trade(self, instrument: str, t: Any) -> TradeEvent:
        t = self._object(t)
        side = SIDES.get(t["s"]) if t["s"].__class__ is str else None
        if side is None:
            raise MapError("s", t["s"], "BUY or SELL")
        return TradeEvent(
            instrument=instrument,
            trade_id=text(t, "d"),
            price=text(t, "p"),
            size=text(t, "q"),
            side=side,
            exchange_ts_ns=integer(t, "t") * MS,
        )

    def _book(
        self, instrument: str, result: dict[str, Any], snapshot: bool, item: Any
    ) -> BookEvent:
        item = self._object(item)
        sides = item if snapshot else self._object(item["update"])
        checksum = item.get("cs")
        if checksum is not None and checksum.__class__ is not int:
            raise MapError("cs", checksum, "an integer")
        depth = result.get("depth") if snapshot else None
        if depth is not None and depth.__class__ is not int:
            raise MapError("depth", depth, "an integer")
        return BookEvent(
            instrument=instrument,
            snapshot=snapshot,
            bids=levels(sides.get("bids", []), "bids"),
            asks=levels(sides.get("asks", []), "asks"),
            exchange_ts_ns=integer(item, "t") * MS,
            last_sequence=integer(item, "u"),
            prev_sequence=None if snapshot else integer(item, "pu"),
            checksum=checksum,
            depth=depth,
        )

    def _quote(self, instrument: str, t: Any) -> QuoteEvent:
        t = self._object(t)
        return QuoteEvent(
            instrument=instrument,
            bid_price=_optional(t, "b"),
            bid_size=_optional(t, "bs"),
            ask_price=_optional(t, "k"),
            ask_size=_optional(t, "ks"),
            exchange_ts_ns=integer(t, "t") * MS,
        )
