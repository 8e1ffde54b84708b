"""Binance spot: ``trade`` / ``aggTrade``, diff ``depth`` (``U``/``u`` ranges, synced from
the REST snapshot ``GET /api/v3/depth`` the connector captures into md.raw) and
``bookTicker``. Plain or combined-stream (``{"stream": ..., "data": ...}``) frames.

No checksum. ``bookTicker`` carries no timestamp (exchange time is null). A trade's
aggressor is the seller when the buyer is the maker (``m``).
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from tapewire.streams.normalize.mappers.base import (
    MS,
    Mapper,
    MarketIndex,
    Sequencing,
    VenueSpec,
    integer,
    levels,
)
from tapewire.streams.normalize.mappers.binance_wire import (
    COMBINED,
    COMBINED_TICKER,
    PLAIN,
    PLAIN_TICKER,
    AggTrade,
    Depth,
    Errors,
    TaggedTicker,
    Ticker,
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

DEPTH_PATH = "/api/v3/depth"
DEFAULT_LIMIT = 100
"""Binance's default ``limit`` of ``/api/v3/depth`` when the URL names none."""


def _subscribe(channel: str, markets: list[str] | Any) -> list[dict[str, Any]]:
    suffix = {"trades": "@trade", "book": "@depth@100ms", "quotes": "@bookTicker"}[channel]
    params = [m.lower() + suffix for m in markets]
    return [{"method": "SUBSCRIBE", "params": params, "id": 1}]


class BinanceMapper(Mapper):
    """Binance spot frames -> trades, book deltas/snapshots, quotes."""

    spec: ClassVar[VenueSpec] = VenueSpec(
        venue="binance",
        ws_url="wss://stream.binance.com:9443/stream",
        channels={"trades": "trade", "book": "depth", "quotes": "bookTicker"},
        sequencing=Sequencing.RANGE,
        rest_snapshots=True,
        subscribe=_subscribe,
        notes="REST snapshot sync; no checksum",
    )
    market_type: ClassVar[str] = "spot"
    depth_path: ClassVar[str] = DEPTH_PATH
    snapshot_ts: ClassVar[str] = "E"
    """Field of the REST snapshot's exchange time (spot sends none)."""

    def __init__(self, markets: MarketIndex) -> None:
        super().__init__(markets)
        self._resolve_id = markets.resolver(self.market_type)
        self._ids: dict[str, str] = markets.ids(self.market_type)
        """Native id -> instrument, as ``_resolve_id`` gives it (read inline: no call); filled
        when markets load, so no instrument pays a resolver call on its first frame."""

    def _id(self, native: Any) -> str:
        instrument = self._resolve_id(native)  # raises MapError for an unknown id
        self._ids[native] = instrument
        return instrument

    def map(self, message: Any) -> list[MarketEvent]:
        """One websocket frame."""
        if message.__class__ is not dict:
            raise MapError("frame", message, "a JSON object")
        data = message.get("data")
        if data is not None and "stream" in message:
            if data.__class__ is not dict:
                raise MapError("data", data, "a JSON object")
            message = data
        event = message.get("e")
        if event is None:  # spot's bookTicker has no event type, USD-M futures' has
            if "b" in message and "a" in message and "u" in message:
                return [self._ticker(message)]
            return []  # subscription results
        if event == "depthUpdate":
            return [self._depth(message)]
        if event == "aggTrade" or event == "trade":
            return [self._trade(message, event)]
        if event == "bookTicker":
            return [self._ticker(message)]
        return []  # other streams

    def map_bytes(self, payload: bytes) -> list[MarketEvent] | None:
        """A ``trade`` / ``aggTrade`` / ``depthUpdate`` / ``bookTicker`` frame, plain or
        combined, decoded straight into its typed struct (:mod:`.binance_wire`, which holds
        the rules that make the events those of :meth:`map`); None for any other frame.
        The decoder is picked from two bytes (the first key, the last value's end)."""
        # ``m`` untyped: typed as the union of the wire structs, the mypyc build would check
        # it against each struct class on every frame (~700 instructions a depth frame)
        m: Any
        # the decoder from two bytes (indexing a byte is the cheapest test: ~280 instructions
        # against ~900 for a startswith and ~1,200 for a find); a wrong pick fails the decode
        try:
            first = payload[2]  # the first key's first letter
            if first == 115:  # {"stream": combined
                # spot bookTicker ends '"}}' (its last value, "A", a string), the others not
                decode = COMBINED_TICKER if payload[-3] == 34 else COMBINED
                m = decode(payload).data
            elif first == 101:  # {"e": plain, with the event type
                m = PLAIN(payload)
            elif first == 117:  # {"u": plain spot bookTicker
                m = PLAIN_TICKER(payload)
            else:
                return None
        except Errors:
            return None
        except IndexError:  # shorter than 3 bytes
            return None
        # the events as _trade / _depth / _ticker build them; the type checks are msgspec's
        kind = m.__class__
        if kind is Depth:
            d = m
            native = d.s
            return [
                BookEvent(
                    self._ids.get(native) or self._id(native),
                    False,
                    d.b,
                    d.a,
                    d.E * MS,
                    d.U,
                    d.u,
                    d.pu,
                )
            ]
        if kind is Ticker or kind is TaggedTicker:
            q = m
            native = q.s
            ts = q.T or q.E
            return [
                QuoteEvent(
                    self._ids.get(native) or self._id(native),
                    q.b,
                    q.B,
                    q.a,
                    q.A,
                    None if ts is None else ts * MS,
                )
            ]
        if kind is AggTrade:
            a = m
            native = a.s
            return [
                TradeEvent(
                    self._ids.get(native) or self._id(native),
                    str(a.a),
                    a.p,
                    a.q,
                    SELL if a.m else BUY,
                    a.T * MS,
                )
            ]
        t = m  # Trade
        native = t.s
        return [
            TradeEvent(
                self._ids.get(native) or self._id(native),
                str(t.t),
                t.p,
                t.q,
                SELL if t.m else BUY,
                t.T * MS,
            )
        ]

    def _instrument(self, message: dict[str, Any]) -> str:
        return self._resolve_id(message["s"])

    def _trade(self, m: dict[str, Any], event: str) -> TradeEvent:
        maker, price, size = m["m"], m["p"], m["q"]
        trade_id = m["t" if event == "trade" else "a"]
        ts = m["T"]
        # checks inlined (hot path): exact types, else a MapError naming the field
        if maker.__class__ is not bool:
            raise MapError("m", maker, "true or false (buyer is maker)")
        if price.__class__ is not str:
            raise MapError("p", price, "a string")
        if size.__class__ is not str:
            raise MapError("q", size, "a string")
        if trade_id.__class__ is not int:
            raise MapError("t" if event == "trade" else "a", trade_id, "an integer")
        if ts.__class__ is not int:
            raise MapError("T", ts, "an integer")
        native = m["s"]
        instrument = self._ids.get(native) if native.__class__ is str else None
        return TradeEvent(
            instrument or self._id(native),
            str(trade_id),
            price,
            size,
            SELL if maker else BUY,
            ts * MS,
        )

    def _depth(self, m: dict[str, Any]) -> BookEvent:
        ts, first, last, prev = m["E"], m["U"], m["u"], m.get("pu")
        # checks inlined (hot path): exact types, else a MapError naming the field
        if ts.__class__ is not int:
            raise MapError("E", ts, "an integer")
        if first.__class__ is not int:
            raise MapError("U", first, "an integer")
        if last.__class__ is not int:
            raise MapError("u", last, "an integer")
        return BookEvent(
            self._resolve_id(m["s"]),
            False,
            levels(m["b"], "b"),
            levels(m["a"], "a"),
            ts * MS,
            first,
            last,
            prev if prev.__class__ is int else None,
        )

    def _ticker(self, m: dict[str, Any]) -> QuoteEvent:
        bid, bid_size, ask, ask_size = m["b"], m["B"], m["a"], m["A"]
        # checks inlined (hot path): exact types, else a MapError naming the field
        if bid.__class__ is not str:
            raise MapError("b", bid, "a string")
        if bid_size.__class__ is not str:
            raise MapError("B", bid_size, "a string")
        if ask.__class__ is not str:
            raise MapError("a", ask, "a string")
        if ask_size.__class__ is not str:
            raise MapError("A", ask_size, "a string")
        ts = m.get("T") or m.get("E")
        native = m["s"]
        instrument = self._ids.get(native) if native.__class__ is str else None
        return QuoteEvent(
            instrument or self._id(native),
            bid,
            bid_size,
            ask,
            ask_size,
            ts * MS if ts.__class__ is int else None,
        )

    def map_rest(self, url: str, message: Any) -> list[MarketEvent]:
        """A captured ``GET /api/v3/depth?symbol=...&limit=...`` response."""
        parts = urlsplit(url)
        if parts.path != self.depth_path:
            return []
        query = parse_qs(parts.query)
        native = (query.get("symbol") or [""])[0]
        limit_text = (query.get("limit") or [str(DEFAULT_LIMIT)])[0]
        if not limit_text.isdigit():
            raise MapError("limit", limit_text, "an integer in the snapshot URL")
        if message.__class__ is not dict:
            raise MapError("body", message, "a JSON object")
        ts = message.get(self.snapshot_ts)
        return [
            BookEvent(
                instrument=self.markets.instrument(native, self.market_type),
                snapshot=True,
                bids=levels(message["bids"], "bids"),
                asks=levels(message["asks"], "asks"),
                exchange_ts_ns=ts * MS if ts.__class__ is int else None,
                last_sequence=integer(message, "lastUpdateId"),
                depth=int(limit_text),
            )
        ]
