"""KuCoin spot (classic websocket, ``wss://ws-api-spot.kucoin.com``; the URL needs a token
from ``POST /api/v1/bullet-public``): ``/market/match`` trades, ``/market/level2`` deltas
synced from the REST snapshot ``GET /api/v1/market/orderbook/level2_100`` (captured into
md.raw by the connector) and ``/market/ticker`` best bid/ask.

Sequencing: RANGE (``sequenceStart``..``sequenceEnd``; the REST snapshot's ``sequence`` is
the book's id), no checksum. Each change also carries its own sequence; the bridging delta
after a snapshot is applied whole, as ccxt does. Trade ``side`` is the taker's; trade
``time`` is in ns (text), book and ticker times in ms. Perpetuals are a separate venue id
(``kucoinfutures``).
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from tapewire.streams.normalize.mappers import kucoin_wire as kw
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

SNAPSHOT_PATHS = {
    "/api/v1/market/orderbook/level2_100": 100,
    "/api/v1/market/orderbook/level2_20": 20,
}
_TOPICS = {"trades": "/market/match:", "book": "/market/level2:", "quotes": "/market/ticker:"}


def _subscribe(channel: str, markets: list[str] | Any) -> list[dict[str, Any]]:
    topic = _TOPICS[channel] + ",".join(markets)
    return [{"id": 1, "type": "subscribe", "topic": topic, "response": True}]


def _int_text(data: dict[str, Any], key: str) -> int:
    """An id or time sent as a JSON integer or as decimal text."""
    value = data[key]
    if value.__class__ is int:
        return int(value)
    if value.__class__ is str and value.isdigit():
        return int(value)
    raise MapError(key, value, "an integer")


class KucoinMapper(Mapper):
    """KuCoin spot frames -> trades, book deltas, REST book snapshots, quotes."""

    spec: ClassVar[VenueSpec] = VenueSpec(
        venue="kucoin",
        ws_url="wss://ws-api-spot.kucoin.com/",
        channels={"trades": "/market/match", "book": "/market/level2", "quotes": "/market/ticker"},
        sequencing=Sequencing.RANGE,
        rest_snapshots=True,
        subscribe=_subscribe,
        notes="REST snapshot sync (level2_100); no checksum",
    )

    def __init__(self, markets: MarketIndex) -> None:
        super().__init__(markets)
        self._resolve_id = markets.resolver("spot")
        self._ids: dict[str, str] = markets.ids("spot")
        """Native id -> instrument, as ``_resolve_id`` gives it (read inline: no call)."""

    def _id(self, native: Any) -> str:
        instrument = self._resolve_id(native)  # raises MapError for an unknown id
        self._ids[native] = instrument
        return instrument

    def map_bytes(self, payload: bytes) -> list[MarketEvent] | None:
        """A ``/market/match``, ``/market/level2`` or ``/market/ticker`` message decoded
        straight into its typed struct (:mod:`.kucoin_wire`, which holds the rules that make
        the events those of :meth:`map`); None for any other frame. The decoder is picked
        from the byte after ``"topic":"/market/`` where the frame starts as KuCoin sends it
        (a wrong pick fails the decode or the topic check)."""
        try:
            kind = payload[35]
            if kind == 109:  # m: /market/match:
                trade = kw.trade_frame(payload)
                if not trade.topic.startswith("/market/match:"):
                    return None
                d = trade.data
                time = d.time
                if time.__class__ is str:
                    if not (time.isascii() and time.isdigit()):
                        return None
                    time = int(time)
                native = d.symbol
                return [
                    TradeEvent(
                        self._ids.get(native) or self._id(native),
                        d.trade_id,
                        d.price,
                        d.size,
                        BUY if d.side == "buy" else SELL,
                        time,  # type: ignore[arg-type]
                    )
                ]
            if kind == 108:  # l: /market/level2:
                delta = kw.delta_frame(payload)
                if not delta.topic.startswith("/market/level2:"):
                    return None
                b = delta.data
                native = b.symbol
                changes = b.changes
                return [
                    BookEvent(
                        self._ids.get(native) or self._id(native),
                        False,
                        [(p, q) for p, q, _ in changes.bids],
                        [(p, q) for p, q, _ in changes.asks],
                        b.time * MS,
                        b.sequence_start,
                        b.sequence_end,
                    )
                ]
            if kind == 116:  # t: /market/ticker:
                ticker = kw.ticker_frame(payload)
                topic = ticker.topic
                if not topic.startswith("/market/ticker:"):
                    return None
                q = ticker.data
                native = topic[15:]
                return [
                    QuoteEvent(
                        self._ids.get(native) or self._id(native),
                        q.best_bid,
                        q.best_bid_size,
                        q.best_ask,
                        q.best_ask_size,
                        q.time * MS,
                    )
                ]
            return None
        except kw.INVALID:
            return None
        except (IndexError, ValueError):  # shorter than 36 bytes; an int too long
            return None

    def map(self, message: Any) -> list[MarketEvent]:
        """One websocket frame."""
        if message.__class__ is not dict:
            raise MapError("frame", message, "a JSON object")
        if message.get("type") != "message":
            return []  # welcome, ack, pong, error
        topic = message["topic"]
        if topic.__class__ is not str:
            raise MapError("topic", topic, "a string")
        data = message["data"]
        if data.__class__ is not dict:
            raise MapError("data", data, "a JSON object")
        if topic.startswith("/market/level2:"):
            return [self._delta(data)]
        if topic.startswith("/market/match:"):
            return [self._trade(data)]
        if topic.startswith("/market/ticker:"):
            return [self._ticker(topic[15:], data)]
        return []

    def _trade(self, d: dict[str, Any]) -> TradeEvent:
        side = d["side"]
        if side != "buy" and side != "sell":
            raise MapError("side", side, "buy or sell")
        return TradeEvent(
            instrument=self.markets.instrument(d["symbol"], "spot"),
            trade_id=text(d, "tradeId"),
            price=text(d, "price"),
            size=text(d, "size"),
            side=BUY if side == "buy" else SELL,
            exchange_ts_ns=_int_text(d, "time"),
        )

    def _delta(self, d: dict[str, Any]) -> BookEvent:
        changes = d["changes"]
        if changes.__class__ is not dict:
            raise MapError("changes", changes, "a JSON object")
        return BookEvent(
            instrument=self.markets.instrument(d["symbol"], "spot"),
            snapshot=False,
            bids=levels(changes["bids"], "bids"),
            asks=levels(changes["asks"], "asks"),
            exchange_ts_ns=integer(d, "time") * MS,
            first_sequence=integer(d, "sequenceStart"),
            last_sequence=integer(d, "sequenceEnd"),
        )

    def _ticker(self, native: str, d: dict[str, Any]) -> QuoteEvent:
        return QuoteEvent(
            instrument=self.markets.instrument(native, "spot"),
            bid_price=text(d, "bestBid"),
            bid_size=text(d, "bestBidSize"),
            ask_price=text(d, "bestAsk"),
            ask_size=text(d, "bestAskSize"),
            exchange_ts_ns=integer(d, "time") * MS,
        )

    def map_rest(self, url: str, message: Any) -> list[MarketEvent]:
        """A captured ``GET /api/v1/market/orderbook/level2_100?symbol=...`` response."""
        parts = urlsplit(url)
        depth = SNAPSHOT_PATHS.get(parts.path)
        if depth is None:
            return []
        native = (parse_qs(parts.query).get("symbol") or [""])[0]
        if message.__class__ is not dict or message.get("data").__class__ is not dict:
            raise MapError("data", message, "a JSON object with a data object")
        data = message["data"]
        return [
            BookEvent(
                instrument=self.markets.instrument(native, "spot"),
                snapshot=True,
                bids=levels(data["bids"], "bids"),
                asks=levels(data["asks"], "asks"),
                exchange_ts_ns=integer(data, "time") * MS,
                last_sequence=_int_text(data, "sequence"),
                depth=depth,
            )
        ]
