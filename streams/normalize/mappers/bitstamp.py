"""Bitstamp (websocket v2, ``wss://ws.bitstamp.net``), spot: ``live_trades_<pair>``,
``order_book_<pair>`` (top-100 snapshot, sent again on every change) as book snapshots and
``diff_order_book_<pair>`` as deltas. No BBO channel.

Sequencing: none, no checksum. Every book frame carries ``microtimestamp`` (µs, text): it
is the book's ``last_sequence``, so a delta not newer than the snapshot is stale and
dropped; otherwise a crossed or locked book is the integrity signal (``crossed_book``).
Snapshots come on the socket (deltas before the first one are dropped).

Trades: ``type`` 0 is a buy, 1 a sell (the taker's side); price and size from
``price_str``/``amount_str`` (``price``/``amount`` are JSON numbers, not used); exchange
time is ``microtimestamp``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tapewire.streams.normalize.mappers import bitstamp_wire as wire
from tapewire.streams.normalize.mappers.base import (
    US,
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
    TradeEvent,
)

SNAPSHOT_DEPTH = 100
"""Levels per side of an ``order_book_<pair>`` frame."""
_PREFIXES = {"trades": "live_trades_", "book": "order_book_", "book_delta": "diff_order_book_"}
_TRADE, _BOOK, _INVALID = wire.trade, wire.book, wire.INVALID
_TRADES_KIND, _SNAPSHOT_KIND, _DELTA_KIND = 0, 1, 2
"""Channel kinds of the fast path's lookup."""


def _subscribe(channel: str, markets: list[str] | Any) -> list[dict[str, Any]]:
    prefixes = [_PREFIXES["trades"]] if channel == "trades" else []
    if channel == "book":
        prefixes = [_PREFIXES["book"], _PREFIXES["book_delta"]]
    return [
        {"event": "bts:subscribe", "data": {"channel": prefix + m}}
        for prefix in prefixes
        for m in markets
    ]


def _micros(data: dict[str, Any]) -> int:
    value = data["microtimestamp"]
    if value.__class__ is not str or not value.isdigit():
        raise MapError("microtimestamp", value, "microseconds as a decimal string")
    return int(value)


class BitstampMapper(Mapper):
    """Bitstamp spot frames -> trades, book snapshots and deltas."""

    spec: ClassVar[VenueSpec] = VenueSpec(
        venue="bitstamp",
        ws_url="wss://ws.bitstamp.net",
        channels={"trades": "live_trades", "book": "diff_order_book"},
        sequencing=Sequencing.NONE,
        subscribe=_subscribe,
        notes="no ids, no checksum: crossed-book check; microtimestamp drops stale deltas",
    )

    def __init__(self, markets: MarketIndex) -> None:
        super().__init__(markets)
        self._ids: dict[str, str] = markets.ids("spot")
        """Native id -> instrument, as ``markets.instrument(id, "spot")`` gives it."""
        self._channels: dict[str, tuple[str, int]] = {}
        """The fast path's lookup: channel of a known pair -> (instrument, its kind:
        :data:`_TRADES_KIND`, :data:`_SNAPSHOT_KIND` or :data:`_DELTA_KIND`); filled as
        channels are first seen (at most three a market). Others take the generic path."""

    def _channel(self, channel: str) -> tuple[str, int] | None:
        """(instrument, kind) of a channel not in ``_channels`` yet; None when it is no
        mapped channel of a known pair."""
        if channel.startswith("live_trades_"):
            native, kind = channel[12:], _TRADES_KIND
        elif channel.startswith("diff_order_book_"):
            native, kind = channel[16:], _DELTA_KIND
        elif channel.startswith("order_book_"):
            native, kind = channel[11:], _SNAPSHOT_KIND
        else:
            return None
        instrument = self._ids.get(native)
        if instrument is None:
            return None
        found = self._channels[channel] = (instrument, kind)
        return found

    def map_bytes(self, payload: bytes) -> list[MarketEvent] | None:
        """A trade, book snapshot or delta frame decoded straight into its typed struct
        (:mod:`.bitstamp_wire`, which holds the rules that make the events those of
        :meth:`map`); None for any other frame, an unknown pair or a bad
        ``microtimestamp`` (the generic path names it). The decoder is picked from one byte:
        the first key of ``data`` (``{"data":{"id"``: a trade, ``{"data":{"timestamp"``: a
        book); a wrong pick fails the decode."""
        try:
            if payload[2] != 100:  # not {"data":
                return None
            first = payload[10]
        except IndexError:
            return None
        if first == 105:  # {"data":{"id": a trade
            try:
                t = _TRADE(payload)
            except _INVALID:
                return None
            channel = t.channel
            found = self._channels.get(channel) or self._channel(channel)
            d = t.data
            kind = d.type
            micros = d.microtimestamp
            if (
                found is None
                or found[1] != _TRADES_KIND
                or (kind != 0 and kind != 1)
                or not micros.isdigit()
                or not micros.isascii()
            ):
                return None
            return [
                TradeEvent(
                    found[0],
                    str(d.id),
                    d.price_str,
                    d.amount_str,
                    BUY if kind == 0 else SELL,
                    int(micros) * US,
                )
            ]
        if first != 116:  # not {"data":{"timestamp": a book
            return None
        try:
            b = _BOOK(payload)
        except _INVALID:
            return None
        channel = b.channel
        found = self._channels.get(channel) or self._channel(channel)
        data = b.data
        micros = data.microtimestamp
        if found is None or not micros.isdigit() or not micros.isascii():
            return None
        instrument, kind = found
        if kind == _TRADES_KIND:
            return None
        snapshot = kind == _SNAPSHOT_KIND
        value = int(micros)
        return [
            BookEvent(
                instrument,
                snapshot,
                data.bids,
                data.asks,
                value * US,
                None,
                value,
                None,
                None,
                SNAPSHOT_DEPTH if snapshot else None,
            )
        ]

    def map(self, message: Any) -> list[MarketEvent]:
        """One websocket frame."""
        if message.__class__ is not dict:
            raise MapError("frame", message, "a JSON object")
        event = message.get("event")
        channel = message.get("channel")
        if event not in ("trade", "data") or channel.__class__ is not str:
            return []  # bts:subscription_succeeded, bts:heartbeat, bts:request_reconnect
        data = message["data"]
        if data.__class__ is not dict:
            raise MapError("data", data, "a JSON object")
        if event == "trade" and channel.startswith("live_trades_"):
            return [self._trade(channel[12:], data)]
        if channel.startswith("diff_order_book_"):
            return [self._book(channel[16:], data, snapshot=False)]
        if channel.startswith("order_book_"):
            return [self._book(channel[11:], data, snapshot=True)]
        return []

    def _trade(self, native: str, data: dict[str, Any]) -> TradeEvent:
        kind = data["type"]
        if (kind != 0 and kind != 1) or kind.__class__ is not int:
            raise MapError("type", kind, "0 (buy) or 1 (sell)")
        return TradeEvent(
            instrument=self.markets.instrument(native, "spot"),
            trade_id=str(integer(data, "id")),
            price=text(data, "price_str"),
            size=text(data, "amount_str"),
            side=BUY if kind == 0 else SELL,
            exchange_ts_ns=_micros(data) * US,
        )

    def _book(self, native: str, data: dict[str, Any], snapshot: bool) -> BookEvent:
        micros = _micros(data)
        return BookEvent(
            instrument=self.markets.instrument(native, "spot"),
            snapshot=snapshot,
            bids=levels(data["bids"], "bids"),
            asks=levels(data["asks"], "asks"),
            exchange_ts_ns=micros * US,
            last_sequence=micros,
            depth=SNAPSHOT_DEPTH if snapshot else None,
        )
