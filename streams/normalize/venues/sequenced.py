"""Offline ccxt objects for venues whose ccxt book handler neither starts a fresh book on a
snapshot frame nor checks the venue's ``prev`` id (Deribit ``prev_change_id``; Crypto.com
``pu``, where ccxt raises instead of signalling a gap).

:class:`SequencedVenue` does that bookkeeping around ccxt's own handler: a snapshot drops
ccxt's old book first (ccxt would merge the two), a delta whose ``prev`` id is not the
book's last id is rejected before ccxt sees it (a ``sequence_gap``), and deltas of a book
that is not synced are ignored (ccxt would start a book from them). ccxt's counted book
is replaced by the exact recording book; the book's ``nonce`` is the venue's update id.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from tapewire.streams.normalize.ccxt_offline import FrameResult, OfflineVenue, RecordingOrderBook


class BookFrame(NamedTuple):
    """The book a websocket message updates, read from the raw message."""

    symbol: str
    snapshot: bool
    sequence: int | None
    prev: int | None


def _recording_book(snapshot: Any = None, depth: Any = None) -> RecordingOrderBook:
    return RecordingOrderBook(snapshot or {}, depth)


class SequencedVenue(OfflineVenue):
    """ccxt object with snapshot resets and ``prev``-id checks (see :meth:`book_frame`)."""

    def __init__(self, exchange: Any, *args: Any) -> None:
        super().__init__(exchange, *args)
        exchange.counted_order_book = _recording_book
        self.sequences: dict[str, int] = {}
        """ccxt symbol -> last update id of its synced book."""

    def book_frame(self, message: Any) -> BookFrame | None:
        """The book ``message`` updates; None for other frames."""
        return None

    def forget(self, symbol: str) -> None:
        """The book is invalid: ignore its deltas until the next snapshot."""
        self.sequences.pop(symbol, None)
        self.ex.orderbooks.pop(symbol, None)

    def handle(self, message: Any) -> FrameResult:
        """ccxt's handler, with the snapshot/sequence bookkeeping ccxt lacks."""
        try:
            frame = self.book_frame(message)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            return FrameResult(error=exc)
        if frame is None:
            return super().handle(message)
        symbol = frame.symbol
        if frame.snapshot:
            self.ex.orderbooks.pop(symbol, None)
        else:
            last = self.sequences.get(symbol)
            if last is None:
                return FrameResult()
            if frame.prev != last:
                self.forget(symbol)
                return FrameResult(rejects=[(symbol, f"prev {frame.prev} != last {last}")])
        result = super().handle(message)
        if result.error is None and frame.sequence is not None:
            self.sequences[symbol] = frame.sequence
            book = self.ex.orderbooks.get(symbol)
            if book is not None:
                book["nonce"] = frame.sequence
        return result
