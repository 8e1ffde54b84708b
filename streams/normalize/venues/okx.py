"""OKX: ccxt parses ``trades``, ``books`` (snapshot + update, seqId/prevSeqId) and
``bbo-tbt``; this adds subscription priming (ccxt only resolves a subscribed book) and
the CRC32 checksum ccxt does not verify (top 25 levels, bid/ask interleaved ``px:sz``,
signed int32; a checksum of 0 is treated as absent).

Gaps: ccxt rejects ``InvalidNonce`` on a prevSeqId mismatch, drops the book and ignores
updates until the next ``snapshot`` frame, which resyncs the book.

Quotes: ccxt resolves a ``tickers`` frame twice, as a bid/ask (``bidask::SYM``) and as a
full ticker (``tickers::SYM``), both carrying the same best bid/ask; one quote per
instrument and frame is kept (found with recorded frames, ``tests/data/real/okx``). A
``mark-price`` frame becomes a ccxt ticker with neither bid nor ask: no quote.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tapewire.streams.normalize.ccxt_offline import (
    FrameResult,
    OfflineVenue,
    RecordingOrderBook,
    mark_price_only,
)
from tapewire.streams.normalize.mappers.common import okx_checksum
from tapewire.streams.normalize.venues.base import MS, BookMeta, VenueAdapter, int_or_none

BOOK_CHANNELS = {"books": 400, "books-l2-tbt": 400, "books50-l2-tbt": 50}


class OkxVenue(OfflineVenue):
    """ccxt's OKX object, keeping one quote per instrument and frame."""

    def collect(self) -> FrameResult:
        """What ccxt resolved; a ``tickers`` frame's second copy of its quote is dropped."""
        res = super().collect()
        if res.quotes:
            res.quotes = [q for q in res.quotes if not mark_price_only(q)]
        if len(res.quotes) < 2:  # nothing to de-duplicate
            return res
        seen: set[Any] = set()
        quotes = []
        for quote in res.quotes:
            if quote.get("symbol") not in seen:
                seen.add(quote.get("symbol"))
                quotes.append(quote)
        res.quotes = quotes
        return res


class OkxAdapter(VenueAdapter):
    """OKX spot adapter."""

    venue: ClassVar[str] = "okx"
    ws_url: ClassVar[str] = "wss://ws.okx.com:8443/ws/v5/public"
    options: ClassVar[dict[str, Any]] = {"fetchMarkets": {"types": ["spot"]}}
    venue_class: ClassVar[type[OfflineVenue]] = OkxVenue

    def book_meta(self, venue: OfflineVenue, message: Any) -> list[BookMeta]:
        """``books*`` frames with an action (snapshot or update)."""
        if not isinstance(message, dict) or message.get("action") not in ("snapshot", "update"):
            return []
        arg = message.get("arg")
        if not isinstance(arg, dict) or arg.get("channel") not in BOOK_CHANNELS:
            return []
        symbol = self.symbol(venue, arg.get("instId"))
        out = []
        for item in message.get("data") or []:
            if not isinstance(item, dict):
                continue
            ts = int_or_none(item.get("ts"))
            out.append(
                BookMeta(
                    symbol=symbol,
                    snapshot=message["action"] == "snapshot",
                    last_sequence=int_or_none(item.get("seqId")),
                    prev_sequence=int_or_none(item.get("prevSeqId")),
                    checksum=int_or_none(item.get("checksum")),
                    exchange_ts_ns=ts * MS if ts is not None else None,
                )
            )
        return out

    def prime(self, venue: OfflineVenue, symbol: str) -> None:
        """ccxt resolves a ``books`` snapshot only when ``books:SYM`` is subscribed."""
        venue.client.subscriptions.setdefault("books:" + symbol, {})

    def verify(self, book: RecordingOrderBook, meta: BookMeta | None) -> str | None:
        """CRC32 of the top 25 levels, when the frame carries a non-zero checksum."""
        if meta is None or not meta.checksum:
            return None
        got = okx_checksum(book["bids"], book["asks"])
        if got != meta.checksum:
            return (
                f"checksum mismatch at seqId {meta.last_sequence}: sent {meta.checksum}, book {got}"
            )
        return None

    def snapshot_depth(self, book: RecordingOrderBook) -> int | None:
        """``books`` snapshots are 400 levels per side."""
        depth = book["asks"]._depth
        return depth if isinstance(depth, int) and depth < 1 << 30 else None
