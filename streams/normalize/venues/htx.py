"""HTX spot: ccxt parses ``trade.detail``, ``bbo`` and ``mbp`` deltas (buffered in
``orderbook.cache`` until a snapshot, then chained on ``prevSeqNum``); this adds the gzip
decoder (binary frames), book priming, the ``req`` snapshot reply (ccxt awaits it from a
spawned task; applied here with ccxt's own ``parse_order_book`` and
``handle_order_book_message`` on the cached deltas), the gap check (ccxt raises a
``ChecksumError`` for ``prevSeqNum`` past the book: rejected here as ``InvalidNonce`` so
the book resyncs), stale deltas (ccxt resolves them with no change: dropped here), pings
(ccxt would spawn a pong) and ``quoteTime`` as the quote's time. Numbers are decoded as
wire text.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ccxt.base.errors import InvalidNonce

from tapewire.core.records import Record
from tapewire.streams.normalize.ccxt_offline import (
    Decoder,
    FrameResult,
    OfflineVenue,
    RecordingOrderBook,
)
from tapewire.streams.normalize.mappers.htx import decode_gzip_json
from tapewire.streams.normalize.venues.base import MS, BookMeta, VenueAdapter, int_or_none


def _book_topic(message: Any) -> tuple[str, bool] | None:
    """``(native symbol, snapshot?)`` of an ``mbp`` delta or ``req`` snapshot reply."""
    if not isinstance(message, dict):
        return None
    channel, snapshot = message.get("ch"), False
    if channel is None and message.get("status") == "ok":
        channel, snapshot = message.get("rep"), True
    if not isinstance(channel, str):
        return None
    parts = channel.split(".")
    if len(parts) == 4 and parts[0] == "market" and parts[2] == "mbp":
        return parts[1], snapshot
    return None


class HtxVenue(OfflineVenue):
    """ccxt's HTX object with ``req`` snapshots and a gap check."""

    def handle(self, message: Any) -> FrameResult:
        """Snapshots, gaps, stale deltas and pings here; the rest to ccxt."""
        if isinstance(message, dict) and "ping" in message:
            return self.collect()
        topic = _book_topic(message)
        if topic is None:
            return super().handle(message)
        ex = self.ex
        symbol = ex.safe_symbol(topic[0], None, None, "spot")
        book = ex.orderbooks.get(symbol)
        if book is None:
            return self.collect()
        nonce = book.get("nonce")
        if topic[1]:
            if nonce is not None:
                return self.collect()  # a live book is ahead of any snapshot
            return self._snapshot(symbol, book, message)
        tick = message.get("tick") or {}
        seq, prev = int_or_none(tick.get("seqNum")), int_or_none(tick.get("prevSeqNum"))
        if isinstance(nonce, int) and seq is not None and seq <= nonce:
            return self.collect()  # already in the book
        if isinstance(nonce, int) and prev is not None and prev != nonce:
            self.client.reject(InvalidNonce(f"htx gap {nonce} -> {prev}"), symbol)
            return self.collect()
        return super().handle(message)

    def _snapshot(self, symbol: str, book: RecordingOrderBook, message: Any) -> FrameResult:
        ex = self.ex
        try:
            data = message["data"]
            snapshot = ex.parse_order_book(data, symbol, int_or_none(message.get("ts")))
            nonce = int(data["seqNum"])
            cache = [
                m
                for m in book.cache
                if (int_or_none((m.get("tick") or {}).get("seqNum")) or 0) > nonce
            ]
            first = (cache[0].get("tick") or {}) if cache else {}
            if cache and (int_or_none(first.get("prevSeqNum")) or 0) > nonce:
                return self.collect()  # too old to bridge to the buffered deltas
            book.reset(snapshot)
            book["nonce"] = nonce
            book.snapshot_limit = int(message["rep"].split(".")[3])
            for cached in cache:
                ex.handle_order_book_message(self.client, cached)
            book.cache = []
            self.client.resolve(book, message["rep"])
        except Exception as exc:
            res = self.collect()
            res.error = exc
            return res
        return self.collect()


class HtxAdapter(VenueAdapter):
    """HTX spot adapter."""

    venue: ClassVar[str] = "htx"
    ws_url: ClassVar[str] = "wss://api.huobi.pro/feed"
    decoder: ClassVar[Decoder] = staticmethod(decode_gzip_json)
    binary_frames: ClassVar[bool] = True
    venue_class: ClassVar[type[OfflineVenue]] = HtxVenue

    def book_meta(self, venue: OfflineVenue, message: Any) -> list[BookMeta]:
        """``mbp`` deltas and ``req`` snapshot replies."""
        topic = _book_topic(message)
        if topic is None:
            return []
        ms = int_or_none(message.get("ts"))
        body = message.get("data" if topic[1] else "tick")
        body = body if isinstance(body, dict) else {}
        return [
            BookMeta(
                symbol=self.symbol(venue, topic[0], "spot"),
                snapshot=topic[1],
                last_sequence=int_or_none(body.get("seqNum")),
                prev_sequence=int_or_none(body.get("prevSeqNum")),
                # a snapshot's time is that of the last delta replayed onto it (ccxt's book)
                exchange_ts_ns=ms * MS if ms is not None and not topic[1] else None,
            )
        ]

    def prime(self, venue: OfflineVenue, symbol: str) -> None:
        """Empty book with ``nonce=None``: ccxt caches deltas in ``orderbook.cache``."""
        if symbol in venue.ex.orderbooks:
            return
        book = venue.ex.order_book({})
        book["nonce"] = None
        book["symbol"] = symbol
        book.cache = []
        venue.ex.orderbooks[symbol] = book

    def snapshot_depth(self, book: RecordingOrderBook) -> int | None:
        """Levels of the ``mbp`` snapshot requested."""
        limit = getattr(book, "snapshot_limit", None)
        return limit if isinstance(limit, int) else None

    def quote_ts_ns(self, quote: Record, message: Any) -> int | None:
        """``tick.quoteTime`` of a ``bbo`` frame."""
        tick = message.get("tick") if isinstance(message, dict) else None
        ms = int_or_none(tick.get("quoteTime")) if isinstance(tick, dict) else None
        return ms * MS if ms is not None else super().quote_ts_ns(quote, message)
