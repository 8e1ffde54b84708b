"""MEXC spot, websocket v3 (``wss://wbs-api.mexc.com/ws``): market data comes as binary
**protobuf** frames (``PushDataV3ApiWrapper``, MEXC's ``websocket-proto`` definitions, also
bundled by ccxt in ``ccxt/protobuf/mexc``); control frames (subscription acks
``{"id":0,"code":0,"msg":"spot@..."}``, ``{"msg":"PONG"}``) are JSON text and map to
nothing. Channels: ``spot@public.aggre.deals.v3.api.pb@100ms@<SYMBOL>`` trades,
``spot@public.aggre.depth.v3.api.pb@100ms@<SYMBOL>`` book deltas and
``spot@public.aggre.bookTicker.v3.api.pb@100ms@<SYMBOL>`` best bid/ask. Perpetuals are on
another host and protocol (``contract.mexc.com``), not this feed.

The protobuf wire format is decoded here (varints and length-delimited fields, only the
fields used; unknown fields skipped), so the runtime needs no protobuf package. Prices and
quantities are ``string`` fields in MEXC's ``.proto``: they stay the wire text. Field
numbers: wrapper ``channel`` 1, ``symbol`` 3, ``sendTime`` 6 (int64 ms), body
``publicAggreDepths`` 313, ``publicAggreDeals`` 314, ``publicAggreBookTicker`` 315; depths
``asks`` 1 / ``bids`` 2 (items ``price`` 1, ``quantity`` 2), ``fromVersion`` 4,
``toVersion`` 5 (decimal text); deals ``deals`` 1 (items ``price`` 1, ``quantity`` 2,
``tradeType`` 3: 1 buy / 2 sell, the taker's side, ``time`` 4 ms); book ticker
``bidPrice`` 1, ``bidQuantity`` 2, ``askPrice`` 3, ``askQuantity`` 4.

Book: Sequencing RANGE (``fromVersion``..``toVersion``; the next push starts at
``toVersion + 1``), synced from the REST snapshot ``GET /api/v3/depth?symbol=&limit=``
(``lastUpdateId``; captured into md.raw by the connector; earlier deltas buffered and
replayed, ``rest_snapshots``), as MEXC's "How to Properly Maintain a Local Copy of the
Order Book" says. Quantities are absolute, ``0`` deletes. No checksum.

Trades carry **no trade id**: the id is ``<time>-<n>``, the trade's ms time and its index
among the frame's deals (as for Kraken v1), so a frame received twice deduplicates.
Trades and quotes take the wrapper's ``sendTime`` where they have no time of their own
(book ticker, book deltas).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import orjson

from tapewire.streams.normalize.mappers.base import (
    MS,
    Mapper,
    Sequencing,
    VenueSpec,
    integer,
    levels,
)
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

DEPTH_PATH = "/api/v3/depth"
DEFAULT_LIMIT = 100
"""MEXC's default ``limit`` of ``/api/v3/depth`` when the URL names none."""
MAX_SUBSCRIPTIONS = 30
"""MEXC allows 30 subscriptions per connection."""
CHANNELS = {
    "trades": "spot@public.aggre.deals.v3.api.pb@100ms",
    "book": "spot@public.aggre.depth.v3.api.pb@100ms",
    "quotes": "spot@public.aggre.bookTicker.v3.api.pb@100ms",
}

# PushDataV3ApiWrapper field numbers
CHANNEL, SYMBOL, SEND_TIME = 1, 3, 6
AGGRE_DEPTHS, AGGRE_DEALS, AGGRE_BOOK_TICKER = 313, 314, 315
_BODIES = frozenset({AGGRE_DEPTHS, AGGRE_DEALS, AGGRE_BOOK_TICKER})

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5


def _subscribe(channel: str, markets: Sequence[str]) -> list[dict[str, Any]]:
    params = [f"{CHANNELS[channel]}@{m}" for m in markets]
    return [
        {"method": "SUBSCRIPTION", "params": params[i : i + MAX_SUBSCRIPTIONS]}
        for i in range(0, len(params), MAX_SUBSCRIPTIONS)
    ]


# --------------------------------------------------------------------------- wire format
def _varint(buf: bytes, pos: int, name: str) -> tuple[int, int]:
    """Base-128 varint at ``pos`` -> (value, next position)."""
    value = shift = 0
    end = len(buf)
    while True:
        if pos >= end or shift > 63:
            raise MapError(name, buf[:40], "a complete protobuf varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def fields(buf: bytes, name: str) -> list[tuple[int, int | bytes]]:
    """The ``(field number, value)`` pairs of one protobuf message, in wire order: varints
    as ``int`` (unsigned), length-delimited fields as ``bytes``; fixed-width fields are
    skipped (none is used). Raises :class:`MapError` naming ``name`` on a malformed one."""
    out: list[tuple[int, int | bytes]] = []
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos, name)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise MapError(name, key, "a protobuf field key with a field number")
        if wire == _VARINT:
            value, pos = _varint(buf, pos, name)
            out.append((number, value))
        elif wire == _LEN:
            size, pos = _varint(buf, pos, name)
            if pos + size > end:
                raise MapError(name, size, f"a length within the {end - pos} bytes left")
            out.append((number, buf[pos : pos + size]))
            pos += size
        elif wire in (_I64, _I32):
            pos += 8 if wire == _I64 else 4
            if pos > end:
                raise MapError(name, wire, "a complete fixed-width field")
        else:
            raise MapError(name, wire, "a protobuf wire type 0, 1, 2 or 5")
    return out


def _string(value: int | bytes, name: str) -> str:
    if not isinstance(value, bytes):
        raise MapError(name, value, "a length-delimited string field")
    try:
        return value.decode()
    except UnicodeDecodeError as exc:
        raise MapError(name, value, "UTF-8 text") from exc


def _int64(value: int | bytes, name: str) -> int:
    if not isinstance(value, int):
        raise MapError(name, value, "a varint field")
    return value - (1 << 64) if value >= 1 << 63 else value


def _decimal(value: str, name: str) -> str:
    """A price or quantity string field: non-empty decimal text (proto3 sends no empty
    default, so ``""`` means the field is missing)."""
    if not value or value[0] not in "-0123456789" or value[-1] not in "0123456789.":
        raise MapError(name, value, "decimal text")
    return value


def _version(value: str, name: str) -> int:
    if not value.isdigit():
        raise MapError(name, value, "an integer version as decimal text")
    return int(value)


def _messages(value: int | bytes, name: str) -> bytes:
    if not isinstance(value, bytes):
        raise MapError(name, value, "an embedded message")
    return value


@dataclass(slots=True)
class Push:
    """One decoded ``PushDataV3ApiWrapper``: the envelope, the body undecoded."""

    channel: str = ""
    symbol: str = ""
    send_time: int | None = None
    body: int = 0
    """Field number of the body (``publicAggreDeals`` 314, ...); 0 when none."""
    data: bytes = field(default=b"", repr=False)


def decode_push(payload: bytes) -> Push:
    """Protobuf frame bytes -> :class:`Push` (envelope fields only)."""
    push = Push()
    for number, value in fields(payload, "PushDataV3ApiWrapper"):
        if number == CHANNEL:
            push.channel = _string(value, "channel")
        elif number == SYMBOL:
            push.symbol = _string(value, "symbol")
        elif number == SEND_TIME:
            push.send_time = _int64(value, "sendTime")
        elif number >= 301:  # the body oneof (publicDeals = 301 ...)
            push.body, push.data = number, _messages(value, "body")
    return push


def _depth_levels(items: list[bytes], name: str) -> list[Level]:
    out = []
    for item in items:
        price = quantity = ""
        for number, value in fields(item, name):
            if number == 1:
                price = _string(value, "price")
            elif number == 2:
                quantity = _string(value, "quantity")
        out.append((_decimal(price, "price"), _decimal(quantity, "quantity")))
    return out


# --------------------------------------------------------------------------- mapper
class MexcMapper(Mapper):
    """MEXC spot frames -> trades, book deltas, REST book snapshots, quotes."""

    spec: ClassVar[VenueSpec] = VenueSpec(
        venue="mexc",
        ws_url="wss://wbs-api.mexc.com/ws",
        channels=CHANNELS,
        sequencing=Sequencing.RANGE,
        rest_snapshots=True,
        subscribe=_subscribe,
        notes="protobuf frames; REST snapshot sync (/api/v3/depth); no checksum; "
        "no trade ids (<time>-<n>)",
    )

    def decode(self, payload: bytes) -> Any:
        """JSON text (acks, pongs) -> dict; anything else is a protobuf push. A protobuf
        wrapper never starts with ``{`` (field 15 as a group: not proto3)."""
        if payload[:1] == b"{":
            return orjson.loads(payload)
        return decode_push(payload)

    def map(self, message: Any) -> list[MarketEvent]:
        """One websocket frame."""
        if message.__class__ is not Push:
            if message.__class__ is not dict:
                raise MapError("frame", message, "a protobuf push or a JSON object")
            return []  # subscription acks, PONG, errors
        push: Push = message
        if push.body not in _BODIES:
            return []  # klines, private channels, ...
        native = push.symbol or push.channel.rpartition("@")[2]
        instrument = self.markets.instrument(native, "spot")
        if push.body == AGGRE_DEALS:
            return self._trades(instrument, push.data)
        ts = push.send_time * MS if push.send_time is not None else None
        if push.body == AGGRE_DEPTHS:
            return [self._delta(instrument, push.data, ts)]
        return [self._quote(instrument, push.data, ts)]

    def _trades(self, instrument: str, data: bytes) -> list[MarketEvent]:
        out: list[MarketEvent] = []
        for number, value in fields(data, "publicAggreDeals"):
            if number != 1:
                continue
            price = quantity = ""
            side = time = 0
            for n, v in fields(_messages(value, "deals"), "deals"):
                if n == 1:
                    price = _string(v, "price")
                elif n == 2:
                    quantity = _string(v, "quantity")
                elif n == 3:
                    side = _int64(v, "tradeType")
                elif n == 4:
                    time = _int64(v, "time")
            if side != 1 and side != 2:
                raise MapError("tradeType", side, "1 (buy) or 2 (sell)")
            if time <= 0:
                raise MapError("time", time, "a trade time in ms")
            out.append(
                TradeEvent(
                    instrument=instrument,
                    trade_id=f"{time}-{len(out)}",
                    price=_decimal(price, "price"),
                    size=_decimal(quantity, "quantity"),
                    side=BUY if side == 1 else SELL,
                    exchange_ts_ns=time * MS,
                )
            )
        return out

    def _delta(self, instrument: str, data: bytes, ts: int | None) -> BookEvent:
        asks: list[bytes] = []
        bids: list[bytes] = []
        first = last = ""
        for number, value in fields(data, "publicAggreDepths"):
            if number == 1:
                asks.append(_messages(value, "asks"))
            elif number == 2:
                bids.append(_messages(value, "bids"))
            elif number == 4:
                first = _string(value, "fromVersion")
            elif number == 5:
                last = _string(value, "toVersion")
        return BookEvent(
            instrument=instrument,
            snapshot=False,
            bids=_depth_levels(bids, "bids"),
            asks=_depth_levels(asks, "asks"),
            exchange_ts_ns=ts,
            first_sequence=_version(first, "fromVersion"),
            last_sequence=_version(last, "toVersion"),
        )

    def _quote(self, instrument: str, data: bytes, ts: int | None) -> QuoteEvent:
        texts = ["", "", "", ""]
        for number, value in fields(data, "publicAggreBookTicker"):
            if 1 <= number <= 4:
                texts[number - 1] = _string(value, "publicAggreBookTicker")
        names = ("bidPrice", "bidQuantity", "askPrice", "askQuantity")
        bid, bid_size, ask, ask_size = (
            _decimal(t, n) if t else None for t, n in zip(texts, names, strict=True)
        )
        return QuoteEvent(
            instrument=instrument,
            bid_price=bid,
            bid_size=bid_size,
            ask_price=ask,
            ask_size=ask_size,
            exchange_ts_ns=ts,
        )

    def map_rest(self, url: str, message: Any) -> list[MarketEvent]:
        """A captured ``GET /api/v3/depth?symbol=...&limit=...`` response."""
        parts = urlsplit(url)
        if parts.path != DEPTH_PATH:
            return []
        query = parse_qs(parts.query)
        native = (query.get("symbol") or [""])[0]
        limit = (query.get("limit") or [str(DEFAULT_LIMIT)])[0]
        if not limit.isdigit():
            raise MapError("limit", limit, "an integer in the snapshot URL")
        if message.__class__ is not dict:
            raise MapError("body", message, "a JSON object")
        ts = message.get("timestamp")
        update_id = message["lastUpdateId"]
        if update_id.__class__ is str:  # ccxt's sample has it as text
            update_id = _version(update_id, "lastUpdateId")
        return [
            BookEvent(
                instrument=self.markets.instrument(native, "spot"),
                snapshot=True,
                bids=levels(message["bids"], "bids"),
                asks=levels(message["asks"], "asks"),
                exchange_ts_ns=ts * MS if ts.__class__ is int else None,
                last_sequence=integer({"lastUpdateId": update_id}, "lastUpdateId"),
                depth=int(limit),
            )
        ]
