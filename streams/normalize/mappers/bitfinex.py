"""Bitfinex (websocket v2, ``wss://api-pub.bitfinex.com/ws/2``), spot (``tBTCUSD``) and
perpetuals (``tBTCF0:USTF0``) on the same feed: ``trades`` (``te`` executions; the
initial snapshot of recent trades too, as ccxt; ``tu`` repeats a ``te`` and is skipped),
``book`` (``P0`` price-aggregated, ``len`` 25: the first frame is the snapshot, then one
``[price, count, amount]`` per frame; ``count`` 0 deletes the level, the sign of
``amount`` is the side) and ``ticker`` (best bid/ask; no exchange time).

Data frames are arrays keyed by a channel id known only from the subscription reply
(``{"event": "subscribed", "chanId": ..., "channel": ..., "symbol": ...}``), per
connection: the mapper keeps a ``(connection id, chanId)`` table (``Mapper.connection_id``
is set by the normalizer before each frame); an ``info`` event (a new connection) clears
that connection's entries. Heartbeats ``[chanId, "hb"]`` map to nothing.

Sequencing: none. Checksum: subscribing sends ``{"event": "conf", "flags": 131072}``, then
every book change is followed by ``[chanId, "cs", checksum]``: CRC32 (signed int32) of the
top 25 levels interleaved bid, ask as ``price:amount`` with asks' amounts negative. It maps
to a book delta with no levels and the checksum, which the book synchroniser only verifies
(nothing published). A dropped delta therefore shows as a ``checksum`` gap; the book
resyncs on the snapshot of a new subscription.

Prices and sizes are JSON numbers: frames are decoded with every number as its wire text
(``json.loads`` with ``parse_float``/``parse_int=str``; msgspec where it gives the same
values), never a float. The checksum
formats decimals back as JavaScript does (exponent below 1e-6).
"""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar

import msgspec

from tapewire.streams.normalize.mappers import bitfinex_wire as bw
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

CHECKSUM_DEPTH = 25
CHECKSUM_FLAG = 131072
"""``conf`` flag that makes Bitfinex send a ``cs`` frame after every book change."""
_CHANNELS = {"trades": "trades", "book": "book", "quotes": "ticker"}


def _subscribe(channel: str, markets: Sequence[str]) -> list[dict[str, Any]]:
    name = _CHANNELS[channel]
    extra = {"prec": "P0", "freq": "F0", "len": "25"} if name == "book" else {}
    conf: list[dict[str, Any]] = [{"event": "conf", "flags": CHECKSUM_FLAG}]
    subs = [{"event": "subscribe", "channel": name, "symbol": m, **extra} for m in markets]
    return (conf if name == "book" else []) + subs


def js_number(value: Decimal) -> str:
    """A decimal as JavaScript's ``Number.toString`` writes it (what Bitfinex checksums)."""
    if value == 0:
        return "0"
    value = value.normalize()
    if abs(value) >= Decimal("1e-6"):
        return format(value, "f")
    sign, digits, exponent = value.as_tuple()
    text = "".join(map(str, digits))
    mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
    return f"{'-' if sign else ''}{mantissa}e{exponent + len(text) - 1}"  # type: ignore[operator]


def checksum(bids: Sequence[tuple[Any, Any]], asks: Sequence[tuple[Any, Any]]) -> int:
    """CRC32 (signed) of the top 25 levels, ``bid price:amount:ask price:-amount...``."""
    parts: list[str] = []
    for i in range(CHECKSUM_DEPTH):
        if i < len(bids):
            parts += (js_number(bids[i][0]), js_number(bids[i][1]))
        if i < len(asks):
            parts += (js_number(asks[i][0]), js_number(-asks[i][1]))
    crc = binascii.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def decode_numbers_as_text(payload: bytes) -> Any:
    """JSON with every number kept as its wire text."""
    return json.loads(payload, parse_float=str, parse_int=str)


_DECODE = msgspec.json.Decoder(float_hook=str).decode
_NEGATIVE_ZERO = re.compile(rb"-0(?![.eE0-9])")
"""``-0`` as a JSON integer (or inside a string): the one integer whose ``str`` is not its
wire text (``0``); such a payload takes the standard decoder."""


def _ints_as_text(value: Any) -> Any:
    """msgspec's ints -> their text, in lists and objects (a valid JSON integer's ``str``
    is its wire text, ``-0`` aside)."""
    kind = value.__class__
    if kind is int:
        return str(value)
    if kind is list:
        return [
            str(v) if v.__class__ is int else _ints_as_text(v) if v.__class__ in _NESTED else v
            for v in value
        ]
    if kind is dict:
        return {
            k: str(v) if v.__class__ is int else _ints_as_text(v) if v.__class__ in _NESTED else v
            for k, v in value.items()
        }
    return value


_NESTED = frozenset((list, dict))


def decode_numbers_as_text_fast(payload: bytes) -> Any:
    """:func:`decode_numbers_as_text`: by msgspec (``float_hook=str`` keeps a non-integer's
    text, integers are made text after) where it accepts the frame and the frame has no
    ``-0``; anything else (what msgspec refuses: ``NaN``, a BOM, malformed input; an integer
    too long for ``str``) is decoded, or rejected with the same error, by the standard
    decoder."""
    if b"-0" in payload and _NEGATIVE_ZERO.search(payload) is not None:
        return decode_numbers_as_text(payload)
    try:
        return _ints_as_text(_DECODE(payload))
    except Exception:
        return decode_numbers_as_text(payload)


def _number(value: Any, name: str) -> str:
    if value.__class__ is not str or not value or value[0] not in "-0123456789":
        raise MapError(name, value, "a JSON number")
    return value


def _int(value: Any, name: str) -> int:
    if value.__class__ is not str or not value.lstrip("-").isdigit():
        raise MapError(name, value, "an integer")
    return int(value)


class BitfinexMapper(Mapper):
    """Bitfinex frames -> trades, book snapshots/deltas/checksums, ticker quotes."""

    spec: ClassVar[VenueSpec] = VenueSpec(
        venue="bitfinex",
        ws_url="wss://api-pub.bitfinex.com/ws/2",
        channels=_CHANNELS,
        sequencing=Sequencing.NONE,
        checksum=checksum,
        checksum_depth=CHECKSUM_DEPTH,
        market_types=("spot", "swap"),
        subscribe=_subscribe,
        notes="channel ids from subscription replies; cs checksum frames; P0 len 25",
    )

    def __init__(self, markets: Any) -> None:
        super().__init__(markets)
        self._channels: dict[tuple[str, str], tuple[str, str, int | None]] = {}
        """(connection, chanId) -> (channel, native symbol, book len)."""
        self._fast: dict[str, dict[bytes, _Fast]] = {}
        """:meth:`map_bytes`' view of ``_channels``: connection -> chanId bytes -> its
        :data:`_Fast`; cleared on every event."""
        self._instruments: dict[str, str] = {}
        """Native symbol -> instrument, of the markets :meth:`_instrument` resolved."""
        self._fast_connection: str | None = None
        """The connection of ``_fast_channels`` (the last frame's), read without a lookup."""
        self._fast_channels: dict[bytes, _Fast] = {}
        self._fast_width = 0
        """The length of every chanId in ``_fast_channels``, if they have one (else 0)."""

    def decode(self, payload: bytes) -> Any:
        """Every JSON number as its wire text (msgspec first)."""
        return decode_numbers_as_text_fast(payload)

    def map_bytes(self, payload: bytes) -> list[MarketEvent] | None:
        """A trades ``te``/``tu``, book (snapshot, level, ``cs``) or ticker frame of a
        subscribed channel, decoded straight into its typed struct (:mod:`.bitfinex_wire`);
        None for any other frame or value (``hb``, events, a field :meth:`map` would
        reject), which :meth:`map` then decides. The channel is found from the chanId's
        bytes (only all-digit ids, whose text is the generic path's key); the market is
        looked up once the frame decoded, as :meth:`map` looks it up first (the same error)."""
        try:
            # no check of the opening "[": the typed decoders take arrays only
            if self.connection_id == self._fast_connection:
                table = self._fast_channels
            else:
                table = self._fast_table()
            # the chanId's bytes: at the width of the connection's ids if they share one
            # (a byte test and a slice: half what finding the comma costs)
            comma = self._fast_width + 1
            if comma == 1 or payload[comma] != 44:
                comma = payload.index(b",")
            sub = table.get(payload[1:comma])
            if sub is None:
                return None
            channel, native, depth, instrument = sub
            if channel == 0:
                trade = bw.trade_frame(payload)
                if trade.kind == "tu":
                    if instrument is None:
                        self._instrument(native)  # raises, as map does
                    return []  # repeats the te of the same trade
                return _trade_event(instrument or self._instrument(native), trade.trade)
            if channel == 1:
                first = payload[comma + 1]
                if first == 91:  # a level, or the snapshot's list of levels
                    second = payload[comma + 2]
                    if second == 91 or second == 93:
                        snap = bw.snapshot_frame(payload)
                        return _snapshot_event(
                            instrument or self._instrument(native), snap.levels, depth
                        )
                    # one level (the hot frame): _level_event inline
                    level = bw.level_frame(payload).level
                    price = level.price
                    if price.__class__ is not str:
                        return _level_event(instrument or self._instrument(native), level)
                    amount = level.amount
                    if amount.__class__ is not str:  # a delete's 1 / -1
                        if amount.__class__ is not int or not amount:
                            return None
                        amount = str(amount)
                    sign = amount[0]  # an empty text: IndexError, None
                    if price[0] not in _NUMBER_START or sign not in _NUMBER_START:
                        return None
                    instrument = instrument or self._instrument(native)
                    if sign == "-":
                        size = amount[1:] if level.count else "0"
                        return [BookEvent(instrument, False, [], [(price, size)])]
                    size = amount if level.count else "0"
                    return [BookEvent(instrument, False, [(price, size)], [])]
                if first == 34:  # "cs"
                    checksum = bw.checksum_frame(payload).checksum
                    return [
                        BookEvent(
                            instrument or self._instrument(native), False, [], [], checksum=checksum
                        )
                    ]
                return None
            if channel == 2:
                ticker = bw.ticker_frame(payload).ticker
                return _quote_event(instrument or self._instrument(native), ticker)
            return None
        except bw.INVALID:
            return None
        except (IndexError, ValueError):  # too short, no comma, an int too long for str
            return None

    def _instrument(self, native: str) -> str:
        """The market's instrument (:meth:`~.MarketIndex.instrument`, cached: raises
        :class:`MapError` for an unknown market)."""
        found = self._instruments.get(native)
        if found is None:
            found = self._instruments[native] = self.markets.instrument(native)
        return found

    def _known(self, native: str) -> str | None:
        """The market's instrument; None if unknown (:meth:`_instrument` raises once a
        frame of it decoded, as :meth:`map` does)."""
        try:
            return self._instrument(native)
        except MapError:
            return None

    def _fast_table(self) -> dict[bytes, _Fast]:
        """This connection's channels by the bytes of their all-digit chanId (kept as
        the last connection's too)."""
        connection = self.connection_id
        table = self._fast.get(connection)
        if table is None:
            table = self._fast[connection] = self._channels_of(connection)
        widths = {len(chan) for chan in table}
        self._fast_connection = connection
        self._fast_channels = table
        self._fast_width = widths.pop() if len(widths) == 1 else 0
        return table

    def _channels_of(self, connection: str) -> dict[bytes, _Fast]:
        return {
            chan.encode(): (_FAST_CHANNELS[channel], native, depth, self._known(native))
            for (conn, chan), (channel, native, depth) in self._channels.items()
            if conn == connection
            and chan.isascii()
            and chan.isdigit()
            and channel in _FAST_CHANNELS
        }

    def map(self, message: Any) -> list[MarketEvent]:
        """One websocket frame."""
        if message.__class__ is dict:
            return self._event(message)
        if message.__class__ is not list or len(message) < 2:
            raise MapError("frame", message, "a JSON object or a [chanId, ...] array")
        body = message[1]
        if body == "hb":
            return []
        chan = message[0]
        if chan.__class__ is not str:
            raise MapError("chanId", chan, "a channel id")
        sub = self._channels.get((self.connection_id, chan))
        if sub is None:
            raise MapError("chanId", chan, "a channel id subscribed on this connection")
        channel, native, depth = sub
        instrument = self.markets.instrument(native)
        if channel == "trades":
            if body == "te":
                return [self._trade(instrument, _third(message))]
            if body == "tu":
                return []  # repeats the te of the same trade
            if body.__class__ is not list:
                raise MapError("trades", body, "a trade snapshot list or te/tu")
            return [self._trade(instrument, t) for t in reversed(body)]  # oldest first
        if channel == "book":
            return [self._book(instrument, message, depth)]
        if channel == "ticker":
            if body.__class__ is not list or len(body) < 4:
                raise MapError("ticker", body, "[bid, bid_size, ask, ask_size, ...]")
            return [
                QuoteEvent(
                    instrument=instrument,
                    bid_price=_number(body[0], "bid"),
                    bid_size=_number(body[1], "bid_size"),
                    ask_price=_number(body[2], "ask"),
                    ask_size=_number(body[3], "ask_size"),
                )
            ]
        return []

    def _event(self, message: dict[str, Any]) -> list[MarketEvent]:
        event = message.get("event")
        connection = self.connection_id
        self._fast.clear()
        self._fast_connection = None
        if event == "subscribed":
            chan, channel, native = message["chanId"], message["channel"], message["symbol"]
            if chan.__class__ is not str or channel.__class__ is not str:
                raise MapError("chanId", chan, "a channel id")
            if native.__class__ is not str:
                raise MapError("symbol", native, "a market id")
            depth = message.get("len")
            length = _int(depth, "len") if depth is not None else None
            self._channels[(connection, chan)] = (channel, native, length)
        elif event == "unsubscribed":
            self._channels.pop((connection, str(message.get("chanId"))), None)
        elif event == "info" and "version" in message:  # first frame of a connection
            for key in [k for k in self._channels if k[0] == connection]:
                del self._channels[key]
        return []

    @staticmethod
    def _trade(instrument: str, trade: Any) -> TradeEvent:
        if trade.__class__ is not list or len(trade) < 4:
            raise MapError("trade", trade, "[id, mts, amount, price]")
        amount = _number(trade[2], "amount")
        negative = amount[0] == "-"
        return TradeEvent(
            instrument=instrument,
            trade_id=str(_int(trade[0], "id")),
            price=_number(trade[3], "price"),
            size=amount[1:] if negative else amount,
            side=SELL if negative else BUY,
            exchange_ts_ns=_int(trade[1], "mts") * MS,
        )

    @staticmethod
    def _book(instrument: str, message: list[Any], depth: int | None) -> BookEvent:
        body = message[1]
        if body == "cs":
            checksum = _int(_third(message), "checksum")
            return BookEvent(instrument, False, [], [], checksum=checksum)
        if body.__class__ is not list:
            raise MapError("book", body, "a level list, a level or cs")
        if not body or body[0].__class__ is list:  # snapshot
            bids: list[Level] = []
            asks: list[Level] = []
            for level in body:
                side, price, size = _level(level)
                (asks if side else bids).append((price, size))
            return BookEvent(instrument, True, bids, asks, depth=depth)
        side, price, size = _level(body)
        return BookEvent(
            instrument, False, [] if side else [(price, size)], [(price, size)] if side else []
        )


def _third(message: list[Any]) -> Any:
    if len(message) < 3:
        raise MapError("frame", message, "[chanId, type, data]")
    return message[2]


def _level(level: Any) -> tuple[bool, str, str]:
    """``[price, count, amount]`` -> (ask?, price, size); count 0 deletes (size "0")."""
    if level.__class__ is not list or len(level) != 3:
        raise MapError("level", level, "[price, count, amount]")
    price = _number(level[0], "price")
    count = _int(level[1], "count")
    amount = _number(level[2], "amount")
    ask = amount[0] == "-"
    if count < 0:
        raise MapError("count", level[1], "a non-negative count")
    if count == 0:
        return ask, price, "0"
    return ask, price, amount[1:] if ask else amount


# ---------------------------------------------------------------- map_bytes (typed)
_Fast = tuple[int, str, int | None, str | None]
"""A subscribed channel as :meth:`BitfinexMapper.map_bytes` reads it: (channel code, native
symbol, book len, instrument if known)."""
_FAST_CHANNELS = {"trades": 0, "book": 1, "ticker": 2}
_NUMBER_START = frozenset("-0123456789")


def _text(value: Any) -> str | None:
    """:func:`_number`'s value from the typed decode's (an int, a float's text, a string);
    None where :func:`_number` raises, and for an integer 0 (``-0`` on the wire?)."""
    if value.__class__ is str:
        return value if value and value[0] in _NUMBER_START else None
    if value.__class__ is int and value:
        return str(value)
    return None


def _trade_event(instrument: str, trade: bw.Trade) -> list[MarketEvent] | None:
    amount = _text(trade.amount)
    price = _text(trade.price)
    if amount is None or price is None:
        return None
    if amount[0] == "-":
        return [TradeEvent(instrument, str(trade.id), price, amount[1:], SELL, trade.mts * MS)]
    return [TradeEvent(instrument, str(trade.id), price, amount, BUY, trade.mts * MS)]


def _level_event(instrument: str, level: bw.Level) -> list[MarketEvent] | None:
    price = _text(level.price)
    amount = _text(level.amount)
    count = level.count
    if price is None or amount is None:
        return None
    if amount[0] == "-":
        return [BookEvent(instrument, False, [], [(price, amount[1:] if count else "0")])]
    return [BookEvent(instrument, False, [(price, amount if count else "0")], [])]


def _snapshot_event(
    instrument: str, levels: list[bw.Level], depth: int | None
) -> list[MarketEvent] | None:
    bids: list[Level] = []
    asks: list[Level] = []
    for level in levels:
        price = _text(level.price)
        amount = _text(level.amount)
        count = level.count
        if price is None or amount is None:
            return None
        if amount[0] == "-":
            asks.append((price, amount[1:] if count else "0"))
        else:
            bids.append((price, amount if count else "0"))
    return [BookEvent(instrument, True, bids, asks, depth=depth)]


def _quote_event(instrument: str, ticker: bw.Ticker) -> list[MarketEvent] | None:
    bid = _text(ticker.bid)
    bid_size = _text(ticker.bid_size)
    ask = _text(ticker.ask)
    ask_size = _text(ticker.ask_size)
    if bid is None or bid_size is None or ask is None or ask_size is None:
        return None
    return [QuoteEvent(instrument, bid, bid_size, ask, ask_size)]
