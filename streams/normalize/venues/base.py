"""The per-venue adapter interface: only what ccxt lacks or needs primed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from tapewire.core.records import Record
from tapewire.streams.normalize.ccxt_offline import (
    Decoder,
    FrameResult,
    OfflineVenue,
    RecordingOrderBook,
    decode_json,
)
from tapewire.streams.normalize.mappers.common import iso_to_ns

__all__ = ["MS", "BookMeta", "VenueAdapter", "int_or_none", "iso_to_ns"]

MS = 1_000_000
"""Nanoseconds per millisecond."""


@dataclass(frozen=True, slots=True)
class BookMeta:
    """Integrity data a book frame carries, read from the raw message (not from ccxt)."""

    symbol: str  # ccxt unified symbol
    snapshot: bool
    first_sequence: int | None = None
    last_sequence: int | None = None
    prev_sequence: int | None = None
    checksum: int | None = None
    exchange_ts_ns: int | None = None


class VenueAdapter:
    """Base adapter. Subclasses set the class attributes and override the hooks they need."""

    venue: ClassVar[str]
    ws_url: ClassVar[str]
    options: ClassVar[Mapping[str, Any]] = {}
    decoder: ClassVar[Decoder] = staticmethod(decode_json)
    binary_frames: ClassVar[bool] = False
    """The venue sends binary websocket frames that :attr:`decoder` reads (HTX gzip)."""
    snapshot_path: ClassVar[str | None] = None
    """REST path of a book snapshot the venue's book sync needs (Binance ``/api/v3/depth``)."""
    integrity_verified: ClassVar[bool] = True
    """False for the generic ccxt mapper: Tapewire checks no sequence or checksum of its
    books, and each book's first snapshot gets an ``integrity_unverified`` coverage event."""
    venue_class: ClassVar[type[OfflineVenue]] = OfflineVenue
    """The :class:`OfflineVenue` (sub)class that wraps this venue's ccxt object."""

    def create(
        self,
        rest: Mapping[str, bytes] | None,
        markets: list[dict[str, Any]] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> OfflineVenue:
        """One ccxt object for this venue (as :attr:`venue_class`), markets loaded offline
        from ``rest`` (captured responses by URL, answered by
        :class:`~tapewire.streams.normalize.ccxt_offline.CapturedRest`) or ``markets``;
        ``options`` are merged over :attr:`options` (as the connector merges its own)."""
        return self.venue_class.create(
            self.venue,
            ws_url=self.ws_url,
            rest=rest,
            markets=markets,
            options=self.ccxt_options(options),
            decoder=type(self).decoder,
        )

    def ccxt_options(self, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The ccxt options of this venue's objects: :attr:`options` | ``options``."""
        return {**self.options, **(options or {})}

    def __init__(self) -> None:
        self._symbols: dict[tuple[str, str], str] = {}

    def symbol(self, venue: OfflineVenue, native: Any, market_type: str | None = None) -> str:
        """ccxt symbol of a native id (cached; unknown ids map as ccxt does)."""
        key = (str(native), market_type or "")
        symbol = self._symbols.get(key)
        if symbol is None:
            symbol = venue.ex.safe_symbol(native, None, None, market_type)
            if symbol in venue.ex.markets:
                self._symbols[key] = symbol
        return str(symbol)

    def book_meta(self, venue: OfflineVenue, message: Any) -> list[BookMeta]:
        """Books a decoded websocket message updates (empty for non-book frames)."""
        return []

    def check_frame(self, message: Any, connection_id: str) -> str | None:
        """Connection-level integrity check (e.g. Coinbase ``sequence_num``); a gap reason
        invalidates every live book of that connection."""
        return None

    def prime(self, venue: OfflineVenue, symbol: str) -> None:
        """Put ccxt in the state ``watch_order_book`` would (idempotent)."""

    def invalidate(self, venue: OfflineVenue, symbol: str) -> None:
        """Drop ccxt's book so it waits for a fresh snapshot, then re-prime."""
        venue.ex.orderbooks.pop(symbol, None)
        self.prime(venue, symbol)

    def rest_snapshot_symbol(self, venue: OfflineVenue, url: str) -> str | None:
        """ccxt symbol a REST book snapshot URL is for (None when not a snapshot)."""
        return None

    def rest_snapshot(
        self, venue: OfflineVenue, url: str, body: bytes
    ) -> tuple[str, FrameResult] | None:
        """Apply a captured REST book snapshot; ``(symbol, result)`` or None if not applicable."""
        return None

    def verify(self, book: RecordingOrderBook, meta: BookMeta | None) -> str | None:
        """Venue checksum of ccxt's book after a frame; a failure reason or None."""
        return None

    def snapshot_depth(self, book: RecordingOrderBook) -> int | None:
        """N for a snapshot limited to N levels per side; None for full depth."""
        return None

    def trade_ts_ns(self, trade: Record) -> int | None:
        """Exchange timestamp of a ccxt trade in ns (override where ccxt truncates)."""
        ts = trade.get("timestamp")
        return ts * MS if isinstance(ts, int) else None

    def quote_ts_ns(self, quote: Record, message: Any) -> int | None:
        """Exchange timestamp in ns of a ccxt bid/ask ticker parsed from ``message``."""
        ts = quote.get("timestamp")
        return ts * MS if isinstance(ts, int) else None


def int_or_none(value: Any) -> int | None:
    """An integer field of a raw message (int or decimal string), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None
