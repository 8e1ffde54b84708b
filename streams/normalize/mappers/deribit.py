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
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from tapewire.streams.normalize.mappers.base import MS, Mapper, Sequencing, VenueSpec, integer
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

    def decode(self, payload: bytes) -> Any:
        """JSON with fractional numbers kept as their text."""
        return json.loads(payload, parse_float=str)

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
