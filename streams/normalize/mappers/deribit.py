"""Deribit (JSON-RPC v2 websocket): ``trades.{instrument}.100ms``,
``book.{instrument}.100ms`` (snapshot, then ``change`` frames chained by
``prev_change_id`` -> ``change_id``: :attr:`Sequencing.PREV`) and ``quote.{instrument}``
(best bid/ask; ``ticker.{instrument}.100ms`` frames give one too). Spot (``BTC_USDC``),
perpetuals (``BTC-PERPETUAL``, ``BTC_USDC-PERPETUAL``) and dated futures on one feed.

``ticker.{instrument}.100ms`` of a perpetual or dated future also gives a
:class:`DerivativesEvent`: ``mark_price``, ``index_price`` (the ``price_index`` of the
underlying, e.g. ``btc_usd``, as the ticker reports it for this instrument) and, for
perpetuals, ``funding_8h`` as the funding rate (a signed fraction per 8 hours; Deribit
accrues funding continuously, so there is no next funding time; ``current_funding``, the
instantaneous rate, is not used). Spot tickers give no derivatives event.

Deribit sends every price and amount as a JSON **number**: frames are decoded with
``parse_float=str`` (the wire text of a fractional number is kept; an integer becomes
``str(int)``), so nothing passes through a float. Book levels are
``[action, price, amount]`` with action ``new`` / ``change`` / ``delete`` (amount 0).
No checksum. A trade's ``direction`` is the taker's (aggressor) side. Amounts are as
Deribit sends them (USD contracts for inverse instruments, base currency otherwise).

Fast path: :meth:`DeribitMapper.map_bytes` decodes ``trades``, ``book`` and ``quote``
frames straight into the typed structs of :mod:`.deribit_wire` (exactly the values
:meth:`DeribitMapper.map` accepts, else None: the frame then takes
:meth:`DeribitMapper.decode` and :meth:`DeribitMapper.map`, which name the bad field).
"""

from __future__ import annotations

from typing import Any, ClassVar

from tapewire.streams.normalize.mappers import deribit_wire as wire
from tapewire.streams.normalize.mappers.base import (
    MS,
    Mapper,
    MarketIndex,
    Sequencing,
    VenueSpec,
    integer,
)
from tapewire.streams.normalize.mappers.common import decode_numbers_as_text_fast
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
ACTIONS = frozenset(("new", "change", "delete"))
DERIVATIVE_TYPES = frozenset(("swap", "future"))
"""ccxt market types whose tickers carry mark price, index price and funding."""


def _subscribe(channel: str, markets: list[str] | Any) -> list[dict[str, Any]]:
    pattern = {
        "trades": "trades.{}.100ms",
        "book": "book.{}.100ms",
        "quotes": "quote.{}",
        "derivatives": "ticker.{}.100ms",
    }[channel]
    channels = [pattern.format(m) for m in markets]
    return [
        {"jsonrpc": "2.0", "id": 1, "method": "public/subscribe", "params": {"channels": channels}}
    ]


def number(message: dict[str, Any], key: str) -> str:
    """A price or amount: a JSON number decoded as its text (float) or an int."""
    value = message[key]
    kind = value.__class__
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is int:
        return str(value)
    raise MapError(key, value, "a JSON number")


def _optional(message: dict[str, Any], key: str) -> str | None:
    return None if message.get(key) is None else number(message, key)


def _levels(value: Any, key: str) -> list[Level]:
    if value.__class__ is not list:
        raise MapError(key, value, "a list of [action, price, amount]")
    out = []
    for level in value:
        if level.__class__ is not list or len(level) != 3 or level[0].__class__ is not str:
            raise MapError(key, level, "[new|change|delete, price, amount]")
        if level[0] not in ACTIONS:
            raise MapError(key, level, "[new|change|delete, price, amount]")
        price, amount = level[1], level[2]
        if price.__class__ is int:
            price = str(price)
        if amount.__class__ is int:
            amount = str(amount)
        if price.__class__ is not str or amount.__class__ is not str:
            raise MapError(key, level, "price and amount as JSON numbers")
        if level[0] == "delete" and amount != "0.0" and amount != "0":
            amount = "0"  # a delete removes the level whatever amount it names
        out.append((price, amount))
    return out


def _wire_levels(levels: list[wire.Level]) -> list[Level] | None:
    """What :func:`_levels` gives for typed levels; None for a price or amount that is
    neither text nor an integer (the generic path names it)."""
    out = []
    for action, price, amount in levels:
        if price.__class__ is not str:
            if price.__class__ is not int:
                return None
            price = str(price)
        if amount.__class__ is not str:
            if amount.__class__ is not int:
                return None
            amount = str(amount)
        if action == "delete" and amount != "0.0" and amount != "0":
            amount = "0"
        out.append((price, amount))
    return out


_CHANNEL_AT = len(b'{"jsonrpc":"2.0","method":"subscription","params":{"channel":"')
"""Where a subscription frame's channel name starts (as Deribit sends it)."""


class DeribitMapper(Mapper):
    """Deribit frames -> trades, book snapshots/changes, quotes, mark/index price and
    funding (tickers of perpetuals and futures)."""

    spec: ClassVar[VenueSpec] = VenueSpec(
        venue="deribit",
        ws_url="wss://www.deribit.com/ws/api/v2",
        channels={"trades": "trades", "book": "book", "quotes": "quote", "derivatives": "ticker"},
        sequencing=Sequencing.PREV,
        market_types=("spot", "swap", "future"),
        subscribe=_subscribe,
        notes="change_id/prev_change_id; no checksum; JSON numbers kept as text",
    )

    def __init__(self, markets: MarketIndex) -> None:
        super().__init__(markets)
        self._ids: dict[str, str] = markets.ids()
        """Native id -> instrument, as ``_instrument`` gives it (read inline)."""

    def decode(self, payload: bytes) -> Any:
        """JSON with fractional numbers kept as their text (msgspec, the standard decoder
        for what it refuses: the same values, the same errors)."""
        return decode_numbers_as_text_fast(payload)

    def map_bytes(self, payload: bytes) -> list[MarketEvent] | None:
        """A ``trades`` / ``book`` / ``quote`` frame decoded straight into its typed struct
        (:mod:`.deribit_wire`, which holds the rules that make the events those of
        :meth:`map`); None for any other frame or value. The decoder is picked from the
        channel's first two bytes; what ``map`` does, in its order (an unknown instrument
        raises its MapError)."""
        # indexing a byte is the cheapest test; a wrong pick fails the decode (None)
        try:
            first = payload[_CHANNEL_AT]
            second = payload[_CHANNEL_AT + 1]
        except IndexError:
            return None
        if first == 116 and second == 114:  # "tr": trades
            try:
                trades = wire.trades(payload)
            except wire.INVALID:
                return None
            if trades.params.channel.partition(".")[0] != "trades":
                return None
            ids = self._ids
            out: list[MarketEvent] = []
            for t in trades.params.data:
                trade_id = t.trade_id
                if not trade_id:
                    return None
                native = t.instrument_name
                instrument = ids.get(native) or self._instrument_of(native)
                price = t.price
                if price.__class__ is not str:
                    if price.__class__ is not int:
                        return None
                    price = str(price)
                size = t.amount
                if size.__class__ is not str:
                    if size.__class__ is not int:
                        return None
                    size = str(size)
                side = BUY if t.direction == "buy" else SELL
                out.append(TradeEvent(instrument, trade_id, price, size, side, t.timestamp * MS))
            return out
        if first == 98:  # "b": book
            try:
                book = wire.book(payload)
            except wire.INVALID:
                return None
            if book.params.channel.partition(".")[0] != "book":
                return None
            return self._book_bytes(book.params.data)
        if first == 113:  # "q": quote
            try:
                quote = wire.quote(payload)
            except wire.INVALID:
                return None
            if quote.params.channel.partition(".")[0] != "quote":
                return None
            q = quote.params.data
            native = q.instrument_name
            instrument = self._ids.get(native) or self._instrument_of(native)
            bid, bid_size = q.best_bid_price, q.best_bid_amount
            ask, ask_size = q.best_ask_price, q.best_ask_amount
            if bid is not None and bid.__class__ is not str:
                if bid.__class__ is not int:
                    return None
                bid = str(bid)
            if bid_size is not None and bid_size.__class__ is not str:
                if bid_size.__class__ is not int:
                    return None
                bid_size = str(bid_size)
            if ask is not None and ask.__class__ is not str:
                if ask.__class__ is not int:
                    return None
                ask = str(ask)
            if ask_size is not None and ask_size.__class__ is not str:
                if ask_size.__class__ is not int:
                    return None
                ask_size = str(ask_size)
            return [QuoteEvent(instrument, bid, bid_size, ask, ask_size, q.timestamp * MS)]
        return None

    def _book_bytes(self, m: wire.Book) -> list[MarketEvent] | None:
        native = m.instrument_name
        instrument = self._ids.get(native) or self._instrument_of(native)
        bids = _wire_levels(m.bids)
        asks = _wire_levels(m.asks)
        if bids is None or asks is None:
            return None
        if m.type == "snapshot":
            event = BookEvent(instrument, True, bids, asks, m.timestamp * MS, None, m.change_id)
        else:
            prev = m.prev_change_id
            if prev.__class__ is not int:
                return None
            event = BookEvent(
                instrument, False, bids, asks, m.timestamp * MS, None, m.change_id, prev
            )
        return [event]

    def _instrument_of(self, native: str) -> str:
        instrument = self.markets.instrument(native)  # raises MapError for an unknown id
        self._ids[native] = instrument
        return instrument

    def map(self, message: Any) -> list[MarketEvent]:
        """One websocket frame."""
        if message.__class__ is not dict:
            raise MapError("frame", message, "a JSON object")
        if message.get("method") != "subscription":
            return []  # subscription results, heartbeats, test replies
        params = message["params"]
        if params.__class__ is not dict:
            raise MapError("params", params, "a JSON object")
        channel = params["channel"]
        if channel.__class__ is not str:
            raise MapError("channel", channel, "a string")
        data = params["data"]
        kind = channel.partition(".")[0]
        if kind == "trades":
            if data.__class__ is not list:
                raise MapError("data", data, "a list of trades")
            return [self._trade(t) for t in data]
        if data.__class__ is not dict:
            raise MapError("data", data, "a JSON object")
        if kind == "book":
            return [self._book(data)]
        if kind == "quote":
            return [self._quote(data)]
        if kind == "ticker":
            return self._ticker(data)
        return []

    def _ticker(self, m: dict[str, Any]) -> list[MarketEvent]:
        quote = self._quote(m)
        market = self.markets.markets.get(quote.instrument) or {}
        if market.get("type") not in DERIVATIVE_TYPES:
            return [quote]
        return [
            quote,
            DerivativesEvent(
                instrument=quote.instrument,
                mark_price=_optional(m, "mark_price"),
                index_price=_optional(m, "index_price"),
                funding_rate=_optional(m, "funding_8h"),
                exchange_ts_ns=quote.exchange_ts_ns,
            ),
        ]

    def _instrument(self, m: dict[str, Any]) -> str:
        return self.markets.instrument(m["instrument_name"])

    def _trade(self, t: Any) -> TradeEvent:
        if t.__class__ is not dict:
            raise MapError("data", t, "a trade object")
        side = SIDES.get(t["direction"]) if t["direction"].__class__ is str else None
        if side is None:
            raise MapError("direction", t["direction"], "buy or sell")
        trade_id = t["trade_id"]
        if trade_id.__class__ is not str or not trade_id:
            raise MapError("trade_id", trade_id, "a non-empty string")
        return TradeEvent(
            instrument=self._instrument(t),
            trade_id=trade_id,
            price=number(t, "price"),
            size=number(t, "amount"),
            side=side,
            exchange_ts_ns=integer(t, "timestamp") * MS,
        )

    def _book(self, m: dict[str, Any]) -> BookEvent:
        kind = m["type"]
        if kind != "snapshot" and kind != "change":
            raise MapError("type", kind, "snapshot or change")
        snapshot = kind == "snapshot"
        return BookEvent(
            instrument=self._instrument(m),
            snapshot=snapshot,
            bids=_levels(m["bids"], "bids"),
            asks=_levels(m["asks"], "asks"),
            exchange_ts_ns=integer(m, "timestamp") * MS,
            last_sequence=integer(m, "change_id"),
            prev_sequence=None if snapshot else integer(m, "prev_change_id"),
        )

    def _quote(self, m: dict[str, Any]) -> QuoteEvent:
        return QuoteEvent(
            instrument=self._instrument(m),
            bid_price=_optional(m, "best_bid_price"),
            bid_size=_optional(m, "best_bid_amount"),
            ask_price=_optional(m, "best_ask_price"),
            ask_size=_optional(m, "best_ask_amount"),
            exchange_ts_ns=integer(m, "timestamp") * MS,
        )
