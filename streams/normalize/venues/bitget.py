"""Bitget v2 spot: ccxt parses ``trade``, ``books`` and ``ticker``; this adds what its
handlers lack offline:

* **Recorded books.** ccxt keeps a ``books`` book in a ``counted_order_book``; here it is
  the recording book, so level changes are published.
* **A snapshot resets the book.** ccxt merges a ``snapshot`` frame into the book it has
  (it only creates one when absent); the book is dropped first, so a resync snapshot
  replaces it.
* **No update before a snapshot.** ccxt would start a book from an ``update``; such
  frames are dropped until the instrument's next snapshot (also after a gap).
* **Checksum.** ccxt's own check would unsubscribe (not possible offline); it is off and
  :meth:`BitgetAdapter.verify` checks the CRC32 of the top 25 levels (OKX's algorithm).
* **One quote per ticker frame.** ccxt resolves a ``ticker`` twice (bid/ask and ticker).
* ``books5``/``books15`` frames are dropped (the native mapper does not map them either);
  ``books1`` stays ccxt's one-level book here, a quote natively (no frame file has one).
"""

from __future__ import annotations

from typing import Any, ClassVar

from tapewire.streams.normalize.ccxt_offline import (
    CapturedRest,
    Decoder,
    FrameResult,
    OfflineVenue,
    RecordingOrderBook,
)
from tapewire.streams.normalize.mappers.common import okx_checksum
from tapewire.streams.normalize.venues.base import MS, BookMeta, VenueAdapter, int_or_none
from tapewire.streams.normalize.venues.okx import OkxVenue


def _books_frame(message: Any) -> tuple[str, str | None] | None:
    """``(action, instId)`` of a spot ``books`` frame."""
    if not isinstance(message, dict) or message.get("action") not in ("snapshot", "update"):
        return None
    arg = message.get("arg")
    if not isinstance(arg, dict) or arg.get("channel") != "books":
        return None
    native = arg.get("instId")
    return str(message["action"]), native if isinstance(native, str) else None


class BitgetVenue(OkxVenue):
    """ccxt's Bitget object: recording books, snapshot resets, one quote per frame."""

    def __init__(self, exchange: Any, ws_url: str, rest: CapturedRest, decoder: Decoder) -> None:
        super().__init__(exchange, ws_url, rest, decoder)
        exchange.counted_order_book = RecordingOrderBook
        self.synced: set[str] = set()
        """Symbols whose book started from a snapshot (updates are applied)."""

    def handle(self, message: Any) -> FrameResult:
        """Reset on ``snapshot``, drop ``update`` frames of a book without one; ``books5``/
        ``books15`` are not mapped (as natively: a second book of the instrument)."""
        arg = message.get("arg") if isinstance(message, dict) else None
        if isinstance(arg, dict) and arg.get("channel") in ("books5", "books15"):
            return FrameResult()
        books = _books_frame(message)
        if books is not None:
            action, native = books
            symbol = str(self.ex.safe_symbol(native, None, None, "spot"))
            if action == "snapshot":
                self.ex.orderbooks.pop(symbol, None)
                self.synced.add(symbol)
            elif symbol not in self.synced:
                return FrameResult()
        return super().handle(message)


class BitgetAdapter(VenueAdapter):
    """Bitget v2 spot adapter."""

    venue: ClassVar[str] = "bitget"
    ws_url: ClassVar[str] = "wss://ws.bitget.com/v2/ws/public"
    options: ClassVar[dict[str, Any]] = {
        "fetchMarkets": {"types": ["spot"]},
        "watchOrderBook": {"checksum": False},
    }
    venue_class: ClassVar[type[OfflineVenue]] = BitgetVenue

    def book_meta(self, venue: OfflineVenue, message: Any) -> list[BookMeta]:
        """``books`` frames (snapshot or update)."""
        books = _books_frame(message)
        if books is None:
            return []
        action, native = books
        symbol = self.symbol(venue, native, "spot")
        out = []
        for item in message.get("data") or []:
            if not isinstance(item, dict):
                continue
            ts = int_or_none(item.get("ts"))
            checksum = int_or_none(item.get("checksum"))
            out.append(
                BookMeta(
                    symbol=symbol,
                    snapshot=action == "snapshot",
                    last_sequence=int_or_none(item.get("seq")),
                    checksum=None if action == "snapshot" else (checksum or None),
                    exchange_ts_ns=ts * MS if ts is not None else None,
                )
            )
        return out

    def invalidate(self, venue: OfflineVenue, symbol: str) -> None:
        """Drop ccxt's book; updates are dropped until the next snapshot."""
        super().invalidate(venue, symbol)
        if isinstance(venue, BitgetVenue):
            venue.synced.discard(symbol)

    def verify(self, book: RecordingOrderBook, meta: BookMeta | None) -> str | None:
        """CRC32 of the top 25 levels, when the frame carries a checksum."""
        if meta is None or not meta.checksum:
            return None
        got = okx_checksum(book["bids"], book["asks"])
        if got != meta.checksum:
            return (
                f"checksum mismatch at seq {meta.last_sequence}: sent {meta.checksum}, book {got}"
            )
        return None
