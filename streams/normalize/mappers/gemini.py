"""Gemini market data v2 (``wss://api.gemini.com/v2/marketdata``), spot: one ``l2``
subscription per symbol gives ``l2_updates`` (the first per symbol holds the whole book,
with ``trades`` — the last trades before the subscription — and ``auction_events``; later
ones change levels, absolute sizes, ``"0"`` deletes) and ``trade`` frames. This is the feed
ccxt.pro's ``watch_trades`` / ``watch_order_book`` use; the v1 ``multimarketdata`` feed
(``socket_sequence`` per connection, used by ccxt only for multi-symbol watches) is not
mapped. No BBO channel on v2 (``watch_bids_asks`` is v1 only).

Sequencing: none and no checksum: a crossed or locked book is the integrity signal;
snapshots come on the socket. ``l2_updates`` carry no time; trades carry ``timestamp`` (ms).

Quirks: a trade's ``side`` is the taker's; its id is ``event_id`` (a JSON integer). Symbols
are upper case on the socket (``BTCUSD``), lower case in the REST market ids. The trades of
the first ``l2_updates`` are listed newest first and emitted as listed (as ccxt does).

``trade`` and ``l2_updates`` frames of the expected shape are decoded straight into typed
structs (:meth:`GeminiMapper.map_bytes`, :mod:`.gemini_wire`): the same events, without
the dict.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from msgspec import UNSET

from tapewire.streams.normalize.mappers import gemini_wire as wire
from tapewire.streams.normalize.mappers.base import MS, Mapper, MarketIndex, Sequencing, VenueSpec
from tapewire.streams.normalize.mappers.common import side_changes
from tapewire.streams.normalize.mappers.events import (
    BUY,
    SELL,
    BookEvent,
    MapError,
    MarketEvent,
    TradeEvent,
)

SIDES = {"buy": BUY, "sell": SELL}
_INVALID = wire.INVALID
_TRADE, _UPDATES = wire.trade, wire.updates


def _subscribe(channel: str, markets: Sequence[str]) -> list[dict[str, Any]]:
    symbols = [m.upper() for m in markets]
    return [{"type": "subscribe", "subscriptions": [{"name": "l2", "symbols": symbols}]}]


def is_snapshot(message: dict[str, Any]) -> bool:
    """The first ``l2_updates`` of a subscription (the whole book): it alone carries
    ``trades`` and ``auction_events`` (ccxt's test too)."""
    return "auction_events" in message and "trades" in message and "changes" in message


class GeminiMapper(Mapper):
    """Gemini v2 market data frames -> trades, book snapshots/updates."""

    spec: ClassVar[VenueSpec] = VenueSpec(
        venue="gemini",
        ws_url="wss://api.gemini.com/v2/marketdata",
        channels={"trades": "l2", "book": "l2"},
        sequencing=Sequencing.NONE,
        subscribe=_subscribe,
        notes="no ids, no checksum: crossed-book check; the first l2_updates is the book",
    )

    def __init__(self, markets: MarketIndex) -> None:
        super().__init__(markets)
        self._spot = markets.resolver("spot")
        self._ids: dict[str, str] = markets.ids("spot")
        """Lower-case native id -> instrument, as ``_spot`` gives it (read inline)."""

    def map(self, message: Any) -> list[MarketEvent]:
        """One websocket frame."""
        if message.__class__ is not dict:
            raise MapError("frame", message, "a JSON object")
        kind = message.get("type")
        if kind == "l2_updates":
            return self._book(message)
        if kind == "trade":
            return [self._trade(message)]
        if message.get("result") == "error":
            raise MapError("result", "error", f"market data ({message.get('reason')!r})")
        return []  # heartbeat, candles, other feeds

    def map_bytes(self, payload: bytes) -> list[MarketEvent] | None:
        """A ``trade`` / ``l2_updates`` frame decoded straight into its typed struct
        (:mod:`.gemini_wire`, which holds the rules that make the events those of
        :meth:`map`); None for any other frame. The decoder is picked from two bytes."""
        # indexing a byte is the cheapest test; a wrong pick fails the decode (None)
        try:
            if payload[2] != 116:  # not {"type":
                return None
            kind = payload[9]  # {"type":"? : the type's first letter
        except IndexError:
            return None
        if kind == 116:  # trade (_trade_event inlined: the hot path)
            try:
                t = _TRADE(payload)
            except _INVALID:
                return None
            native = t.symbol.lower()
            side = BUY if t.side == "buy" else SELL
            return [
                TradeEvent(
                    self._ids.get(native) or self._spot(native),
                    str(t.event_id),
                    t.price,
                    t.quantity,
                    side,
                    t.timestamp * MS,
                )
            ]
        if kind != 108:  # not l2_updates
            return None
        try:
            u = _UPDATES(payload)
        except _INVALID:
            return None
        # what side_changes and _book do, in their order (an unknown symbol raises the
        # generic path's MapError)
        bids = []
        asks = []
        for side, price, size in u.changes:
            if side == "buy":
                bids.append((price, size))
            else:
                asks.append((price, size))
        native = u.symbol.lower()
        instrument = self._ids.get(native) or self._spot(native)
        trades = u.trades
        if trades is UNSET or u.auction_events is UNSET:
            return [BookEvent(instrument, False, bids, asks)]
        out: list[MarketEvent] = [BookEvent(instrument, True, bids, asks)]
        out.extend(map(self._trade_event, trades))
        return out

    def _trade_event(self, t: wire.Trade) -> TradeEvent:
        native = t.symbol.lower()
        return TradeEvent(
            self._ids.get(native) or self._spot(native),
            str(t.event_id),
            t.price,
            t.quantity,
            BUY if t.side == "buy" else SELL,
            t.timestamp * MS,
        )

    def _instrument(self, message: dict[str, Any]) -> str:
        symbol = message["symbol"]
        if symbol.__class__ is not str:
            raise MapError("symbol", symbol, "a string")
        native = symbol.lower()
        found = self._ids.get(native)
        return found if found is not None else self._spot(native)  # raises MapError

    def _trade(self, trade: Any) -> TradeEvent:
        # field checks inlined (``base.text`` / ``base.integer``), in the order they were
        # made: side, symbol, event_id, price, quantity, timestamp
        if trade.__class__ is not dict:
            raise MapError("trades", trade, "a trade object")
        side = trade.get("side")
        if side.__class__ is not str or side not in SIDES:
            raise MapError("side", side, "'buy' or 'sell'")
        instrument = self._instrument(trade)
        event_id = trade["event_id"]
        if event_id.__class__ is not int:
            raise MapError("event_id", event_id, "an integer")
        price = trade["price"]
        if price.__class__ is not str:
            raise MapError("price", price, "a string")
        size = trade["quantity"]
        if size.__class__ is not str:
            raise MapError("quantity", size, "a string")
        ts = trade["timestamp"]
        if ts.__class__ is not int:
            raise MapError("timestamp", ts, "an integer")
        return TradeEvent(
            instrument=instrument,
            trade_id=str(event_id),
            price=price,
            size=size,
            side=SIDES[side],
            exchange_ts_ns=ts * MS,
        )

    def _book(self, message: dict[str, Any]) -> list[MarketEvent]:
        bids, asks = side_changes(message["changes"])
        snapshot = is_snapshot(message)
        out: list[MarketEvent] = [BookEvent(self._instrument(message), snapshot, bids, asks)]
        if snapshot:
            trades = message["trades"]
            if trades.__class__ is not list:
                raise MapError("trades", trades, "a list of trades")
            out.extend(self._trade(trade) for trade in trades)
        return out
