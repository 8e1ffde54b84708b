"""Bitget v2 public websocket (``wss://ws.bitget.com/v2/ws/public``): spot (``instType``
``SPOT``) and futures (``USDT-FUTURES``, ``USDC-FUTURES``, ``COIN-FUTURES``: perpetual
swaps) on one feed, told apart by the ``arg``'s ``instType`` (the same ``instId``, e.g.
``BTCUSDT``, names a spot market and a swap).

Channels: ``trade`` (``side`` is the taker's; newest first in a frame, mapped oldest
first; the first push after subscribing is a ``snapshot`` of recent trades, which the
trade de-duplication absorbs on a re-subscribe), ``books`` (full ``snapshot`` then
``update`` actions), best bid/ask from ``ticker`` (``bidPr``/``bidSz``/``askPr``/
``askSz``) and ``books1`` (a one-level snapshot every push). ``books5``/``books15`` are not
mapped (a second, depth-limited book of the same instrument). Prices and sizes are JSON
strings, ``ts`` ms as text. The server's keep-alive answer is the bare text ``pong``
(not JSON): it maps to nothing.

Sequencing ``NONE``: ``seq`` only increases (recorded, not chained). Checksum: CRC32
(signed) of the top 25 levels, bid and ask interleaved as ``price:size`` wire text, the
OKX algorithm (:func:`~.common.okx_checksum`); an ``update`` carries it, a ``snapshot``'s
is 0 (none); the book keeps each level's wire text and the checksum joins it as sent
(:func:`~.common.okx_checksum_text`, as OKX's path does: no decimal formatting).

Fast path: :meth:`BitgetMapper.map_bytes` decodes ``books`` pushes straight from the bytes
into the typed structs of :mod:`.bitget_wire` (exactly the values :meth:`BitgetMapper.map`
accepts, else None: that frame then takes ``orjson`` + :meth:`BitgetMapper.map`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import orjson

from tapewire.streams.normalize.mappers import bitget_wire as wire
from tapewire.streams.normalize.mappers.base import (
    MS,
    Mapper,
    MarketIndex,
    Sequencing,
    VenueSpec,
    levels,
    text,
)
from tapewire.streams.normalize.mappers.common import lookup, okx_checksum, okx_checksum_text
from tapewire.streams.normalize.mappers.events import (
    BUY,
    SELL,
    BookEvent,
    MapError,
    MarketEvent,
    QuoteEvent,
    TradeEvent,
)
from tapewire.streams.normalize.mappers.okx import CHECKSUM_DEPTH, ms_text

INST_TYPES = {
    "SPOT": "spot",
    "USDT-FUTURES": "swap",
    "USDC-FUTURES": "swap",
    "COIN-FUTURES": "swap",
}
"""``instType`` -> ccxt market type."""
_SIDES = {"buy": BUY, "sell": SELL}
PONG = b"pong"
_BOOKS = b'"channel":"books"'
"""In every ``books`` push (and no other channel's), in its ``arg`` near the start (looked
for in the first ``_HEAD`` bytes only; a push that has it later takes the generic path):
picks the typed decoder."""
_HEAD = 128
_INVALID = wire.INVALID
_decode_books = wire.books


def _subscribe(channel: str, markets: Sequence[str]) -> list[dict[str, Any]]:
    name = {"trades": "trade", "book": "books", "quotes": "ticker"}[channel]
    args = [{"instType": "SPOT", "channel": name, "instId": m} for m in markets]
    return [{"op": "subscribe", "args": args}]


def _optional_int(m: dict[str, Any], key: str) -> int | None:
    value = m.get(key)
    if value is None:
        return None
    if value.__class__ is int:
        return value
    if value.__class__ is str and value.isdigit():
        return int(value)
    raise MapError(key, value, "an integer")


class BitgetMapper(Mapper):
    """Bitget v2 public frames -> trades, book snapshots/updates, quotes."""

    spec: ClassVar[VenueSpec] = VenueSpec(
        venue="bitget",
        ws_url="wss://ws.bitget.com/v2/ws/public",
        channels={"trades": "trade", "book": "books", "quotes": "ticker"},
        sequencing=Sequencing.NONE,
        checksum=okx_checksum,
        checksum_depth=CHECKSUM_DEPTH,
        checksum_wire=okx_checksum_text,
        market_types=("spot", "swap"),
        subscribe=_subscribe,
        notes="CRC32 checksum of the top 25 levels; seq not chained",
    )

    def __init__(self, markets: MarketIndex) -> None:
        super().__init__(markets)
        self._ids: dict[tuple[str, str], str] = {}
        """(instType, instId) -> instrument, as ``_instrument`` gives it."""
        self._last: tuple[str | None, str | None, str] = (None, None, "")
        """The last push's instType, instId and instrument (a stream repeats them: two
        string compares instead of hashing both fresh strings for ``_ids``)."""

    def decode(self, payload: bytes) -> Any:
        """JSON, except the bare ``pong`` keep-alive."""
        if payload == PONG:
            return None
        return orjson.loads(payload)

    def map(self, message: Any) -> list[MarketEvent]:
        """One websocket frame."""
        if message is None:
            return []  # pong
        if message.__class__ is not dict:
            raise MapError("frame", message, "a JSON object")
        arg = message.get("arg")
        if arg.__class__ is not dict or "event" in message or "data" not in message:
            return []  # subscription acks, errors
        data = message["data"]
        if data.__class__ is not list:
            raise MapError("data", data, "a list")
        channel = arg.get("channel")
        if channel == "trade":
            instrument = self._instrument(arg)
            return [self._trade(instrument, m) for m in reversed(data)]
        if channel == "books":
            return self._books(message, self._instrument(arg), data)
        if channel == "ticker" or channel == "books1":
            return self._quote(self._instrument(arg), data, channel == "ticker")
        return []

    def map_bytes(self, payload: bytes) -> list[MarketEvent] | None:
        """A ``books`` push decoded straight into its typed struct (:mod:`.bitget_wire`);
        None for any other frame, or one that is not exactly that shape."""
        if payload.find(_BOOKS, 0, _HEAD) < 0:
            return None
        try:
            frame = _decode_books(payload)
        except _INVALID:
            return None
        arg = frame.arg
        inst_type, inst_id = arg.instType, arg.instId
        last = self._last
        if inst_id == last[1] and inst_type == last[0]:
            instrument = last[2]
        else:
            key = (inst_type, inst_id)
            known = self._ids.get(key)
            if known is None:
                kind = INST_TYPES.get(inst_type)
                if kind is None:
                    return None  # the generic path names it
                known = self._ids[key] = self._market(kind, inst_id)
            instrument = known
            self._last = (inst_type, inst_id, instrument)
        snapshot = frame.action == "snapshot"
        data = frame.data
        if len(data) == 1:  # what a push carries: its event without a loop
            m = data[0]
            ts = m.ts
            if not (ts.isdigit() and ts.isascii()):
                return None
            return [
                BookEvent(
                    instrument,
                    snapshot,
                    m.bids,
                    m.asks,
                    int(ts) * MS,
                    None,
                    m.seq,
                    None,
                    None if snapshot else (m.checksum or None),
                )
            ]
        out: list[MarketEvent] = []
        for m in data:
            ts = m.ts
            if not (ts.isdigit() and ts.isascii()):
                return None
            out.append(
                BookEvent(
                    instrument,
                    snapshot,
                    m.bids,
                    m.asks,
                    int(ts) * MS,
                    None,
                    m.seq,
                    None,
                    None if snapshot else (m.checksum or None),
                )
            )
        return out

    def _instrument(self, arg: dict[str, Any]) -> str:
        kind = lookup(arg, "instType", INST_TYPES, "SPOT or a futures product type")
        return self._market(kind, arg.get("instId"))

    def _market(self, kind: str, native: Any) -> str:
        instrument = self.markets.instrument(native, kind)
        if self.markets.markets[instrument].get("type") != kind:  # BTCUSDT: spot and swap
            raise MapError("market", native, f"a {kind} market listed in the loaded markets")
        return instrument

    @staticmethod
    def _trade(instrument: str, m: Any) -> TradeEvent:
        if m.__class__ is not dict:
            raise MapError("data", m, "a trade object")
        side = lookup(m, "side", _SIDES, "buy or sell")
        return TradeEvent(
            instrument=instrument,
            trade_id=text(m, "tradeId"),
            price=text(m, "price"),
            size=text(m, "size"),
            side=side,
            exchange_ts_ns=ms_text(m, "ts"),
        )

    @staticmethod
    def _books(message: dict[str, Any], instrument: str, data: list[Any]) -> list[MarketEvent]:
        action = message.get("action")
        if action != "snapshot" and action != "update":
            raise MapError("action", action, "snapshot or update")
        snapshot = action == "snapshot"
        out: list[MarketEvent] = []
        for m in data:
            if m.__class__ is not dict:
                raise MapError("data", m, "a book object")
            out.append(
                BookEvent(
                    instrument=instrument,
                    snapshot=snapshot,
                    bids=levels(m["bids"], "bids"),
                    asks=levels(m["asks"], "asks"),
                    exchange_ts_ns=ms_text(m, "ts"),
                    last_sequence=_optional_int(m, "seq"),
                    checksum=None if snapshot else (_optional_int(m, "checksum") or None),
                )
            )
        return out

    @staticmethod
    def _quote(instrument: str, data: list[Any], ticker: bool) -> list[MarketEvent]:
        for m in data[:1]:  # one quote per frame
            if m.__class__ is not dict:
                raise MapError("data", m, "a ticker object")
            if ticker:
                bid = (_opt_text(m, "bidPr"), _opt_text(m, "bidSz"))
                ask = (_opt_text(m, "askPr"), _opt_text(m, "askSz"))
            else:
                bids, asks = levels(m["bids"], "bids"), levels(m["asks"], "asks")
                bid = bids[0] if bids else (None, None)
                ask = asks[0] if asks else (None, None)
            return [
                QuoteEvent(
                    instrument=instrument,
                    bid_price=bid[0],
                    bid_size=bid[1],
                    ask_price=ask[0],
                    ask_size=ask[1],
                    exchange_ts_ns=ms_text(m, "ts"),
                )
            ]
        return []


def _opt_text(m: dict[str, Any], key: str) -> str | None:
    value = m.get(key)
    if value is None or value == "":
        return None
    if value.__class__ is not str:
        raise MapError(key, value, "a string")
    return value
