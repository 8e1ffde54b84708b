"""Upbit (``wss://api.upbit.com/websocket/v1``, spot, DEFAULT message format): ``trade`` and
``orderbook``; ``ticker`` frames carry no best bid/ask and map to nothing.

Every ``orderbook`` frame (``stream_type`` SNAPSHOT or REALTIME alike) is the whole top of the
book (``orderbook_units``: 15 by default, up to 30 with a ``KRW-BTC.30`` code), one unit per
depth with ``bid_price``/``bid_size``/``ask_price``/``ask_size``: each becomes a book snapshot
(``depth`` = number of units) and a quote from the first unit. No sequence ids, no
checksum; each frame replaces the book (the crossed-book check runs on deltas, never here).

Trades: ``ask_bid`` is the aggressor's side (``BID`` buy, ``ASK`` sell), ``sequential_id``
the trade id, ``trade_timestamp`` (ms) the trade time (``timestamp`` is the message time).

Upbit sends prices and sizes as JSON **numbers**: frames are decoded with fractional numbers
kept as their wire text (an integer price such as KRW ``93513000`` becomes ``str(int)``).
Frames may arrive as binary websocket messages holding the same JSON; they decode alike.
``{"status": "UP"}`` (ping reply) maps to nothing; an ``error`` frame or the SIMPLE format
(abbreviated keys) is refused.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tapewire.streams.normalize.mappers.base import MS, Mapper, Sequencing, VenueSpec, integer
from tapewire.streams.normalize.mappers.common import decode_numbers_as_text, number_text
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

SIDES = {"BID": BUY, "ASK": SELL}


def _subscribe(channel: str, codes: list[str] | Any) -> list[dict[str, Any]]:
    """Upbit's subscription is ONE JSON array of these objects (send the list as one frame)."""
    kind = {"trades": "trade", "book": "orderbook", "quotes": "orderbook"}[channel]
    return [{"ticket": "tapewire"}, {"type": kind, "codes": list(codes)}, {"format": "DEFAULT"}]


class UpbitMapper(Mapper):
    """Upbit frames -> trades, book snapshots, quotes (top orderbook unit)."""

    spec: ClassVar[VenueSpec] = VenueSpec(
        venue="upbit",
        ws_url="wss://api.upbit.com/websocket/v1",
        channels={"trades": "trade", "book": "orderbook", "quotes": "orderbook"},
        sequencing=Sequencing.NONE,
        subscribe=_subscribe,
        notes="orderbook: full top-N snapshots only; no ids, no checksum; JSON numbers as text",
    )

    def decode(self, payload: bytes) -> Any:
        """JSON with fractional numbers kept as their text."""
        return decode_numbers_as_text(payload)

    def map(self, message: Any) -> list[MarketEvent]:
        """One websocket frame."""
        if message.__class__ is not dict:
            raise MapError("frame", message, "a JSON object")
        kind = message.get("type")
        if kind == "trade":
            return [self._trade(message)]
        if kind == "orderbook":
            return self._book(message)
        if kind is not None:
            return []  # ticker (no best bid/ask), candle, private channels
        if "error" in message:
            raise MapError("error", message["error"], "market data (the venue reported an error)")
        if "ty" in message:
            raise MapError("ty", message["ty"], "the DEFAULT format (type, code, ...)")
        return []  # {"status": "UP"}

    def _instrument(self, m: dict[str, Any]) -> str:
        return self.markets.instrument(m["code"], "spot")

    def _trade(self, m: dict[str, Any]) -> TradeEvent:
        side = SIDES.get(m["ask_bid"]) if m["ask_bid"].__class__ is str else None
        if side is None:
            raise MapError("ask_bid", m["ask_bid"], "BID or ASK")
        return TradeEvent(
            instrument=self._instrument(m),
            trade_id=str(integer(m, "sequential_id")),
            price=number_text(m, "trade_price"),
            size=number_text(m, "trade_volume"),
            side=side,
            exchange_ts_ns=integer(m, "trade_timestamp") * MS,
        )

    def _book(self, m: dict[str, Any]) -> list[MarketEvent]:
        units = m["orderbook_units"]
        if units.__class__ is not list or not units:
            raise MapError("orderbook_units", units, "a non-empty list of units")
        bids: list[Level] = []
        asks: list[Level] = []
        for unit in units:
            if unit.__class__ is not dict:
                raise MapError("orderbook_units", unit, "a unit object")
            bids.append((number_text(unit, "bid_price"), number_text(unit, "bid_size")))
            asks.append((number_text(unit, "ask_price"), number_text(unit, "ask_size")))
        instrument = self._instrument(m)
        ts = integer(m, "timestamp") * MS
        book = BookEvent(
            instrument=instrument,
            snapshot=True,
            bids=bids,
            asks=asks,
            exchange_ts_ns=ts,
            depth=len(units),
        )
        quote = QuoteEvent(instrument, bids[0][0], bids[0][1], asks[0][0], asks[0][1], ts)
        return [book, quote]
