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

Fast path: :meth:`HtxMapper.map_bytes` inflates a frame with one zlib call and decodes
``trade.detail``, ``mbp`` delta and ``bbo`` frames straight into the typed structs of
:mod:`.htx_wire` (exactly the values :meth:`HtxMapper.map` accepts, else None: the frame
then takes :meth:`HtxMapper.decode` and :meth:`HtxMapper.map`, which name what is wrong).
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Sequence
from typing import Any, ClassVar

from tapewire.streams.normalize.mappers import htx_wire as wire
from tapewire.streams.normalize.mappers.base import MS, Mapper, MarketIndex, Sequencing, VenueSpec
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


_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 31
"""zlib's window bits for a gzip stream (header and trailer checked by zlib)."""


def _inflate(payload: bytes) -> bytes | None:
    """One gzip member, the whole payload (CRC and length checked), inflated in C; None
    for anything else (several members, trailing bytes, a bad stream), which
    :func:`gzip.decompress` then inflates or rejects with its own error."""
    inflater = zlib.decompressobj(_GZIP_WBITS)
    try:
        data = inflater.decompress(payload)
    except zlib.error:
        return None
    if inflater.eof and not inflater.unused_data:
        return data
    return None


def gunzip(payload: bytes) -> bytes:
    """:func:`gzip.decompress` (same bytes, same errors), the single-member frame HTX sends
    without parsing its header in Python."""
    data = _inflate(payload)
    return gzip.decompress(payload) if data is None else data


def decode_gzip_json(payload: bytes) -> Any:
    """gzip (HTX always compresses) -> JSON with every number as its wire text."""
    if payload[:2] == _GZIP_MAGIC:
        payload = gunzip(payload)
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


_DIGITS = "0123456789"
_MINUS = ord("-")
"""``int in bytes`` is one memchr (``b"-" in bytes`` costs 10x that)."""
_decompressobj = zlib.decompressobj
_CHANNELS_KEPT = 4096
"""Hot channels whose instrument :class:`HtxMapper` keeps (a few per market in practice)."""
_CH = b'{"ch":"market.'
"""How a hot frame starts (the channel first, as HTX sends it)."""


def _text(value: Any) -> str | None:
    """A price or size from :mod:`.htx_wire` (the frame has no ``-``): what :func:`_number`
    gives for it, None where the generic path is to decide."""
    if value.__class__ is str:
        return value if value and value[0] in _DIGITS else None
    return str(value) if value.__class__ is int else None


def _level_texts(levels: list[tuple[Any, Any]]) -> list[Level] | None:
    out = []
    for price, size in levels:
        if price.__class__ is int:
            price = str(price)
        elif price.__class__ is not str or not price or price[0] not in _DIGITS:
            return None
        if size.__class__ is int:
            size = str(size)
        elif size.__class__ is not str or not size or size[0] not in _DIGITS:
            return None
        out.append((price, size))
    return out


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

    def __init__(self, markets: MarketIndex) -> None:
        super().__init__(markets)
        self._spot = markets.resolver("spot")
        self._channels: dict[str, tuple[str, str]] = {}
        """``ch`` of a hot frame -> (instrument, topic), filled as channels are first seen
        (the checks and lookup of :func:`_topic` done once per channel)."""

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

    def map_bytes(self, payload: bytes) -> list[MarketEvent] | None:
        """A ``trade.detail`` / ``mbp`` delta / ``bbo`` frame inflated and decoded straight
        into its typed struct (:mod:`.htx_wire`, which holds the rules that make the events
        those of :meth:`map`); None for any other frame or value. The decoder is picked
        from the channel's bytes; what ``map`` does, in its order (an unknown symbol
        raises its MapError)."""
        inflater = _decompressobj(_GZIP_WBITS)  # _inflate inlined (the hot path)
        try:
            raw = inflater.decompress(payload)  # refuses what has no gzip magic
        except zlib.error:
            return None
        if not inflater.eof or inflater.unused_data:
            return None
        if raw[:14] != _CH or _MINUS in raw:  # "-": see htx_wire
            return None
        end = raw.find(b'"', 14)
        if raw[end - 13 : end] == b".trade.detail":
            try:
                frame = wire.trades(raw)
            except wire.INVALID:
                return None
            ch = frame.ch
            found = self._channels.get(ch)  # _channel's cache read inline
            instrument = (
                found[0]
                if found is not None and found[1] == "trade.detail"
                else self._channel(ch, "trade.detail")
            )
            if instrument is None:
                return None
            out: list[MarketEvent] = []
            for t in frame.tick.data:
                price = t.price  # a non-integer's text (str) first: the common case
                if price.__class__ is str:
                    if not price or price[0] not in _DIGITS:
                        return None
                elif price.__class__ is int:
                    price = str(price)
                else:
                    return None
                size = t.amount
                if size.__class__ is str:
                    if not size or size[0] not in _DIGITS:
                        return None
                elif size.__class__ is int:
                    size = str(size)
                else:
                    return None
                side = BUY if t.direction == "buy" else SELL
                out.append(TradeEvent(instrument, str(t.tradeId), price, size, side, t.ts * MS))
            return out
        if raw[end - 4 : end] == b".bbo":
            try:
                quote = wire.bbo(raw)
            except wire.INVALID:
                return None
            instrument = self._channel(quote.ch, "bbo")
            if instrument is None:
                return None
            tick = quote.tick
            bid, bid_size = _text(tick.bid), _text(tick.bidSize)
            ask, ask_size = _text(tick.ask), _text(tick.askSize)
            if bid is None or bid_size is None or ask is None or ask_size is None:
                return None
            return [QuoteEvent(instrument, bid, bid_size, ask, ask_size, tick.quoteTime * MS)]
        if raw.find(b".mbp.", 14, end) < 0:
            return None
        try:
            delta = wire.mbp(raw)
        except wire.INVALID:
            return None
        instrument = self._channel(delta.ch, "mbp.")
        if instrument is None:
            return None
        tick_ = delta.tick
        bids = _level_texts(tick_.bids)
        asks = _level_texts(tick_.asks)
        if bids is None or asks is None:
            return None
        return [
            BookEvent(
                instrument,
                False,
                bids,
                asks,
                delta.ts * MS,
                None,
                tick_.seqNum,
                tick_.prevSeqNum,
            )
        ]

    def _channel(self, ch: str, topic: str) -> str | None:
        """The instrument of a hot frame's ``ch`` if its topic is ``topic`` (``mbp.``: starts
        with it; as :func:`_topic` reads it), else None; an unknown symbol raises the generic
        path's MapError."""
        found = self._channels.get(ch)
        if found is None:
            if not ch.startswith("market."):
                return None
            native, dot, rest = ch[7:].partition(".")
            if not native or not dot:
                return None
            if rest != topic and not (topic == "mbp." and rest.startswith(topic)):
                return None  # another topic: not resolved (the generic path does not either)
            found = (self._spot(native), rest)  # MapError if unknown
            if len(self._channels) < _CHANNELS_KEPT:  # bounded: "mbp.<anything>" matches
                self._channels[ch] = found
        instrument, rest = found
        if rest == topic or (topic == "mbp." and rest.startswith(topic)):
            return instrument
        return None
