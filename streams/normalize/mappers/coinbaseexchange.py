"""Coinbase Exchange (the former Coinbase Pro feed, ``wss://ws-feed.exchange.coinbase.com``),
spot: channels ``matches`` (``match`` frames), ``level2`` / ``level2_batch`` (a ``snapshot``
of the whole book, then ``l2update`` frames with absolute sizes, ``"0"`` deletes) and
``ticker`` (best bid/ask). Prices and sizes are JSON strings; times ISO-8601 (µs).

Sequencing: ``level2`` has no ids and no checksum (``Sequencing.NONE``): a crossed or
locked book is the integrity signal; snapshots come on the socket. ``match`` and ``ticker``
carry the product's full-feed ``sequence``, which skips every order event of the full
channel, so it cannot show lost ``matches`` frames: not used.

Quirks: a ``match``'s ``side`` is the **maker** order's side (Coinbase's documentation;
ccxt inverts it too): the aggressor published is the opposite. ``last_match`` (the last
trade before the subscription, sent once per subscribe) is not published, as in ccxt.
``trade_id`` arrives as a JSON integer. ``snapshot`` frames carry no time; ``l2update``
frames do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from tapewire.streams.normalize.mappers.base import Mapper, Sequencing, VenueSpec, levels, text
from tapewire.streams.normalize.mappers.common import iso_ns, side_changes
from tapewire.streams.normalize.mappers.events import (
    BUY,
    SELL,
    BookEvent,
    MapError,
    MarketEvent,
    QuoteEvent,
    TradeEvent,
)

TAKER_SIDE = {"sell": BUY, "buy": SELL}
"""Aggressor side from a ``match``'s ``side`` (the maker's)."""
_CHANNELS = {"trades": "matches", "book": "level2", "quotes": "ticker"}


def _subscribe(channel: str, markets: Sequence[str]) -> list[dict[str, Any]]:
    return [{"type": "subscribe", "product_ids": list(markets), "channels": [_CHANNELS[channel]]}]


class CoinbaseExchangeMapper(Mapper):
    """Coinbase Exchange frames -> trades, book snapshots/updates, quotes."""

    spec: ClassVar[VenueSpec] = VenueSpec(
        venue="coinbaseexchange",
        ws_url="wss://ws-feed.exchange.coinbase.com",
        channels=_CHANNELS,
        sequencing=Sequencing.NONE,
        subscribe=_subscribe,
        notes="level2 has no ids and no checksum: crossed-book check; snapshots on the socket",
    )

    def map(self, message: Any) -> list[MarketEvent]:
        """One websocket frame."""
        if message.__class__ is not dict:
            raise MapError("frame", message, "a JSON object")
        kind = message.get("type")
        if kind == "l2update":
            return [self._update(message)]
        if kind == "match":
            return [self._trade(message)]
        if kind == "ticker":
            return self._ticker(message)
        if kind == "snapshot":
            return [
                BookEvent(
                    instrument=self._instrument(message),
                    snapshot=True,
                    bids=levels(message["bids"], "bids"),
                    asks=levels(message["asks"], "asks"),
                )
            ]
        if kind == "error":
            raise MapError("type", "error", f"market data (venue error {message.get('message')!r})")
        return []  # subscriptions, heartbeat, last_match, other channels

    def _instrument(self, message: dict[str, Any]) -> str:
        return self.markets.instrument(text(message, "product_id"), "spot")

    def _trade(self, message: dict[str, Any]) -> TradeEvent:
        trade_id = message["trade_id"]
        if trade_id.__class__ is not int:
            raise MapError("trade_id", trade_id, "an integer")
        side = message.get("side")
        if side.__class__ is not str or side not in TAKER_SIDE:
            raise MapError("side", side, "'buy' or 'sell'")
        return TradeEvent(
            instrument=self._instrument(message),
            trade_id=str(trade_id),
            price=text(message, "price"),
            size=text(message, "size"),
            side=TAKER_SIDE[side],
            exchange_ts_ns=iso_ns(message, "time"),
        )

    def _update(self, message: dict[str, Any]) -> BookEvent:
        bids, asks = side_changes(message["changes"])
        return BookEvent(
            instrument=self._instrument(message),
            snapshot=False,
            bids=bids,
            asks=asks,
            exchange_ts_ns=iso_ns(message, "time"),
        )

    def _ticker(self, message: dict[str, Any]) -> list[MarketEvent]:
        bid, ask = _opt_text(message, "best_bid"), _opt_text(message, "best_ask")
        if bid is None and ask is None:
            return []  # a ticker without a best bid or ask
        bid_size, ask_size = (
            _opt_text(message, "best_bid_size"),
            _opt_text(message, "best_ask_size"),
        )
        ts = iso_ns(message, "time")
        return [QuoteEvent(self._instrument(message), bid, bid_size, ask, ask_size, ts)]


def _opt_text(message: dict[str, Any], key: str) -> str | None:
    value = message.get(key)
    if value is None:
        return None
    if value.__class__ is not str:
        raise MapError(key, value, "a string")
    return value
