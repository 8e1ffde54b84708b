"""OKX v5 public websocket (``wss://ws.okx.com:8443/ws/v5/public``), spot and swaps on one
feed (instrument ids are unique across types: ``BTC-USDT``, ``BTC-USDT-SWAP``).

Channels: ``trades`` (``side`` is the taker's; ``trades-all`` has the same shape), books
``books`` (400 levels), ``books-l2-tbt`` (400), ``books50-l2-tbt`` (50) as ``snapshot`` +
``update`` actions, and best bid/ask from ``bbo-tbt`` (top level of ``bids``/``asks``) and
``tickers`` (``bidPx``/``bidSz``/``askPx``/``askSz``). Every price and size is a JSON
string; timestamps ``ts`` are ms as text.

Sequencing ``PREV``: an update's ``prevSeqId`` must be the book's last ``seqId`` (a
snapshot has ``prevSeqId`` -1). Recordings from before OKX added ``seqId`` (2022) carry
none: the checksum alone guards them. Checksum: CRC32 (signed int32) of the top 25 levels,
bid and ask interleaved as ``price:size`` wire text (:func:`~.common.okx_checksum_text`, over
the text the book keeps per level); OKX sends 0 for "no checksum", mapped to None (not
verified, as ccxt's adapter does).

Derivatives (``md.derivatives``, swaps and futures): ``mark-price`` -> ``markPx``;
``funding-rate`` -> ``fundingRate`` (a signed fraction per funding interval, the rate
settled at ``fundingTime``, which becomes ``next_funding_ts_ns``; ``nextFundingTime`` is the
period after it). ``index-tickers`` is not mapped: it names the index (``BTC-USDT``), not a
contract, and the same text is the spot market's id. Other ``instType`` (``MARGIN``,
``OPTION``) are not mapped.

Fast path: :meth:`OkxMapper.map_bytes` decodes the frames of ``trades``/``trades-all``,
``tickers``, ``bbo-tbt`` and the book channels straight from the bytes into the typed structs
of :mod:`.okx_wire` (exactly the values :meth:`OkxMapper.map` accepts, else None: that
frame then takes ``orjson`` + :meth:`OkxMapper.map`, which names the bad field).

Quirks: an update with ``prevSeqId == seqId`` (OKX's keep-alive with no level) is stale
to the synchroniser and publishes nothing; ccxt publishes it as an empty delta. A
``tickers`` frame yields one quote per instrument (ccxt resolves it twice).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from tapewire.streams.normalize.mappers import okx_wire as wire
from tapewire.streams.normalize.mappers.base import (
    MS,
    Mapper,
    MarketIndex,
    Sequencing,
    VenueSpec,
    levels,
    text,
)
from tapewire.streams.normalize.mappers.common import (
    OKX_CHECKSUM_DEPTH,
    okx_checksum,
    okx_checksum_text,
)
from tapewire.streams.normalize.mappers.events import (
    BUY,
    SELL,
    BookEvent,
    DerivativesEvent,
    MapError,
    MarketEvent,
    QuoteEvent,
    TradeEvent,
)

BOOK_DEPTHS = {"books": 400, "books-l2-tbt": 400, "books50-l2-tbt": 50}
"""Book channels -> levels per side of their snapshot."""
CHECKSUM_DEPTH = OKX_CHECKSUM_DEPTH
_SIDES = {"buy": BUY, "sell": SELL}
_TRADES, _BOOKS, _TICKERS, _BBO = (
    b'{"arg":{"channel":"' + name for name in (b"tr", b"bo", b"ti", b"bb")
)
"""Frame heads (the channel name's first two bytes) that pick a typed decoder; the channel
is checked exactly after the decode."""
_HEAD_LEN = len(_TRADES)
_INVALID = wire.INVALID
_decode_trades, _decode_tickers, _decode_books, _decode_bbo = (
    wire.trades,
    wire.tickers,
    wire.books,
    wire.bbo,
)

DERIVATIVE_TYPES = ("SWAP", "FUTURES")
"""``instType`` of the ``mark-price``/``funding-rate`` items that are mapped."""


def ms_text(message: dict[str, Any], key: str) -> int:
    """A millisecond timestamp sent as decimal text -> ns."""
    value = message[key]
    if value.__class__ is not str or not value.isdigit():
        raise MapError(key, value, "milliseconds as decimal text")
    return int(value) * MS


def _optional_int(message: dict[str, Any], key: str) -> int | None:
    value = message.get(key)
    if value is None:
        return None
    if value.__class__ is not int:
        raise MapError(key, value, "an integer")
    return value


def _subscribe(channel: str, markets: Sequence[str]) -> list[dict[str, Any]]:
    if channel == "derivatives":
        args = [{"channel": c, "instId": m} for m in markets for c in DERIVATIVE_CHANNELS]
        return [{"op": "subscribe", "args": args}]
    name = {"trades": "trades", "book": "books", "quotes": "bbo-tbt"}[channel]
    return [{"op": "subscribe", "args": [{"channel": name, "instId": m} for m in markets]}]


DERIVATIVE_CHANNELS = ("mark-price", "funding-rate")


class OkxMapper(Mapper):
    """OKX v5 public frames -> trades, book snapshots/updates, quotes, mark price and
    funding rate."""

    spec: ClassVar[VenueSpec] = VenueSpec(
        venue="okx",
        ws_url="wss://ws.okx.com:8443/ws/v5/public",
        channels={
            "trades": "trades",
            "book": "books",
            "quotes": "bbo-tbt",
            "derivatives": "mark-price,funding-rate",
        },
        sequencing=Sequencing.PREV,
        checksum=okx_checksum,
        checksum_depth=CHECKSUM_DEPTH,
        checksum_wire=okx_checksum_text,
        market_types=("spot", "swap"),
        subscribe=_subscribe,
        notes="seqId/prevSeqId; CRC32 checksum of the top 25 levels",
    )

    def __init__(self, markets: MarketIndex) -> None:
        super().__init__(markets)
        self._instrument = markets.resolver()
        self._ids: dict[str, str] = markets.ids()
        """Native id -> instrument, as ``_instrument`` gives it (read inline: no call); filled
        when markets load, so no instrument pays a resolver call on its first frame."""

    def _id(self, native: Any) -> str:
        instrument = self._instrument(native)  # raises MapError for an unknown id
        self._ids[native] = instrument
        return instrument

    def map(self, message: Any) -> list[MarketEvent]:
        """One websocket frame."""
        if message.__class__ is not dict:
            raise MapError("frame", message, "a JSON object")
        arg = message.get("arg")
        data = message.get("data")
        if arg.__class__ is not dict or data is None or "event" in message:
            return []  # subscription acks, errors, pongs
        if data.__class__ is not list:
            raise MapError("data", data, "a list")
        channel = arg.get("channel")
        if channel == "trades" or channel == "trades-all":
            trade = self._trade
            if len(data) == 1:  # the common frame: no comprehension call
                return [trade(data[0])]
            return [trade(item) for item in data]
        if channel == "tickers" or channel == "bbo-tbt":  # before books: fewer tests a quote
            return self._quotes(arg, data, channel == "tickers")
        depth = BOOK_DEPTHS.get(channel) if channel.__class__ is str else None
        if depth is not None:
            return self._books(message, arg, data, depth)
        if channel == "mark-price" or channel == "funding-rate":
            return self._derivatives(data, channel == "funding-rate")
        return []

    def map_bytes(self, payload: bytes) -> list[MarketEvent] | None:
        """The hot channels' frames through their typed decoders (:mod:`.okx_wire`): the
        events :meth:`map` gives, or None for anything not exactly that shape."""
        head = payload[:_HEAD_LEN]  # '{"arg":{"channel":"' and the name's first 2 bytes
        if head == _TRADES:
            try:
                trades = _decode_trades(payload)
            except _INVALID:
                return None
            channel = trades.arg.channel
            if channel != "trades" and channel != "trades-all":
                return None
            ids = self._ids
            data = trades.data
            if len(data) == 1:  # the common frame: no loop, no append
                t = data[0]
                ts = t.ts
                if not ts.isdigit():
                    return None
                native = t.inst_id
                return [
                    TradeEvent(
                        ids.get(native) or self._id(native),
                        t.trade_id,
                        t.px,
                        t.sz,
                        BUY if t.side == "buy" else SELL,
                        int(ts) * MS,
                    )
                ]
            out: list[MarketEvent] = []
            for t in data:
                ts = t.ts
                if not ts.isdigit():
                    return None
                native = t.inst_id
                out.append(
                    TradeEvent(
                        ids.get(native) or self._id(native),
                        t.trade_id,
                        t.px,
                        t.sz,
                        BUY if t.side == "buy" else SELL,
                        int(ts) * MS,
                    )
                )
            return out
        if head == _BOOKS:
            return self._books_bytes(payload)
        if head == _TICKERS:
            try:
                tickers = _decode_tickers(payload)
            except _INVALID:
                return None
            arg = tickers.arg
            if arg.channel != "tickers":
                return None
            native = arg.inst_id
            instrument = self._ids.get(native) or self._id(native)  # first, as map()
            items = tickers.data
            if not items:
                return []
            q = items[0]  # one quote per instrument and frame
            ts = q.ts
            if not ts.isdigit():
                return None
            return [
                QuoteEvent(
                    instrument,
                    q.bid_px or None,  # "" and null: no side, as _opt_text
                    q.bid_sz or None,
                    q.ask_px or None,
                    q.ask_sz or None,
                    int(ts) * MS,
                )
            ]
        if head == _BBO:
            return self._bbo_bytes(payload)
        return None

    def _books_bytes(self, payload: bytes) -> list[MarketEvent] | None:
        try:
            books = _decode_books(payload)
        except _INVALID:
            return None
        arg = books.arg
        depth = BOOK_DEPTHS.get(arg.channel)
        if depth is None:
            return None
        snapshot = books.action == "snapshot"
        native = arg.inst_id
        instrument = self._ids.get(native) or self._id(native)
        out: list[MarketEvent] = []
        for b in books.data:
            ts = b.ts
            if not ts.isdigit():
                return None
            out.append(
                BookEvent(
                    instrument,
                    snapshot,
                    [(p, s) for p, s, _, _ in b.bids],  # 1.13x fewer Ir than map(itemgetter)
                    [(p, s) for p, s, _, _ in b.asks],
                    int(ts) * MS,
                    None,
                    b.seq_id,
                    None if snapshot else b.prev_seq_id,
                    b.checksum or None,  # 0: no checksum
                    depth if snapshot else None,
                )
            )
        return out

    def _bbo_bytes(self, payload: bytes) -> list[MarketEvent] | None:
        try:
            frame = _decode_bbo(payload)
        except _INVALID:
            return None
        arg = frame.arg
        if arg.channel != "bbo-tbt":
            return None
        native = arg.inst_id
        instrument = self._ids.get(native) or self._id(native)
        for b in frame.data[:1]:
            ts = b.ts
            if not ts.isdigit():
                return None
            bids, asks = b.bids, b.asks
            bid, bid_size = (bids[0][0], bids[0][1]) if bids else (None, None)
            ask, ask_size = (asks[0][0], asks[0][1]) if asks else (None, None)
            return [QuoteEvent(instrument, bid, bid_size, ask, ask_size, int(ts) * MS)]
        return []

    def _derivatives(self, data: list[Any], funding: bool) -> list[MarketEvent]:
        out: list[MarketEvent] = []
        for m in data:
            if m.__class__ is not dict:
                raise MapError("data", m, "a mark-price or funding-rate object")
            if m.get("instType") not in DERIVATIVE_TYPES:
                continue  # MARGIN / OPTION mark prices: not a swap or future
            instrument = self._instrument(m.get("instId"))
            if funding:
                out.append(
                    DerivativesEvent(
                        instrument=instrument,
                        funding_rate=text(m, "fundingRate"),
                        next_funding_ts_ns=ms_text(m, "fundingTime"),
                        exchange_ts_ns=ms_text(m, "ts"),
                    )
                )
            else:
                out.append(
                    DerivativesEvent(
                        instrument=instrument,
                        mark_price=text(m, "markPx"),
                        exchange_ts_ns=ms_text(m, "ts"),
                    )
                )
        return out

    def _trade(self, m: Any) -> TradeEvent:
        if m.__class__ is not dict:
            raise MapError("data", m, "a trade object")
        side_text = m["side"]
        side = _SIDES.get(side_text) if side_text.__class__ is str else None
        trade_id, price, size, ts = m["tradeId"], m["px"], m["sz"], m["ts"]
        # checks inlined (hot path): exact types, else a MapError naming the field
        if side is None:
            raise MapError("side", side_text, "buy or sell")
        if trade_id.__class__ is not str:
            raise MapError("tradeId", trade_id, "a string")
        if price.__class__ is not str:
            raise MapError("px", price, "a string")
        if size.__class__ is not str:
            raise MapError("sz", size, "a string")
        if ts.__class__ is not str or not ts.isdigit():
            raise MapError("ts", ts, "milliseconds as decimal text")
        native = m["instId"]
        instrument = self._ids.get(native) if native.__class__ is str else None
        return TradeEvent(instrument or self._id(native), trade_id, price, size, side, int(ts) * MS)

    def _books(
        self, message: dict[str, Any], arg: dict[str, Any], data: list[Any], depth: int
    ) -> list[MarketEvent]:
        action = message.get("action")
        if action != "snapshot" and action != "update":
            raise MapError("action", action, "snapshot or update")
        snapshot = action == "snapshot"
        instrument = self._instrument(arg.get("instId"))
        out: list[MarketEvent] = []
        for m in data:
            if m.__class__ is not dict:
                raise MapError("data", m, "a book object")
            checksum = _optional_int(m, "checksum")
            out.append(
                BookEvent(
                    instrument=instrument,
                    snapshot=snapshot,
                    bids=levels(m["bids"], "bids"),
                    asks=levels(m["asks"], "asks"),
                    exchange_ts_ns=ms_text(m, "ts"),
                    last_sequence=_optional_int(m, "seqId"),
                    prev_sequence=None if snapshot else _optional_int(m, "prevSeqId"),
                    checksum=checksum or None,  # 0: no checksum
                    depth=depth if snapshot else None,
                )
            )
        return out

    def _quotes(self, arg: dict[str, Any], data: list[Any], ticker: bool) -> list[MarketEvent]:
        native = arg.get("instId")
        instrument = (self._ids.get(native) if native.__class__ is str else None) or self._id(
            native
        )
        for m in data[:1]:  # one quote per instrument and frame
            if m.__class__ is not dict:
                raise MapError("data", m, "a bid/ask object")
            if ticker:
                get = m.get
                bid_price, bid_size = get("bidPx"), get("bidSz")
                ask_price, ask_size = get("askPx"), get("askSz")
                # all four non-empty text (the common frame) is what _opt_text keeps as is;
                # anything else takes it, field by field (None for "", MapError naming one)
                if not (
                    bid_price.__class__ is str
                    and bid_size.__class__ is str
                    and ask_price.__class__ is str
                    and ask_size.__class__ is str
                    and bid_price
                    and bid_size
                    and ask_price
                    and ask_size
                ):
                    bid_price, bid_size = _opt_text(m, "bidPx"), _opt_text(m, "bidSz")
                    ask_price, ask_size = _opt_text(m, "askPx"), _opt_text(m, "askSz")
            else:
                bid_price, bid_size = _top(m, "bids")
                ask_price, ask_size = _top(m, "asks")
            ts = m["ts"]
            return [
                QuoteEvent(
                    instrument,
                    bid_price,
                    bid_size,
                    ask_price,
                    ask_size,
                    int(ts) * MS if ts.__class__ is str and ts.isdigit() else ms_text(m, "ts"),
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


def _top(m: dict[str, Any], key: str) -> tuple[str | None, str | None]:
    side = levels(m.get(key) or [], key)
    return side[0] if side else (None, None)
