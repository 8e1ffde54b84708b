"""Gate v4 spot websocket (``wss://api.gateio.ws/ws/v4/``; futures are other URLs, not
mapped here).

Channels: ``spot.trades`` (``side`` is the taker's, ``id`` the trade id; time from
``create_time_ms``, ms with a decimal fraction as text, kept to the ns), the order book v2
channel ``spot.obu`` (stream ``ob.{pair}.{levels}``: a ``full`` snapshot on the socket
after subscribing, then deltas covering update ids ``U..u``), and best bid/ask from
``spot.book_ticker``. Prices and sizes are JSON strings; only ``event: update`` frames
carry data (``subscribe`` acks map to nothing).

Sequencing ``RANGE``: a delta must start at the book's last ``u`` + 1 (the first after a
snapshot must cover it); on a gap Gate's documented recovery is a re-subscribe, which
sends a fresh ``full`` snapshot. No checksum.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from tapewire.streams.normalize.mappers import gate_wire as wire
from tapewire.streams.normalize.mappers.base import (
    MS,
    Mapper,
    MarketIndex,
    Sequencing,
    VenueSpec,
    integer,
    levels,
    text,
)
from tapewire.streams.normalize.mappers.common import lookup
from tapewire.streams.normalize.mappers.events import (
    BUY,
    SELL,
    BookEvent,
    MapError,
    MarketEvent,
    QuoteEvent,
    TradeEvent,
)

MARKET_TYPE = "spot"
_SIDES = {"buy": BUY, "sell": SELL}
_TRADES, _INVALID = wire.trades, wire.INVALID
_SCALE = (MS, 100_000, 10_000, 1_000, 100, 10, 1)
"""ns per unit of a millisecond fraction of 0..6 digits."""


def _subscribe(channel: str, markets: Sequence[str]) -> list[dict[str, Any]]:
    if channel == "book":
        payload = [f"ob.{m}.400" for m in markets]
        return [{"channel": "spot.obu", "event": "subscribe", "payload": payload}]
    name = {"trades": "spot.trades", "quotes": "spot.book_ticker"}[channel]
    return [{"channel": name, "event": "subscribe", "payload": list(markets)}]


def ms_fraction_to_ns(value: Any, key: str) -> int:
    """``"1606292218213.4578"`` (ms, optional decimal fraction) -> ns, exactly."""
    if value.__class__ is not str:
        raise MapError(key, value, "milliseconds as decimal text")
    whole, _, frac = value.partition(".")
    # the common text (ASCII, a fraction of 1-6 digits): one int() of the digits, scaled
    if (
        whole.isdigit()
        and frac.isdigit()
        and len(frac) <= 6
        and len(whole) < 19
        and value.isascii()
    ):
        return int(whole + frac) * _SCALE[len(frac)]
    if not whole.isdigit() or (frac and not frac.isdigit()):
        raise MapError(key, value, "milliseconds as decimal text")
    return int(whole) * MS + int((frac + "000000")[:6])


class GateMapper(Mapper):
    """Gate v4 spot frames -> trades, book snapshots/deltas, quotes."""

    spec: ClassVar[VenueSpec] = VenueSpec(
        venue="gate",
        ws_url="wss://api.gateio.ws/ws/v4/",
        channels={"trades": "spot.trades", "book": "spot.obu", "quotes": "spot.book_ticker"},
        sequencing=Sequencing.RANGE,
        market_types=(MARKET_TYPE,),
        subscribe=_subscribe,
        notes="spot.obu: socket snapshots, U..u ranges; no checksum",
    )

    def __init__(self, markets: MarketIndex) -> None:
        super().__init__(markets)
        self._ids: dict[str, str] = markets.ids(MARKET_TYPE)
        """Native id -> instrument, as ``markets.instrument(id, MARKET_TYPE)`` gives it (the
        fast path's lookup; an id not in it takes the generic path)."""

    def map_bytes(self, payload: bytes) -> list[MarketEvent] | None:
        """A ``spot.trades`` update frame decoded straight into its typed struct
        (:mod:`.gate_wire`, which holds the rules that make the events those of
        :meth:`map`); None for any other frame, an unknown pair or a bad
        ``create_time_ms`` (the generic path names it).

        Tried only on a frame laid out as documented (a failed decode costs more than the
        map): ``{"time":<10 digits>,"time_ms":<13 digits>,"channel":"spot.trades"`` or
        ``{"channel":"spot.trades"``, the channel told from two bytes of its name."""
        try:
            first = payload[2]
            if first == 116:  # {"time":...,"time_ms":...,"channel":"spot.trades"
                if payload[59] != 116 or payload[60] != 114:
                    return None
            elif first != 99 or payload[17] != 116 or payload[18] != 114:  # {"channel":"spot.t
                return None
            t = _TRADES(payload)
        except _INVALID:
            return None
        except IndexError:  # too short for the layout
            return None
        result = t.result
        if not isinstance(result, list):  # one trade: the common frame
            event = self._trade_event(result)
            return None if event is None else [event]
        out: list[MarketEvent] = []
        for item in result:
            event = self._trade_event(item)
            if event is None:
                return None
            out.append(event)
        return out

    def _trade_event(self, t: wire.Trade) -> TradeEvent | None:
        instrument = self._ids.get(t.currency_pair)
        if instrument is None:
            return None
        try:
            ns = ms_fraction_to_ns(t.create_time_ms, "create_time_ms")
        except (MapError, ValueError):
            return None
        return TradeEvent(
            instrument, str(t.id), t.price, t.amount, BUY if t.side == "buy" else SELL, ns
        )

    def map(self, message: Any) -> list[MarketEvent]:
        """One websocket frame."""
        if message.__class__ is not dict:
            raise MapError("frame", message, "a JSON object")
        if message.get("event") != "update":
            return []  # subscribe/unsubscribe acks, pongs
        channel = message.get("channel")
        result = message.get("result")
        if channel == "spot.trades":
            items = result if result.__class__ is list else [result]
            return [self._trade(m) for m in items]
        if channel == "spot.obu":
            return [self._book(result)]
        if channel == "spot.book_ticker":
            return [self._ticker(result)]
        return []

    def _trade(self, m: Any) -> TradeEvent:
        if m.__class__ is not dict:
            raise MapError("result", m, "a trade object")
        side = lookup(m, "side", _SIDES, "buy or sell")
        return TradeEvent(
            instrument=self.markets.instrument(m["currency_pair"], MARKET_TYPE),
            trade_id=str(integer(m, "id")),
            price=text(m, "price"),
            size=text(m, "amount"),
            side=side,
            exchange_ts_ns=ms_fraction_to_ns(m["create_time_ms"], "create_time_ms"),
        )

    def _book(self, m: Any) -> BookEvent:
        if m.__class__ is not dict:
            raise MapError("result", m, "a book object")
        stream = m["s"]
        parts = stream.split(".") if stream.__class__ is str else []
        if len(parts) != 3 or parts[0] != "ob":
            raise MapError("s", stream, "ob.{pair}.{levels}")
        full = m.get("full") is True
        return BookEvent(
            instrument=self.markets.instrument(parts[1], MARKET_TYPE),
            snapshot=full,
            bids=levels(m.get("b", []), "b"),
            asks=levels(m.get("a", []), "a"),
            exchange_ts_ns=integer(m, "t") * MS,
            first_sequence=None if full else integer(m, "U"),
            last_sequence=integer(m, "u"),
            depth=int(parts[2]) if full and parts[2].isdigit() else None,
        )

    def _ticker(self, m: Any) -> QuoteEvent:
        if m.__class__ is not dict:
            raise MapError("result", m, "a book ticker object")
        return QuoteEvent(
            instrument=self.markets.instrument(m["s"], MARKET_TYPE),
            bid_price=text(m, "b"),
            bid_size=text(m, "B"),
            ask_price=text(m, "a"),
            ask_size=text(m, "A"),
            exchange_ts_ns=integer(m, "t") * MS,
        )
