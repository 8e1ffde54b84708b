"""Bitfinex (websocket v2): ccxt parses trades (``te`` and the trade snapshot; it skips
``tu``), ticker and ``P0`` book deltas through its own handlers, with the channel ids its
``subscribed`` handler records. This adds what ccxt cannot do offline in exact mode:

* the book snapshot (ccxt compares ``safe_number`` values with ``< 0``, which fails on
  exact text), parsed here into a counted book whose changes are recorded (``count`` 0 is
  a delete, logged as size 0), ``len`` as the snapshot depth;
* the ``cs`` checksum (ccxt's ``handle_checksum`` deletes a subscription it never made
  offline): verified here over ccxt's book with the documented algorithm; a mismatch
  resolves the book so the normalizer's ``verify`` opens a ``checksum`` gap, a match
  publishes nothing;
* deltas for a book ccxt does not hold (after a checksum gap) are dropped, as ccxt would
  otherwise take them for a snapshot; ``unsubscribed`` only forgets the channel id.

Every JSON number is decoded as its wire text. One offline client serves every
connection, so channel ids are assumed unique across the connections of a replay.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, ClassVar

from ccxt.async_support.base.ws import order_book_side as obs

from tapewire.streams.normalize.ccxt_offline import (
    Decoder,
    FrameResult,
    OfflineVenue,
    RecordingOrderBook,
)
from tapewire.streams.normalize.mappers.bitfinex import checksum
from tapewire.streams.normalize.venues.base import BookMeta, VenueAdapter, int_or_none


def decode(raw: bytes) -> Any:
    """JSON with every number kept as its wire text."""
    return json.loads(raw, parse_float=str, parse_int=str)


class _CountedSide:
    _log: list[Any] | None = None
    _name = ""

    def storeArray(self, delta: list[Any]) -> None:  # noqa: N802 (ccxt's name)
        price, size, count = Decimal(str(delta[0])), Decimal(str(delta[1])), int(str(delta[2]))
        if count == 0:
            size = Decimal(0)
        if self._log is not None:
            self._log.append((self._name, price, size))
        obs.CountedOrderBookSide.storeArray(self, [price, size, count])


class _CountedAsks(_CountedSide, obs.CountedAsks):  # type: ignore[misc]
    _name = "ask"


class _CountedBids(_CountedSide, obs.CountedBids):  # type: ignore[misc]
    _name = "bid"


class CountedRecordingBook(RecordingOrderBook):
    """A ccxt counted (``P0``) order book that records each level change."""

    def __init__(self, depth: int | None = None) -> None:
        super().__init__({}, depth)
        asks, bids = _CountedAsks([], depth), _CountedBids([], depth)
        asks._log = bids._log = self.changes
        self["asks"], self["bids"] = asks, bids
        self.snapshot_limit = depth


def _book_sub(venue: OfflineVenue, message: Any) -> dict[str, Any] | None:
    if not isinstance(message, list) or len(message) < 2 or message[1] == "hb":
        return None
    sub = venue.client.subscriptions.get(str(message[0]))
    return sub if isinstance(sub, dict) and sub.get("channel") == "book" else None


def _is_snapshot(body: Any) -> bool:
    return isinstance(body, list) and (not body or isinstance(body[0], list))


class BitfinexVenue(OfflineVenue):
    """ccxt's Bitfinex object with exact book snapshots and checksum frames."""

    def handle(self, message: Any) -> FrameResult:
        """Book snapshots, checksums and unsubscriptions here; the rest to ccxt."""
        if isinstance(message, dict) and message.get("event") == "unsubscribed":
            self.client.subscriptions.pop(str(message.get("chanId")), None)
            return self.collect()
        sub = _book_sub(self, message)
        if sub is None:
            return super().handle(message)
        try:
            ex = self.ex
            native = str(sub.get("symbol"))
            symbol = ex.safe_symbol(native)
            body = message[1]
            book = ex.orderbooks.get(symbol)
            if body == "cs":
                if book is not None:
                    sent = int(message[2])
                    bids = [(p, s) for p, s, *_ in book["bids"][:25]]
                    asks = [(p, s) for p, s, *_ in book["asks"][:25]]
                    if checksum(bids, asks) != sent:  # the normalizer's verify opens the gap
                        self.client.resolve(book, "book:" + native)
                return self.collect()
            if _is_snapshot(body):
                book = CountedRecordingBook(int_or_none(sub.get("len")))
                for price, count, amount in body:
                    side = book["asks"] if amount.startswith("-") else book["bids"]
                    side.storeArray([price, amount.lstrip("-"), count])
                book["symbol"] = symbol
                ex.orderbooks[symbol] = book
                self.client.resolve(book, "book:" + native)
                return self.collect()
            if book is None:
                return self.collect()  # no book to continue: waits for a snapshot
        except Exception as exc:
            res = self.collect()
            res.error = exc
            return res
        return super().handle(message)


class BitfinexAdapter(VenueAdapter):
    """Bitfinex spot and perpetuals adapter."""

    venue: ClassVar[str] = "bitfinex"
    ws_url: ClassVar[str] = "wss://api-pub.bitfinex.com/ws/2"
    decoder: ClassVar[Decoder] = staticmethod(decode)
    venue_class: ClassVar[type[OfflineVenue]] = BitfinexVenue

    def book_meta(self, venue: OfflineVenue, message: Any) -> list[BookMeta]:
        """Book frames of subscribed channels; ``cs`` frames carry the checksum."""
        sub = _book_sub(venue, message)
        if sub is None:
            return []
        body = message[1]
        return [
            BookMeta(
                symbol=self.symbol(venue, sub.get("symbol")),
                snapshot=_is_snapshot(body),
                checksum=int_or_none(message[2]) if body == "cs" and len(message) > 2 else None,
            )
        ]

    def verify(self, book: RecordingOrderBook, meta: BookMeta | None) -> str | None:
        """The ``cs`` checksum over the top 25 levels of ccxt's book."""
        if meta is None or meta.checksum is None:
            return None
        bids = [(p, s) for p, s, *_ in book["bids"][:25]]
        asks = [(p, s) for p, s, *_ in book["asks"][:25]]
        got = checksum(bids, asks)
        return None if got == meta.checksum else f"checksum: sent {meta.checksum}, book {got}"

    def snapshot_depth(self, book: RecordingOrderBook) -> int | None:
        """``len`` of the book subscription."""
        limit = getattr(book, "snapshot_limit", None)
        return limit if isinstance(limit, int) else None
