"""Coinbase Advanced Trade (``wss://advanced-trade-ws.coinbase.com``), spot: channels
``market_trades``, ``level2`` (frames say ``l2_data``: ``snapshot`` / ``update`` events with
absolute quantities, ``new_quantity`` ``"0"`` deletes) and ``ticker`` / ``ticker_batch``
(best bid/ask). Prices and sizes are JSON strings; timestamps ISO-8601 with ns digits.

Sequencing: no per-book ids and no checksum. ``sequence_num`` counts every message of a
connection across all channels (heartbeats and acks included): a jump is a connection-level
gap (:meth:`CoinbaseMapper.connection_gap`), every live book of that connection resyncs on
its next ``snapshot``; a book update carries its frame's ``sequence_num`` as
``last_sequence``. With neither ids nor a checksum per book, a crossed book also resyncs.

Quirks: ``market_trades`` ``side`` is the **maker** order's side (see
``venues/coinbase.py``): the aggressor published is the opposite. Coinbase lists a frame's
trades newest first; they are emitted oldest first (as ccxt does).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from tapewire.core.bounded import Generations
from tapewire.streams.normalize.mappers import coinbase_wire as wire
from tapewire.streams.normalize.mappers.base import Mapper, MarketIndex, VenueSpec, text
from tapewire.streams.normalize.mappers.common import iso_ns, iso_to_ns
from tapewire.streams.normalize.mappers.events import (
    BUY,
    SELL,
    UNKNOWN,
    BookEvent,
    Level,
    MapError,
    MarketEvent,
    QuoteEvent,
    TradeEvent,
)

TAKER_SIDE = {"SELL": BUY, "BUY": SELL, "sell": BUY, "buy": SELL}
"""Aggressor side from the side Coinbase sends (the maker's)."""
_TRADES, _BOOK, _INVALID = wire.trades, wire.book, wire.INVALID


def _subscribe(channel: str, markets: Sequence[str]) -> list[dict[str, Any]]:
    name = {"trades": "market_trades", "book": "level2", "quotes": "ticker"}[channel]
    return [{"type": "subscribe", "product_ids": list(markets), "channel": name}]


def _events(message: dict[str, Any]) -> list[dict[str, Any]]:
    events = message.get("events")
    if events.__class__ is not list:
        raise MapError("events", events, "a list of events")
    for event in events:
        if event.__class__ is not dict:
            raise MapError("events", event, "an event object")
    return events


class CoinbaseMapper(Mapper):
    """Coinbase Advanced Trade frames -> trades, book snapshots/updates, quotes."""

    spec: ClassVar[VenueSpec] = VenueSpec(
        venue="coinbase",
        ws_url="wss://advanced-trade-ws.coinbase.com",
        channels={"trades": "market_trades", "book": "level2", "quotes": "ticker"},
        subscribe=_subscribe,
        notes="connection-level sequence_num; snapshots on the socket; no checksum",
    )
    market_type: ClassVar[str] = "spot"
    map_bytes_checks_gaps: ClassVar[bool] = True

    def __init__(self, markets: MarketIndex) -> None:
        super().__init__(markets)
        # per connection; a connection silent while 1,024 newer ones appeared is forgotten
        self._last_seq: Generations[str, int] = Generations(1_024)
        self._ids: dict[str, str] = markets.ids(self.market_type)
        """Native id -> instrument, as ``markets.instrument(id, market_type)`` gives it (the
        fast path's lookup; an id not in it takes the generic path)."""

    def connection_gap(self, message: Any, connection_id: str) -> str | None:
        """``sequence_num`` must count up by one per message of a connection."""
        if message.__class__ is not dict:
            return None
        seq = message.get("sequence_num")
        if seq.__class__ is not int:
            return None
        last = self._last_seq.get(connection_id)
        self._last_seq[connection_id] = seq
        return "sequence_gap" if last is not None and seq != last + 1 else None

    def map(self, message: Any) -> list[MarketEvent]:
        """One websocket frame."""
        if message.__class__ is not dict:
            raise MapError("frame", message, "a JSON object")
        channel = message.get("channel")
        if channel == "market_trades":
            return self._trades(message)
        if channel == "l2_data":
            return self._book(message)
        if channel == "ticker" or channel == "ticker_batch":
            return self._tickers(message)
        if message.get("type") == "error":
            raise MapError("type", "error", f"market data (venue error {message.get('message')!r})")
        return []  # subscriptions, heartbeats, other channels

    def map_bytes(self, payload: bytes) -> list[MarketEvent] | None:
        """A ``market_trades`` / ``l2_data`` frame decoded straight into its typed struct
        (:mod:`.coinbase_wire`, which holds the rules that make the events those of
        :meth:`map`), when its ``sequence_num`` follows its connection's last one (then
        recorded, as :meth:`connection_gap` does); None for any other frame, an unknown
        product or a bad timestamp (the generic path names it), and for a frame whose
        :meth:`connection_gap` would be anything but None (it is left to the generic path,
        its state untouched)."""
        # the decoder from two bytes ('{"channel":"' then the name's first letter); a wrong
        # pick fails the decode
        try:
            if payload[2] != 99:  # not {"c
                return None
            kind = payload[12]
        except IndexError:
            return None
        ids = self._ids
        out: list[MarketEvent] = []
        if kind == 109:  # market_trades (_trades inlined: the hot path)
            try:
                t = _TRADES(payload)
            except _INVALID:
                return None
            for event in t.events:
                trades = event.trades
                if trades is None:
                    continue
                for trade in reversed(trades):
                    instrument = ids.get(trade.product_id)
                    ns = iso_to_ns(trade.time)
                    if instrument is None or ns is None:
                        return None
                    out.append(
                        TradeEvent(
                            instrument,
                            trade.trade_id,
                            trade.price,
                            trade.size,
                            TAKER_SIDE.get(trade.side, UNKNOWN),
                            ns,
                        )
                    )
            seq = t.sequence_num
        elif kind == 108:  # l2_data
            try:
                b = _BOOK(payload)
            except _INVALID:
                return None
            ts = iso_to_ns(b.timestamp)
            if ts is None:
                return None
            seq = b.sequence_num
            for e in b.events:
                instrument = ids.get(e.product_id)
                if instrument is None:
                    return None
                bids: list[Level] = []
                asks: list[Level] = []
                for u in e.updates:
                    if u.side == "bid":
                        bids.append((u.price_level, u.new_quantity))
                    else:
                        asks.append((u.price_level, u.new_quantity))
                out.append(BookEvent(instrument, e.type == "snapshot", bids, asks, ts, None, seq))
        else:
            return None
        # connection_gap's work: the frame must follow its connection's last one (in the
        # current generation: a first frame or an old connection takes the generic path)
        seen = self._last_seq.current
        connection = self.connection_id
        last = seen.get(connection)
        if last is None or seq != last + 1:
            return None
        seen[connection] = seq
        return out

    def _instrument(self, item: dict[str, Any]) -> str:
        return self.markets.instrument(text(item, "product_id"), self.market_type)

    def _trades(self, message: dict[str, Any]) -> list[MarketEvent]:
        out: list[MarketEvent] = []
        for event in _events(message):
            trades = event.get("trades")
            if trades is None:
                continue
            if trades.__class__ is not list:
                raise MapError("trades", trades, "a list of trades")
            for trade in reversed(trades):
                if trade.__class__ is not dict:
                    raise MapError("trades", trade, "a trade object")
                out.append(
                    TradeEvent(
                        instrument=self._instrument(trade),
                        trade_id=text(trade, "trade_id"),
                        price=text(trade, "price"),
                        size=text(trade, "size"),
                        side=TAKER_SIDE.get(str(trade.get("side")), UNKNOWN),
                        exchange_ts_ns=iso_ns(trade, "time"),
                    )
                )
        return out

    def _book(self, message: dict[str, Any]) -> list[MarketEvent]:
        events = _events(message)
        ts = iso_ns(message, "timestamp")
        seq = message.get("sequence_num")
        out: list[MarketEvent] = []
        for event in events:
            kind = event.get("type")
            if kind != "snapshot" and kind != "update":
                raise MapError("type", kind, "'snapshot' or 'update'")
            updates = event["updates"]
            if updates.__class__ is not list:
                raise MapError("updates", updates, "a list of level updates")
            bids: list[Level] = []
            asks: list[Level] = []
            for update in updates:
                if update.__class__ is not dict:
                    raise MapError("updates", update, "a level update object")
                side = update.get("side")
                level = (text(update, "price_level"), text(update, "new_quantity"))
                if side == "bid":
                    bids.append(level)
                elif side == "offer" or side == "ask":
                    asks.append(level)
                else:
                    raise MapError("side", side, "'bid' or 'offer'")
            out.append(
                BookEvent(
                    instrument=self._instrument(event),
                    snapshot=kind == "snapshot",
                    bids=bids,
                    asks=asks,
                    exchange_ts_ns=ts,
                    last_sequence=seq if seq.__class__ is int else None,
                )
            )
        return out

    def _tickers(self, message: dict[str, Any]) -> list[MarketEvent]:
        ts = iso_ns(message, "timestamp")
        out: list[MarketEvent] = []
        for event in _events(message):
            tickers = event.get("tickers") or []
            if tickers.__class__ is not list:
                raise MapError("tickers", tickers, "a list of tickers")
            for ticker in tickers:
                if ticker.__class__ is not dict:
                    raise MapError("tickers", ticker, "a ticker object")
                bid, bid_size, ask, ask_size = (_opt_text(ticker, k) for k in _BBO_KEYS)
                if bid is None and bid_size is None and ask is None and ask_size is None:
                    continue  # no best bid/ask in this ticker
                out.append(QuoteEvent(self._instrument(ticker), bid, bid_size, ask, ask_size, ts))
        return out


_BBO_KEYS = ("best_bid", "best_bid_quantity", "best_ask", "best_ask_quantity")


def _opt_text(message: dict[str, Any], key: str) -> str | None:
    value = message.get(key)
    if value is None or value == "":
        return None
    if value.__class__ is not str:
        raise MapError(key, value, "a string")
    return value
