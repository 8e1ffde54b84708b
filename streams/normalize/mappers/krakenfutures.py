"""Kraken Futures (``wss://futures.kraken.com/ws/v1``), perpetuals (``PI_``/``PF_``) and
fixed-maturity futures (``FI_``/``FF_``): feeds ``trade`` (``trade_snapshot`` then
``trade``), ``book`` (``book_snapshot`` then one level per ``book`` frame, ``qty`` 0
deletes) and ``ticker`` (``bid``/``ask`` with sizes) or ``ticker_lite`` (no sizes).

Prices and sizes are JSON numbers: frames are decoded with every non-integer number kept
as its wire text (``20108.0`` stays ``"20108.0"``), never a float: by msgspec
(``float_hook=str`` hands over the literal's text), and any frame msgspec refuses by
:func:`~..common.decode_numbers_as_text` (the standard decoder), which decides it as before.
``trade``, ``book``, ``ticker_lite`` and ``ticker`` frames of the expected shape are decoded
straight into typed structs instead (:meth:`KrakenFuturesMapper.map_bytes`,
:mod:`.krakenfutures_wire`): the same events, without the dict.

Sequencing: ``seq`` per product, +1 per ``book`` frame (``Sequencing.INCREMENT``); a
``book_snapshot`` carries the ``seq`` it is at. No checksum. Snapshots on the socket.

Derivatives: a ``ticker`` frame (not ``ticker_lite``) also gives a
:class:`DerivativesEvent`: ``markPrice``, ``index`` (index price), ``relative_funding_rate``
as the funding rate (the signed fraction per funding period, hourly on Kraken Futures; the
ticker's ``funding_rate`` is absolute, in quote currency per contract, and is not used) and
``next_funding_rate_time`` (ms). Kraken leaves a zero funding rate out of the frame: an
absent ``relative_funding_rate`` is no funding rate (fixed-maturity futures have none).

Quirks: a trade's ``side`` is the taker's; its id is ``uid``; ``trade_snapshot`` lists
the recent trades newest first: emitted oldest first (as ccxt does). ``ticker_lite`` has
no time; ``ticker`` has ``time`` (ms). Product ids are upper case on the socket
(``PI_XBTUSD``), as the instruments endpoint now lists them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from msgspec import UNSET

from tapewire.streams.normalize.mappers import krakenfutures_wire as wire
from tapewire.streams.normalize.mappers.base import (
    MS,
    Mapper,
    MarketIndex,
    Sequencing,
    VenueSpec,
    integer,
)
from tapewire.streams.normalize.mappers.common import decode_numbers_as_text_fast, number_text
from tapewire.streams.normalize.mappers.events import (
    BUY,
    SELL,
    BookEvent,
    DerivativesEvent,
    Level,
    MapError,
    MarketEvent,
    QuoteEvent,
    TradeEvent,
)

SIDES = {"buy": BUY, "sell": SELL}
_INVALID = wire.INVALID
_TRADE, _BOOK, _TICKER_LITE, _TICKER = wire.trade, wire.book, wire.ticker_lite, wire.ticker
_CHANNELS = {"trades": "trade", "book": "book", "quotes": "ticker", "derivatives": "ticker"}


def _subscribe(channel: str, markets: Sequence[str]) -> list[dict[str, Any]]:
    return [{"event": "subscribe", "feed": _CHANNELS[channel], "product_ids": list(markets)}]


def _levels(value: Any, key: str) -> list[Level]:
    if value.__class__ is not list:
        raise MapError(key, value, "a list of {price, qty} levels")
    out = []
    for level in value:
        if level.__class__ is not dict:
            raise MapError(key, level, "a {price, qty} level")
        out.append((number_text(level, "price"), number_text(level, "qty")))
    return out


class KrakenFuturesMapper(Mapper):
    """Kraken Futures frames -> trades, book snapshots/updates, quotes, mark/index price and
    funding (``ticker``)."""

    spec: ClassVar[VenueSpec] = VenueSpec(
        venue="krakenfutures",
        ws_url="wss://futures.kraken.com/ws/v1",
        channels=_CHANNELS,
        sequencing=Sequencing.INCREMENT,
        subscribe=_subscribe,
        market_types=("swap", "future"),
        notes="book seq +1 per frame per product; snapshots on the socket; no checksum",
    )

    def __init__(self, markets: MarketIndex) -> None:
        super().__init__(markets)
        self._resolve = markets.resolver()
        self._ids: dict[str, str] = markets.ids()
        """Native id -> instrument, as ``_resolve`` gives it (read inline)."""

    def decode(self, payload: bytes) -> Any:
        """JSON with non-integer numbers kept as their wire text. msgspec where it accepts
        the frame (same values as the standard decoder); what it refuses (``NaN``,
        ``Infinity``, a BOM, lone surrogates, malformed input) is decoded, or rejected with
        the same error as before, by the standard decoder
        (:func:`~.common.decode_numbers_as_text_fast`)."""
        return decode_numbers_as_text_fast(payload)

    def map_bytes(self, payload: bytes) -> list[MarketEvent] | None:
        """A ``trade`` / ``book`` / ``ticker_lite`` / ``ticker`` frame decoded straight into
        its typed struct (:mod:`.krakenfutures_wire`, which holds the rules that make the
        events those of :meth:`map`); None for any other frame or value (a price that is
        neither a number nor a string...). The decoder is picked from two bytes.

        What ``_trade`` / ``_update`` / ``_quote`` / ``_ticker`` do, in their order (so that
        an exception raised here is the one the generic path raises: an unknown product id's
        MapError, a too long integer's ValueError); the type checks are msgspec's, a number
        that is neither text nor an integer gives None. Inlined: the hot path."""
        # indexing a byte is the cheapest test; a wrong pick fails the decode (None)
        try:
            first = payload[2]  # the first key's first letter
            kind = payload[10]  # {"feed":"?? : the feed's second letter
        except IndexError:
            return None
        if first != 102:  # not {"feed":
            if first != 116:  # not {"time": (ticker)
                return None
            try:
                ticker = _TICKER(payload)
            except _INVALID:
                return None
            return self._ticker_bytes(ticker)
        if kind == 111:  # book
            try:
                b = _BOOK(payload)
            except _INVALID:
                return None
            price = b.price
            if price.__class__ is not str:
                if price.__class__ is not int:
                    return None
                price = str(price)
            size = b.qty
            if size.__class__ is not str:
                if size.__class__ is not int:
                    return None
                size = str(size)
            product = b.product_id
            instrument = self._ids.get(product) or self._resolve(product)
            level = [(price, size)]
            if b.side == "buy":
                return [BookEvent(instrument, False, level, [], b.timestamp * MS, None, b.seq)]
            return [BookEvent(instrument, False, [], level, b.timestamp * MS, None, b.seq)]
        if kind == 114:  # trade
            try:
                t = _TRADE(payload)
            except _INVALID:
                return None
            product = t.product_id
            instrument = self._ids.get(product) or self._resolve(product)
            price = t.price
            if price.__class__ is not str:
                if price.__class__ is not int:
                    return None
                price = str(price)
            size = t.qty
            if size.__class__ is not str:
                if size.__class__ is not int:
                    return None
                size = str(size)
            side = BUY if t.side == "buy" else SELL
            return [TradeEvent(instrument, t.uid, price, size, side, t.time * MS)]
        if kind == 105:  # ticker_lite
            try:
                q = _TICKER_LITE(payload)
            except _INVALID:
                return None
            product = q.product_id
            instrument = self._ids.get(product) or self._resolve(product)
            bid = q.bid
            if bid is not None and bid.__class__ is not str:
                if bid.__class__ is not int:
                    return None
                bid = str(bid)
            ask = q.ask
            if ask is not None and ask.__class__ is not str:
                if ask.__class__ is not int:
                    return None
                ask = str(ask)
            ts = q.time
            return [QuoteEvent(instrument, bid, None, ask, None, None if ts is UNSET else ts * MS)]
        return None

    def _ticker_bytes(self, t: wire.Ticker) -> list[MarketEvent] | None:
        instrument = self._ids.get(t.product_id) or self._resolve(t.product_id)
        try:
            bid, bid_size = _text(t.bid), _text(t.bid_size)
            ask, ask_size = _text(t.ask), _text(t.ask_size)
            ts = None if t.time is UNSET else t.time * MS
            quote = QuoteEvent(instrument, bid, bid_size, ask, ask_size, ts)
            mark, index = _text(t.markPrice), _text(t.index)
            rate = _text(t.relative_funding_rate)
        except _NotTextError:
            return None
        if mark is None and index is None and rate is None:
            return [quote]
        following = t.next_funding_rate_time
        return [
            quote,
            DerivativesEvent(
                instrument, mark, index, rate, following * MS if following else None, ts
            ),
        ]

    def map(self, message: Any) -> list[MarketEvent]:
        """One websocket frame."""
        if message.__class__ is not dict:
            raise MapError("frame", message, "a JSON object")
        if "event" in message:
            if message["event"] == "alert":
                raise MapError("event", "alert", f"market data ({message.get('message')!r})")
            return []  # info, subscribed, unsubscribed, pong
        feed = message.get("feed")
        if feed == "book":
            return [self._update(message)]
        if feed == "trade":
            return [self._trade(message)]
        if feed == "ticker":
            return self._ticker(message)
        if feed == "ticker_lite":
            return [self._quote(message, False)]
        if feed == "book_snapshot":
            return [
                BookEvent(
                    instrument=self._instrument(message),
                    snapshot=True,
                    bids=_levels(message["bids"], "bids"),
                    asks=_levels(message["asks"], "asks"),
                    exchange_ts_ns=integer(message, "timestamp") * MS,
                    last_sequence=integer(message, "seq"),
                )
            ]
        if feed == "trade_snapshot":
            trades = message["trades"]
            if trades.__class__ is not list:
                raise MapError("trades", trades, "a list of trades")
            return [self._trade(trade) for trade in reversed(trades)]
        return []  # heartbeat, other feeds

    def _instrument(self, message: dict[str, Any]) -> str:
        product = message["product_id"]
        if product.__class__ is not str:
            raise MapError("product_id", product, "a string")
        found = self._ids.get(product)
        return found if found is not None else self._resolve(product)  # raises MapError

    # _trade and _update: field checks inlined (``base.text`` / ``base.integer`` /
    # ``common.number_text``), in the order they were made

    def _trade(self, trade: Any) -> TradeEvent:
        if trade.__class__ is not dict:
            raise MapError("trades", trade, "a trade object")
        side = trade.get("side")
        if side.__class__ is not str or side not in SIDES:
            raise MapError("side", side, "'buy' or 'sell'")
        instrument = self._instrument(trade)
        uid = trade["uid"]
        if uid.__class__ is not str:
            raise MapError("uid", uid, "a string")
        price = trade["price"]
        if price.__class__ is not str:
            price = number_text(trade, "price")
        size = trade["qty"]
        if size.__class__ is not str:
            size = number_text(trade, "qty")
        ts = trade["time"]
        if ts.__class__ is not int:
            raise MapError("time", ts, "an integer")
        return TradeEvent(
            instrument=instrument,
            trade_id=uid,
            price=price,
            size=size,
            side=SIDES[side],
            exchange_ts_ns=ts * MS,
        )

    def _update(self, message: dict[str, Any]) -> BookEvent:
        side = message.get("side")
        price = message["price"]
        if price.__class__ is not str:
            price = number_text(message, "price")
        size = message["qty"]
        if size.__class__ is not str:
            size = number_text(message, "qty")
        if side.__class__ is not str or side not in SIDES:
            raise MapError("side", side, "'buy' or 'sell'")
        instrument = self._instrument(message)
        ts = message["timestamp"]
        if ts.__class__ is not int:
            raise MapError("timestamp", ts, "an integer")
        seq = message["seq"]
        if seq.__class__ is not int:
            raise MapError("seq", seq, "an integer")
        level = [(price, size)]
        return BookEvent(
            instrument=instrument,
            snapshot=False,
            bids=level if side == "buy" else [],
            asks=level if side == "sell" else [],
            exchange_ts_ns=ts * MS,
            last_sequence=seq,
        )

    def _ticker(self, message: dict[str, Any]) -> list[MarketEvent]:
        quote = self._quote(message, True)
        mark, index = _opt_number(message, "markPrice"), _opt_number(message, "index")
        rate = _opt_number(message, "relative_funding_rate")
        next_funding = message.get("next_funding_rate_time")
        if next_funding is not None and next_funding.__class__ is not int:
            raise MapError("next_funding_rate_time", next_funding, "an integer (ms)")
        if mark is None and index is None and rate is None:
            return [quote]
        return [
            quote,
            DerivativesEvent(
                instrument=quote.instrument,
                mark_price=mark,
                index_price=index,
                funding_rate=rate,
                next_funding_ts_ns=next_funding * MS if next_funding else None,
                exchange_ts_ns=quote.exchange_ts_ns,
            ),
        ]

    def _quote(self, message: dict[str, Any], sizes: bool) -> QuoteEvent:
        return QuoteEvent(
            instrument=self._instrument(message),
            bid_price=_opt_number(message, "bid"),
            bid_size=_opt_number(message, "bid_size") if sizes else None,
            ask_price=_opt_number(message, "ask"),
            ask_size=_opt_number(message, "ask_size") if sizes else None,
            exchange_ts_ns=integer(message, "time") * MS if "time" in message else None,
        )


class _NotTextError(Exception):
    """A typed frame's number field holds another value (the generic path refuses it)."""


def _text(value: Any) -> str | None:
    """A typed frame's optional number (``float_hook=str``): its text, None when absent or
    null; :class:`_NotTextError` for another value."""
    if value is None or value.__class__ is str:
        return value
    if value.__class__ is int:
        return str(value)
    raise _NotTextError


def _opt_number(message: dict[str, Any], key: str) -> str | None:
    return None if message.get(key) is None else number_text(message, key)
