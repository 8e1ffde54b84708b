"""HTX (ex-Huobi) spot (``wss://api.huobi.pro/feed`` for ``mbp``, ``/ws`` for the rest;
frames are gzip-compressed binary): ``market.$symbol.trade.detail`` trades,
``market.$symbol.mbp.$levels`` incremental book and ``market.$symbol.bbo`` best bid/ask.
Perpetuals are on other hosts (``api.hbdm.com``), not this feed.

Book: the snapshot is the reply to ``{"req": "market.$symbol.mbp.150"}`` on the socket
(``rep``, ``data.seqNum``); deltas before it are buffered and replayed onto it
(``rest_snapshots``). Sequencing: PREV (``tick.prevSeqNum`` must be the book's last
``seqNum``; the bridging delta after a snapshot ``S`` has ``prevSeqNum <= S <= seqNum``).
Sizes are absolute, ``0`` deletes. No checksum.

Trades: ``direction`` is the taker's side; ``tradeId`` is HTX's trade id (``id`` is the
deprecated one, which ccxt reports). Quotes take ``quoteTime``. ``{"ping": ts}`` and
subscription acks map to nothing. Prices and sizes are JSON numbers: frames are decoded
with every number as its wire text, never a float.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from typing import Any, ClassVar

from tapewire.streams.normalize.mappers.base import MS, Mapper, Sequencing, VenueSpec
from tapewire.streams.normalize.mappers.events import (
    BUY,
    SELL,
    BookEvent,
    Level,
    MapError,
    MarketEvent,
    QuoteEvent,
    TradeEvent,
)

DEPTH = 150
"""Levels of the ``mbp`` feed subscribed (and of the ``req`` snapshot)."""
_TOPICS = {"trades": "trade.detail", "book": f"mbp.{DEPTH}", "quotes": "bbo"}


def _subscribe(channel: str, markets: Sequence[str]) -> list[dict[str, Any]]:
    topic = _TOPICS[channel]
    subs: list[dict[str, Any]] = [
        {"sub": f"market.{m}.{topic}", "id": f"{m}.{channel}"} for m in markets
    ]
    if channel == "book":  # the snapshot, requested once the deltas are being buffered
        subs += [{"req": f"market.{m}.{topic}", "id": f"{m}.snapshot"} for m in markets]
    return subs


def decode_gzip_json(payload: bytes) -> Any:
    """gzip (HTX always compresses) -> JSON with every number as its wire text."""
    if payload[:2] == b"\x1f\x8b":
        payload = gzip.decompress(payload)
    return json.loads(payload, parse_float=str, parse_int=str)


def _number(value: Any, name: str) -> str:
    if value.__class__ is not str or not value or value[0] not in "-0123456789":
        raise MapError(name, value, "a JSON number")
    return value


def _int(data: dict[str, Any], key: str) -> int:
    value = data[key]
    if value.__class__ is not str or not value.isdigit():
        raise MapError(key, value, "an integer")
    return int(value)


def _levels(value: Any, key: str) -> list[Level]:
    if value.__class__ is not list:
        raise MapError(key, value, "a list of [price, size] pairs")
    out = []
    for level in value:
        if level.__class__ is not list or len(level) != 2:
            raise MapError(key, level, "a [price, size] pair")
        out.append((_number(level[0], "price"), _number(level[1], "size")))
    return out


def _topic(channel: Any, key: str) -> tuple[str, str]:
    """``market.btcusdt.mbp.150`` -> (``btcusdt``, ``mbp.150``)."""
    if channel.__class__ is not str or not channel.startswith("market."):
        raise MapError(key, channel, "market.<symbol>.<topic>")
    _, native, rest = channel.split(".", 2) if channel.count(".") >= 2 else ("", "", "")
    if not native:
        raise MapError(key, channel, "market.<symbol>.<topic>")
    return native, rest


class HtxMapper(Mapper):
    """HTX spot frames -> trades, mbp deltas, req snapshots, bbo quotes."""

    spec: ClassVar[VenueSpec] = VenueSpec(
        venue="htx",
        ws_url="wss://api.huobi.pro/feed",
        channels={"trades": "trade.detail", "book": f"mbp.{DEPTH}", "quotes": "bbo"},
        sequencing=Sequencing.PREV,
        rest_snapshots=True,
        subscribe=_subscribe,
        notes="gzip frames; mbp deltas buffered until the req snapshot; no checksum",
    )

    def decode(self, payload: bytes) -> Any:
        """gunzip, then JSON with numbers as text."""
        return decode_gzip_json(payload)

    def map(self, message: Any) -> list[MarketEvent]:
        """One websocket frame."""
        if message.__class__ is not dict:
            raise MapError("frame", message, "a JSON object")
        channel = message.get("ch")
        if channel is None:
            if "rep" in message and message.get("status") == "ok":
                return [self._snapshot(message)]
            return []  # ping, sub/unsub acks, errors
        native, topic = _topic(channel, "ch")
        tick = message["tick"]
        if tick.__class__ is not dict:
            raise MapError("tick", tick, "a JSON object")
        if topic.startswith("mbp."):
            return [self._delta(native, message, tick)]
        if topic == "trade.detail":
            return self._trades(native, tick)
        if topic == "bbo":
            return [self._bbo(native, tick)]
        return []

    def _trades(self, native: str, tick: dict[str, Any]) -> list[MarketEvent]:
        instrument = self.markets.instrument(native, "spot")
        data = tick["data"]
        if data.__class__ is not list:
            raise MapError("data", data, "a list of trades")
        out: list[MarketEvent] = []
        for trade in data:
            if trade.__class__ is not dict:
                raise MapError("data", trade, "a trade object")
            side = trade["direction"]
            if side != "buy" and side != "sell":
                raise MapError("direction", side, "buy or sell")
            out.append(
                TradeEvent(
                    instrument=instrument,
                    trade_id=str(_int(trade, "tradeId")),
                    price=_number(trade["price"], "price"),
                    size=_number(trade["amount"], "amount"),
                    side=BUY if side == "buy" else SELL,
                    exchange_ts_ns=_int(trade, "ts") * MS,
                )
            )
        return out

    def _delta(self, native: str, message: dict[str, Any], tick: dict[str, Any]) -> BookEvent:
        return BookEvent(
            instrument=self.markets.instrument(native, "spot"),
            snapshot=False,
            bids=_levels(tick.get("bids", []), "bids"),
            asks=_levels(tick.get("asks", []), "asks"),
            exchange_ts_ns=_int(message, "ts") * MS,
            last_sequence=_int(tick, "seqNum"),
            prev_sequence=_int(tick, "prevSeqNum"),
        )

    def _snapshot(self, message: dict[str, Any]) -> BookEvent:
        native, topic = _topic(message["rep"], "rep")
        if not topic.startswith("mbp."):
            raise MapError("rep", message["rep"], "an mbp snapshot reply")
        data = message["data"]
        if data.__class__ is not dict:
            raise MapError("data", data, "a JSON object")
        depth = topic[4:]
        return BookEvent(
            instrument=self.markets.instrument(native, "spot"),
            snapshot=True,
            bids=_levels(data["bids"], "bids"),
            asks=_levels(data["asks"], "asks"),
            exchange_ts_ns=_int(message, "ts") * MS,
            last_sequence=_int(data, "seqNum"),
            depth=int(depth) if depth.isdigit() else None,
        )

    def _bbo(self, native: str, tick: dict[str, Any]) -> QuoteEvent:
        return QuoteEvent(
            instrument=self.markets.instrument(native, "spot"),
            bid_price=_number(tick["bid"], "bid"),
            bid_size=_number(tick["bidSize"], "bidSize"),
            ask_price=_number(tick["ask"], "ask"),
            ask_size=_number(tick["askSize"], "askSize"),
            exchange_ts_ns=_int(tick, "quoteTime") * MS,
        )
