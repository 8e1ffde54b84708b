"""Kraken spot, websocket v2 (``wss://ws.kraken.com/v2``) **and** v1 (``wss://ws.kraken.com``):
one mapper, so history recorded on either feed re-normalizes.

* v2 objects ``{"channel": "trade" | "book" | "ticker", "type": "snapshot" | "update",
  "data": [...]}``; symbols are ccxt's (``BTC/USD``). Prices and sizes are **JSON numbers**:
  :meth:`KrakenMapper.decode` keeps their wire text (msgspec with ``float_hook=str``, else
  ``json.loads(parse_float=str)``; integers stay ``int`` and become ``str(int)``).
* v1 arrays ``[channelID, payload..., channelName, pair]``: ``trade`` (no trade id: the id is
  ``<time>-<n>``, the trade's time text and its index among the frame's trades), ``book-N``
  (``as``/``bs`` snapshot, ``a``/``b`` updates, the checksum ``c`` in the last payload;
  levels ``[price, volume, time(, "r")]``), ``ticker`` (best bid/ask ``[price, whole lot
  volume, lot volume]``, no time) and ``spread`` (``[bid, ask, time, bid volume, ask
  volume]``); pairs are the ``wsname`` (``XBT/USD``); decimals are strings.

No sequence numbers: the CRC32 checksum over the top 10 levels per side (asks then bids,
``.`` removed, leading zeros stripped: :func:`~.common.kraken_crc32`) is the integrity
signal; a mismatch resyncs on the next snapshot. Kraken keeps a book at its subscribed
depth and does not send deletes for levels pushed below it: a snapshot event carries that
depth and the book synchroniser drops those levels, publishing their deletes (size 0) with
the delta (``VenueSpec.implicit_deletes``). The depth is read from v1's channel name, else
from the v2 subscription ack, else the smallest Kraken depth (10, 25, 100, 500, 1000) that
holds the snapshot.

v1 ``trade`` / ``book-N`` / ``ticker`` and v2 ``trade`` / ``book`` / ``ticker`` frames of the
expected shape are decoded straight into typed structs (:meth:`KrakenMapper.map_bytes`,
:mod:`.kraken_wire`): the same events, without the generic decode.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar

from msgspec import UNSET

from tapewire.streams.normalize.decimals import exact, memo
from tapewire.streams.normalize.errors import NormalizeError
from tapewire.streams.normalize.mappers import kraken_wire as wire
from tapewire.streams.normalize.mappers.base import Mapper, MarketIndex, VenueSpec, text
from tapewire.streams.normalize.mappers.common import (
    decode_numbers_as_text_fast,
    iso_ns,
    iso_to_ns,
    kraken_checksum_text,
    kraken_crc32,
    number_text,
)
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

DEPTHS = (10, 25, 100, 500, 1000)
"""Book depths Kraken offers."""
SIDES = {"b": BUY, "s": SELL, "buy": BUY, "sell": SELL}
_INVALID = wire.INVALID
_TRADE, _BOOK, _TICKER = wire.trade, wire.book, wire.ticker
_seconds_ns = wire.seconds_ns
_V2_TRADES, _V2_BOOK, _V2_TICKER = wire.v2_trades, wire.v2_book, wire.v2_ticker
_number = wire.number
_SUFFIXES = tuple(f"-{n}" for n in range(64))
"""A v1 trade id's ``-<n>`` (its place in the frame), made once."""
_BOOK_DEPTHS = {f"book-{d}": d for d in DEPTHS}
"""v1 book channel names of Kraken's depths -> the depth (others: parsed)."""


def _checksum(bids: Sequence[tuple[Any, Any]], asks: Sequence[tuple[Any, Any]]) -> int:
    return kraken_crc32(asks, bids)


def _subscribe(channel: str, markets: Sequence[str]) -> list[dict[str, Any]]:
    params: dict[str, Any] = {
        "channel": {"trades": "trade", "book": "book", "quotes": "ticker"}[channel]
    }
    params["symbol"] = list(markets)
    if channel == "book":
        params["depth"] = 10
    elif channel == "quotes":
        params["event_trigger"] = "bbo"
    return [{"method": "subscribe", "params": params}]


def _seconds_to_ns(value: Any, key: str) -> int:
    """v1 time ``"1534614057.321597"`` -> ns, exactly."""
    if value.__class__ is not str:
        raise MapError(key, value, "seconds as a decimal string")
    ns = _seconds_ns(value)
    if ns is not None:
        return ns
    whole, _, frac = value.partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()) or len(frac) > 9:
        raise MapError(key, value, "seconds as a decimal string")
    return int(whole) * 1_000_000_000 + int((frac + "000000000")[:9])


def _iso_or_none(text: str) -> int | None:
    """:func:`~.common.iso_to_ns`, None for whatever it refuses or raises (the fast paths
    leave the error to the generic path)."""
    try:
        return iso_to_ns(text)
    except Exception:
        return None


def _v2_levels(levels: list[wire.V2Level]) -> list[Level] | None:
    """Typed v2 levels as ``_v2_levels`` gives them; None for a value it refuses."""
    out = []
    for level in levels:
        price, size = _number(level.price), _number(level.qty)
        if price is None or size is None:
            return None
        out.append((price, size))
    return out


def _decimal(value: str, key: str) -> None:
    try:
        number = Decimal(value)
    except ArithmeticError:
        raise MapError(key, value, "a decimal number") from None
    if not number.is_finite():
        raise MapError(key, value, "a finite decimal number")


def _check(bids: list[Level], asks: list[Level]) -> None:
    """Each price and size a finite decimal, bids first; a MapError names the first that is
    not. A text :func:`~...decimals.exact` takes is remembered (``memo``) for the book
    synchroniser, which would check it next; one it refuses but that is a finite decimal
    (negative, too precise) is left to the synchroniser's error."""
    for levels in (bids, asks):
        for price, size in levels:
            if memo(price) is None:
                try:
                    exact(price, "price")
                except NormalizeError:
                    _decimal(price, "price")
            if memo(size) is None:
                try:
                    exact(size, "size")
                except NormalizeError:
                    _decimal(size, "qty")


class KrakenMapper(Mapper):
    """Kraken spot v1 and v2 frames -> trades, book snapshots/updates, quotes."""

    spec: ClassVar[VenueSpec] = VenueSpec(
        venue="kraken",
        ws_url="wss://ws.kraken.com/v2",
        channels={"trades": "trade", "book": "book", "quotes": "ticker"},
        checksum=_checksum,
        checksum_depth=10,
        checksum_text=kraken_checksum_text,
        checksum_pieces=zlib.crc32,  # of the pieces joined (kraken_crc32_pieces), in C
        implicit_deletes=True,
        subscribe=_subscribe,
        notes="v1 and v2 frames; CRC32 checksum over the top 10 levels; no sequence ids",
    )

    def __init__(self, markets: MarketIndex) -> None:
        super().__init__(markets)
        self._by_symbol: dict[str, str] = {}
        for instrument, market in markets.markets.items():
            if market.get("type") not in (None, "spot"):
                continue
            symbol = market.get("symbol")
            if isinstance(symbol, str):
                self._by_symbol.setdefault(symbol, instrument)  # v2: ccxt's symbol
            info = market.get("info")
            wsname = info.get("wsname") if isinstance(info, dict) else None
            if isinstance(wsname, str):
                self._by_symbol.setdefault(wsname, instrument)  # v1: the pair's wsname
        self._acked_depth: dict[str, int] = {}
        self._booked: set[str] = set()
        """Instruments with a book snapshot seen: their levels' decimals are checked here
        (:func:`_check`, a MapError), before the book synchroniser gets them."""
        self._pair = ""
        """The v1 pair last looked up, and its instrument (``_by_symbol``'s): a stream's
        frames mostly name one pair, and a compare needs no hash of the fresh text."""
        self._pair_instrument = self._by_symbol.get("")

    def decode(self, payload: bytes) -> Any:
        """JSON with decimals kept as text (v2 sends JSON numbers); msgspec first."""
        return decode_numbers_as_text_fast(payload)

    def map_bytes(self, payload: bytes) -> list[MarketEvent] | None:
        """A v1 ``book-N``, ``trade`` or ``ticker`` frame decoded straight into its typed
        shape (:mod:`.kraken_wire`, which holds the rules that make the events those of
        :meth:`map`); None for anything else (v2 objects, other channels, an unknown pair,
        a value :meth:`map` would check otherwise), before any state is touched."""
        # the decoder from the first payload's opening bytes (a wrong guess only fails to
        # decode): trades "[[", ticker '{"a":["', book '{"as":[[' / '{"a":[[' ...
        try:
            if payload[0] != 91:  # not an array: v2 objects, events
                return self._fast_v2(payload)
            start = payload.find(b",") + 1
            opening = payload[start]
        except IndexError:
            return None
        if start == 0:
            return None
        if opening == 91:  # [
            return self._fast_trades(payload)
        try:
            seventh = payload[start + 6]
        except IndexError:
            return None
        if seventh == 34:  # the '"' of '{"a":["'
            return self._fast_ticker(payload)
        return self._fast_book(payload)

    def _fast_trades(self, payload: bytes) -> list[MarketEvent] | None:
        try:
            _, trades, name, pair = _TRADE(payload)
        except _INVALID:
            return None
        if pair == self._pair:
            instrument = self._pair_instrument
        else:
            instrument = self._pair_instrument = self._by_symbol.get(pair)
            self._pair = pair
        if name != "trade" or instrument is None:
            return None
        out: list[MarketEvent] = []
        last = None
        ns = 0
        n = 0
        for price, volume, time, side, _, _ in trades:
            if time != last:  # a frame's trades mostly share their time
                # Kraken's own "1534614057.321597" inline, else the parser: its 16 digits
                # without the dot read as 10**15 or more (a sign, "_" or space in their
                # place leaves 15 digits at most; a leading 0 goes to the parser; other
                # Unicode decimal digits read as the generic path's fallback reads them)
                ns = 0
                if len(time) == 17 and time[10] == ".":
                    try:
                        ns = int(time.replace(".", ""))
                    except ValueError:
                        ns = 0  # not a number: the parser
                if ns >= 1_000_000_000_000_000:
                    ns *= 1000
                else:
                    found = _seconds_ns(time)
                    if found is None:
                        return None
                    ns = found
                last = time
            # v1's "b" / "s" compared (a fresh text: no hash to compute)
            side = BUY if side == "b" else SELL if side == "s" else SIDES.get(side, UNKNOWN)
            try:
                trade_id = time + _SUFFIXES[n]
            except IndexError:  # past the suffixes made once
                trade_id = f"{time}-{n}"
            out.append(TradeEvent(instrument, trade_id, price, volume, side, ns))
            n += 1  # noqa: SIM113 (enumerate: an object and a tuple per frame, dearer)
        return out

    def _fast_ticker(self, payload: bytes) -> list[MarketEvent] | None:
        try:
            _, ticker, name, pair = _TICKER(payload)
        except _INVALID:
            return None
        instrument = self._by_symbol.get(pair)
        if name != "ticker" or instrument is None:
            return None
        bid, ask = ticker.b, ticker.a
        return [QuoteEvent(instrument, bid[0], bid[2], ask[0], ask[2])]

    def _fast_book(self, payload: bytes) -> list[MarketEvent] | None:
        try:
            frame = _BOOK(payload)
        except _INVALID:
            return None
        second = frame.second
        payloads: tuple[wire.BookPayload, ...]
        if frame.pair is UNSET:  # [id, payload, name, pair]
            if second.__class__ is not str:
                return None
            name, pair, payloads = second, frame.name, (frame.first,)
        elif second.__class__ is str:
            return None
        else:
            name, pair, payloads = frame.name, frame.pair, (frame.first, second)  # type: ignore[assignment]
        if pair == self._pair:
            instrument = self._pair_instrument
        else:
            instrument = self._pair_instrument = self._by_symbol.get(pair)
            self._pair = pair
        # the depth Tapewire subscribes compared first (a fresh text: no hash to compute)
        depth = 10 if name == "book-10" else _BOOK_DEPTHS.get(name)
        if depth is None:
            depth_text = name[5:]
            if not name.startswith("book-") or not depth_text.isdigit() or not depth_text.isascii():
                return None
            depth = int(depth_text)
        if instrument is None:
            return None
        bids: list[Level] = []
        asks: list[Level] = []
        checksum = None
        snapshot = False
        latest: int | None = None
        last_time = None
        unchecked = False
        for part in payloads:
            a, b = part.a, part.b
            if part.as_ is not UNSET or part.bs is not UNSET:
                # a payload with both "as" and "a" lists them in its key order: generic path
                if a is not UNSET or b is not UNSET:
                    return None
                snapshot = True
                a, b = part.as_, part.bs
            if a is not UNSET:
                for level in a:
                    price, size = level[0], level[1]
                    asks.append((price, size))
                    if memo(price) is None or memo(size) is None:
                        unchecked = True  # a text no book has checked yet: _check
                    time = level[2]
                    if time != last_time:  # every time checked (the generic path refuses)
                        # Kraken's own "1534614057.321597" inline, else the parser: its 16 digits
                        # without the dot read as 10**15 or more (a sign, "_" or space in their
                        # place leaves 15 digits at most; a leading 0 goes to the parser)
                        ns = 0
                        if len(time) == 17 and time[10] == "." and time.isascii():
                            try:
                                ns = int(time.replace(".", "")) * 1000
                            except ValueError:
                                ns = 0  # not a number: the parser
                        if ns < 1_000_000_000_000_000_000:
                            parsed = _seconds_ns(time)
                            if parsed is None:
                                return None
                            ns = parsed
                        last_time = time
                        if latest is None or ns > latest:
                            latest = ns
            if b is not UNSET:
                for level in b:
                    price, size = level[0], level[1]
                    bids.append((price, size))
                    if memo(price) is None or memo(size) is None:
                        unchecked = True  # a text no book has checked yet: _check
                    time = level[2]
                    if time != last_time:  # every time checked (the generic path refuses)
                        # Kraken's own "1534614057.321597" inline, else the parser: its 16 digits
                        # without the dot read as 10**15 or more (a sign, "_" or space in their
                        # place leaves 15 digits at most; a leading 0 goes to the parser)
                        ns = 0
                        if len(time) == 17 and time[10] == "." and time.isascii():
                            try:
                                ns = int(time.replace(".", "")) * 1000
                            except ValueError:
                                ns = 0  # not a number: the parser
                        if ns < 1_000_000_000_000_000_000:
                            parsed = _seconds_ns(time)
                            if parsed is None:
                                return None
                            ns = parsed
                        last_time = time
                        if latest is None or ns > latest:
                            latest = ns
            c = part.c
            if c is not UNSET:
                if not c.isdigit() or not c.isascii():
                    return None
                checksum = int(c)
        if snapshot:
            return [self._book(instrument, True, bids, asks, checksum, None, depth)]
        if unchecked and instrument in self._booked:  # _book's delta branch inlined
            _check(bids, asks)
        return [BookEvent(instrument, False, bids, asks, latest, None, None, None, checksum)]

    def _fast_v2(self, payload: bytes) -> list[MarketEvent] | None:
        # the decoder from the channel's first letters (a wrong guess only fails to decode)
        if payload[:12] != b'{"channel":"':
            return None
        try:
            first, second = payload[12], payload[13]
        except IndexError:
            return None
        if first == 98:  # b
            return self._fast_v2_book(payload)
        if first == 116:  # t
            if second == 114:  # r
                return self._fast_v2_trades(payload)
            return self._fast_v2_ticker(payload)
        return None

    def _fast_v2_trades(self, payload: bytes) -> list[MarketEvent] | None:
        try:
            frame = _V2_TRADES(payload)
        except _INVALID:
            return None
        by_symbol = self._by_symbol
        out: list[MarketEvent] = []
        for trade in frame.data:
            instrument = by_symbol.get(trade.symbol)
            price, size = _number(trade.price), _number(trade.qty)
            ns = _iso_or_none(trade.timestamp)
            if instrument is None or price is None or size is None or ns is None:
                return None
            side = SIDES.get(trade.side, UNKNOWN)
            out.append(TradeEvent(instrument, str(trade.trade_id), price, size, side, ns))
        return out

    def _fast_v2_book(self, payload: bytes) -> list[MarketEvent] | None:
        try:
            frame = _V2_BOOK(payload)
        except _INVALID:
            return None
        by_symbol = self._by_symbol
        books = []
        for item in frame.data:  # every book checked before any event is made
            instrument = by_symbol.get(item.symbol)
            bids = _v2_levels(item.bids)
            asks = _v2_levels(item.asks)
            stamp = item.timestamp
            ts = None if stamp is UNSET else _iso_or_none(stamp)
            if (
                instrument is None
                or bids is None
                or asks is None
                or (ts is None and stamp is not UNSET)
            ):
                return None
            books.append((instrument, bids, asks, item.checksum, ts))
        snapshot = frame.type == "snapshot"
        depths = self._acked_depth
        return [
            self._book(instrument, snapshot, bids, asks, checksum, ts, depths.get(instrument))
            for instrument, bids, asks, checksum, ts in books
        ]

    def _fast_v2_ticker(self, payload: bytes) -> list[MarketEvent] | None:
        try:
            frame = _V2_TICKER(payload)
        except _INVALID:
            return None
        by_symbol = self._by_symbol
        out: list[MarketEvent] = []
        for item in frame.data:
            instrument = by_symbol.get(item.symbol)
            bid, bid_size = _number(item.bid), _number(item.bid_qty)
            ask, ask_size = _number(item.ask), _number(item.ask_qty)
            stamp = item.timestamp
            ts = None if stamp is UNSET else _iso_or_none(stamp)
            if (
                instrument is None
                or bid is None
                or bid_size is None
                or ask is None
                or ask_size is None
                or (ts is None and stamp is not UNSET)
            ):
                return None
            out.append(QuoteEvent(instrument, bid, bid_size, ask, ask_size, ts))
        return out

    def _instrument(self, symbol: Any) -> str:
        found = self._by_symbol.get(symbol) if symbol.__class__ is str else None
        if found is None:
            raise MapError("market", symbol, "a Kraken spot symbol or pair in the loaded markets")
        return found

    def map(self, message: Any) -> list[MarketEvent]:
        """One websocket frame (v1 or v2)."""
        kind = message.__class__
        if kind is list:
            return self._v1(message)
        if kind is not dict:
            raise MapError("frame", message, "a JSON object or array")
        channel = message.get("channel")
        if channel.__class__ is not str:
            channel = None
        if channel == "trade":
            return self._v2_trades(message)
        if channel == "book":
            return self._v2_book(message)
        if channel == "ticker":
            return self._v2_ticker(message)
        if message.get("method") == "subscribe" and message.get("success") is True:
            result = message.get("result")
            if isinstance(result, dict) and result.get("channel") == "book":
                depth, symbol = result.get("depth"), result.get("symbol")
                instrument = self._by_symbol.get(symbol) if isinstance(symbol, str) else None
                if isinstance(depth, int) and instrument is not None:
                    self._acked_depth[instrument] = depth
        return []  # acks, heartbeats, status, v1 events

    # ------------------------------------------------------------------ v2
    @staticmethod
    def _data(message: dict[str, Any]) -> list[dict[str, Any]]:
        data = message.get("data")
        if data.__class__ is not list or any(item.__class__ is not dict for item in data):
            raise MapError("data", data, "a list of objects")
        return data

    def _v2_trades(self, message: dict[str, Any]) -> list[MarketEvent]:
        out: list[MarketEvent] = []
        for trade in self._data(message):
            trade_id = trade["trade_id"]
            if trade_id.__class__ is not int:
                raise MapError("trade_id", trade_id, "an integer")
            out.append(
                TradeEvent(
                    instrument=self._instrument(trade.get("symbol")),
                    trade_id=str(trade_id),
                    price=number_text(trade, "price"),
                    size=number_text(trade, "qty"),
                    side=SIDES.get(str(trade.get("side")), UNKNOWN),
                    exchange_ts_ns=iso_ns(trade, "timestamp"),
                )
            )
        return out

    @staticmethod
    def _v2_levels(value: Any, key: str) -> list[Level]:
        if value.__class__ is not list:
            raise MapError(key, value, "a list of {price, qty}")
        out = []
        for level in value:
            if level.__class__ is not dict:
                raise MapError(key, level, "a {price, qty} object")
            out.append((number_text(level, "price"), number_text(level, "qty")))
        return out

    def _v2_book(self, message: dict[str, Any]) -> list[MarketEvent]:
        kind = message.get("type")
        if kind != "snapshot" and kind != "update":
            raise MapError("type", kind, "'snapshot' or 'update'")
        out: list[MarketEvent] = []
        for item in self._data(message):
            instrument = self._instrument(item.get("symbol"))
            bids = self._v2_levels(item.get("bids", []), "bids")
            asks = self._v2_levels(item.get("asks", []), "asks")
            checksum = item.get("checksum")
            if checksum.__class__ is not int:
                raise MapError("checksum", checksum, "an integer")
            ts = iso_ns(item, "timestamp") if "timestamp" in item else None
            depth = self._acked_depth.get(instrument)
            out.append(self._book(instrument, kind == "snapshot", bids, asks, checksum, ts, depth))
        return out

    def _v2_ticker(self, message: dict[str, Any]) -> list[MarketEvent]:
        out: list[MarketEvent] = []
        for item in self._data(message):
            ts = iso_ns(item, "timestamp") if "timestamp" in item else None
            out.append(
                QuoteEvent(
                    instrument=self._instrument(item.get("symbol")),
                    bid_price=number_text(item, "bid"),
                    bid_size=number_text(item, "bid_qty"),
                    ask_price=number_text(item, "ask"),
                    ask_size=number_text(item, "ask_qty"),
                    exchange_ts_ns=ts,
                )
            )
        return out

    # ------------------------------------------------------------------ books
    def _book(
        self,
        instrument: str,
        snapshot: bool,
        bids: list[Level],
        asks: list[Level],
        checksum: int | None,
        ts: int | None,
        depth: int | None,
    ) -> BookEvent:
        if snapshot:
            if depth is None:
                size = max(len(bids), len(asks))
                depth = next((d for d in DEPTHS if d >= size), size)
            self._booked.add(instrument)
            _check(bids, asks)
        elif instrument in self._booked:
            _check(bids, asks)
        return BookEvent(  # positional (cheaper): no sequence ids
            instrument,
            snapshot,
            bids,
            asks,
            ts,
            None,
            None,
            None,
            checksum,
            depth if snapshot else None,
        )

    # ------------------------------------------------------------------ v1
    def _v1(self, message: list[Any]) -> list[MarketEvent]:
        if len(message) < 4:
            raise MapError("frame", message, "[channelID, payload, channelName, pair]")
        name, pair = message[-2], message[-1]
        if name.__class__ is not str:
            raise MapError("channelName", name, "a channel name")
        payloads = message[1:-2]
        if name == "trade":
            return self._v1_trades(pair, payloads[0])
        if name.startswith("book-"):
            return [self._v1_book(pair, name, payloads)]
        if name == "ticker":
            return [self._v1_ticker(pair, payloads[0])]
        if name == "spread":
            return [self._v1_spread(pair, payloads[0])]
        return []  # ohlc and private channels

    def _v1_trades(self, pair: Any, trades: Any) -> list[MarketEvent]:
        if trades.__class__ is not list:
            raise MapError("trade", trades, "a list of trades")
        instrument = self._instrument(pair)
        out: list[MarketEvent] = []
        for n, trade in enumerate(trades):
            if trade.__class__ is not list or len(trade) < 4:
                raise MapError("trade", trade, "[price, volume, time, side, ...]")
            price, volume, time, side = trade[0], trade[1], trade[2], trade[3]
            if price.__class__ is not str or volume.__class__ is not str:
                raise MapError("trade", trade, "price and volume as strings")
            out.append(
                TradeEvent(
                    instrument=instrument,
                    trade_id=f"{time}-{n}",
                    price=price,
                    size=volume,
                    side=SIDES.get(str(side), UNKNOWN),
                    exchange_ts_ns=_seconds_to_ns(time, "time"),
                )
            )
        return out

    @staticmethod
    def _v1_levels(value: Any, key: str) -> tuple[list[Level], int | None]:
        if value.__class__ is not list:
            raise MapError(key, value, "a list of [price, volume, time]")
        out: list[Level] = []
        latest = None
        for level in value:
            if level.__class__ is not list or len(level) < 3:
                raise MapError(key, level, "[price, volume, time]")
            price, size = level[0], level[1]
            if price.__class__ is not str or size.__class__ is not str:
                raise MapError(key, level, "price and volume as strings")
            out.append((price, size))
            ns = _seconds_to_ns(level[2], key)
            latest = ns if latest is None or ns > latest else latest
        return out, latest

    def _v1_book(self, pair: Any, name: str, payloads: list[Any]) -> BookEvent:
        depth_text = name[5:]
        if not depth_text.isdigit():
            raise MapError("channelName", name, "book-<depth>")
        instrument = self._instrument(pair)
        bids: list[Level] = []
        asks: list[Level] = []
        checksum = None
        latest: int | None = None
        snapshot = False
        for payload in payloads:
            if payload.__class__ is not dict:
                raise MapError("book", payload, "a book object")
            for key, value in payload.items():
                if key == "c":
                    if value.__class__ is not str or not value.isdigit():
                        raise MapError("c", value, "a checksum as a decimal string")
                    checksum = int(value)
                    continue
                if key not in ("as", "bs", "a", "b"):
                    continue
                got, ts = self._v1_levels(value, key)
                snapshot = snapshot or len(key) == 2
                (bids if key[0] == "b" else asks).extend(got)
                if ts is not None and (latest is None or ts > latest):
                    latest = ts
        return self._book(
            instrument,
            snapshot,
            bids,
            asks,
            checksum,
            None if snapshot else latest,
            int(depth_text),
        )

    def _v1_ticker(self, pair: Any, ticker: Any) -> QuoteEvent:
        if ticker.__class__ is not dict:
            raise MapError("ticker", ticker, "a ticker object")
        bid, ask = ticker["b"], ticker["a"]
        for key, side in (("b", bid), ("a", ask)):
            if side.__class__ is not list or len(side) < 3:
                raise MapError(key, side, "[price, whole lot volume, lot volume]")
        return QuoteEvent(
            instrument=self._instrument(pair),
            bid_price=text({"b": bid[0]}, "b"),
            bid_size=text({"b": bid[2]}, "b"),
            ask_price=text({"a": ask[0]}, "a"),
            ask_size=text({"a": ask[2]}, "a"),
        )

    def _v1_spread(self, pair: Any, spread: Any) -> QuoteEvent:
        if spread.__class__ is not list or len(spread) < 5:
            raise MapError("spread", spread, "[bid, ask, time, bid volume, ask volume]")
        bid, ask, time, bid_size, ask_size = spread[:5]
        if not all(v.__class__ is str for v in (bid, ask, bid_size, ask_size)):
            raise MapError("spread", spread, "prices and volumes as strings")
        return QuoteEvent(
            instrument=self._instrument(pair),
            bid_price=bid,
            bid_size=bid_size,
            ask_price=ask,
            ask_size=ask_size,
            exchange_ts_ns=_seconds_to_ns(time, "time"),
        )
