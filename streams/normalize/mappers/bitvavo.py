"""Bitvavo (``wss://ws.bitvavo.com/v2/``, spot): ``trades``, ``book`` (deltas) with the
snapshot from the ``getBook`` action's response on the same socket, ``ticker`` (best bid/ask
on change) and ``ticker24h`` (one entry per market, with ``bid``/``ask`` and their sizes).

Sequencing: :attr:`Sequencing.INCREMENT` on ``nonce`` (each ``book`` event's nonce is the
previous + 1; the ``getBook`` response carries the nonce of the book it shows). The
snapshot is requested after subscribing, so the deltas received before it are buffered and
replayed onto it (``rest_snapshots=True``: the synchroniser's buffer-and-bridge mode, although
the snapshot arrives on the websocket); a nonce jump opens a ``sequence_gap`` until the
next ``getBook`` response. No checksum. Book frames carry no exchange timestamp.

Trades: ``side`` is the taker's, ``id`` (a UUID) the trade id, ``timestamp`` ms. Prices and
sizes are JSON strings.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tapewire.streams.normalize.mappers.base import (
    MS,
    Mapper,
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

SIDES = {"buy": BUY, "sell": SELL}


def _subscribe(channel: str, markets: list[str] | Any) -> list[dict[str, Any]]:
    name = {"trades": "trades", "book": "book", "quotes": "ticker"}[channel]
    out = [{"action": "subscribe", "channels": [{"name": name, "markets": list(markets)}]}]
    if channel == "book":  # the snapshot the buffered deltas are replayed onto
        out += [{"action": "getBook", "market": m} for m in markets]
    return out


def _optional(m: dict[str, Any], key: str) -> str | None:
    return None if m.get(key) is None else text(m, key)


class BitvavoMapper(Mapper):
    """Bitvavo frames -> trades, book snapshots (``getBook``) and deltas, quotes."""

    spec: ClassVar[VenueSpec] = VenueSpec(
        venue="bitvavo",
        ws_url="wss://ws.bitvavo.com/v2/",
        channels={"trades": "trades", "book": "book", "quotes": "ticker"},
        sequencing=Sequencing.INCREMENT,
        rest_snapshots=True,
        subscribe=_subscribe,
        notes="nonce + 1 per book event; getBook snapshot on the socket; deltas buffered",
    )

    def map(self, message: Any) -> list[MarketEvent]:
        """One websocket frame."""
        if message.__class__ is not dict:
            raise MapError("frame", message, "a JSON object")
        if "error" in message or "errorCode" in message:
            raise MapError("error", message.get("error"), "market data (the venue reported one)")
        event = message.get("event")
        if event == "book":
            return [self._book(message, snapshot=False)]
        if event == "trade":
            return [self._trade(message)]
        if event == "ticker":
            return [self._ticker(message)]
        if event == "ticker24h":
            data = message["data"]
            if data.__class__ is not list:
                raise MapError("data", data, "a list of tickers")
            return [self._ticker24h(d) for d in data]
        if message.get("action") == "getBook":
            response = message["response"]
            if response.__class__ is not dict:
                raise MapError("response", response, "a book object")
            return [self._book(response, snapshot=True)]
        return []  # subscribed, unsubscribed, other actions

    def _instrument(self, m: dict[str, Any]) -> str:
        return self.markets.instrument(m["market"], "spot")

    def _book(self, m: dict[str, Any], snapshot: bool) -> BookEvent:
        return BookEvent(
            instrument=self._instrument(m),
            snapshot=snapshot,
            bids=levels(m["bids"], "bids"),
            asks=levels(m["asks"], "asks"),
            last_sequence=integer(m, "nonce"),
        )

    def _trade(self, m: dict[str, Any]) -> TradeEvent:
        side = SIDES.get(m["side"]) if m["side"].__class__ is str else None
        if side is None:
            raise MapError("side", m["side"], "buy or sell")
        trade_id = text(m, "id")
        if not trade_id:
            raise MapError("id", trade_id, "a non-empty trade id")
        return TradeEvent(
            instrument=self._instrument(m),
            trade_id=trade_id,
            price=text(m, "price"),
            size=text(m, "amount"),
            side=side,
            exchange_ts_ns=integer(m, "timestamp") * MS,
        )

    def _ticker(self, m: dict[str, Any]) -> QuoteEvent:
        return QuoteEvent(
            instrument=self._instrument(m),
            bid_price=_optional(m, "bestBid"),
            bid_size=_optional(m, "bestBidSize"),
            ask_price=_optional(m, "bestAsk"),
            ask_size=_optional(m, "bestAskSize"),
        )

    def _ticker24h(self, m: Any) -> QuoteEvent:
        if m.__class__ is not dict:
            raise MapError("data", m, "a ticker object")
        return QuoteEvent(
            instrument=self._instrument(m),
            bid_price=_optional(m, "bid"),
            bid_size=_optional(m, "bidSize"),
            ask_price=_optional(m, "ask"),
            ask_size=_optional(m, "askSize"),
            exchange_ts_ns=integer(m, "timestamp") * MS,
        )
