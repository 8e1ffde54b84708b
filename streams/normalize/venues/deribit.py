"""Deribit: ccxt parses ``trades``, ``book`` and ``quote``/``ticker`` frames; this adds the
decoder (JSON numbers kept as wire text), markets from ``get_currencies`` +
``get_instruments``, and what ccxt's book handler lacks (:mod:`.sequenced`): a snapshot
starts a fresh book, ``prev_change_id`` must equal the last ``change_id`` (else a
``sequence_gap``), the book's sequence is ``change_id`` (ccxt stores the timestamp).
"""

from __future__ import annotations

from typing import Any, ClassVar

from tapewire.streams.normalize.ccxt_offline import (
    Decoder,
    OfflineVenue,
    decode_json_floats_as_text,
)
from tapewire.streams.normalize.venues.base import MS, BookMeta, VenueAdapter, int_or_none
from tapewire.streams.normalize.venues.sequenced import BookFrame, SequencedVenue


def _book_data(message: Any) -> dict[str, Any] | None:
    if not isinstance(message, dict) or message.get("method") != "subscription":
        return None
    params = message.get("params")
    if not isinstance(params, dict) or not str(params.get("channel")).startswith("book."):
        return None
    data = params.get("data")
    return data if isinstance(data, dict) else None


class DeribitVenue(SequencedVenue):
    """ccxt's Deribit object with snapshot resets and ``prev_change_id`` checks."""

    def book_frame(self, message: Any) -> BookFrame | None:
        """A ``book.*`` frame's instrument, type and change ids."""
        data = _book_data(message)
        if data is None:
            return None
        symbol = self.ex.safe_symbol(data.get("instrument_name"))
        return BookFrame(
            symbol,
            data.get("type") == "snapshot",
            int_or_none(data.get("change_id")),
            int_or_none(data.get("prev_change_id")),
        )


class DeribitAdapter(VenueAdapter):
    """Deribit spot, perpetuals and futures."""

    venue: ClassVar[str] = "deribit"
    ws_url: ClassVar[str] = "wss://www.deribit.com/ws/api/v2"
    decoder: ClassVar[Decoder] = staticmethod(decode_json_floats_as_text)
    venue_class: ClassVar[type[OfflineVenue]] = DeribitVenue

    def book_meta(self, venue: OfflineVenue, message: Any) -> list[BookMeta]:
        """``book.*`` snapshot/change frames."""
        data = _book_data(message)
        if data is None or data.get("type") not in ("snapshot", "change"):
            return []
        ts = int_or_none(data.get("timestamp"))
        return [
            BookMeta(
                symbol=self.symbol(venue, data.get("instrument_name")),
                snapshot=data["type"] == "snapshot",
                last_sequence=int_or_none(data.get("change_id")),
                prev_sequence=int_or_none(data.get("prev_change_id")),
                exchange_ts_ns=ts * MS if ts is not None else None,
            )
        ]

    def invalidate(self, venue: OfflineVenue, symbol: str) -> None:
        """Drop the book and its last id: deltas wait for the next snapshot."""
        if isinstance(venue, SequencedVenue):
            venue.forget(symbol)
        else:
            super().invalidate(venue, symbol)
