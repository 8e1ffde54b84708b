"""Per-book sync states, shared by the book synchroniser and the ccxt-mapper path."""

from __future__ import annotations

from enum import StrEnum


class BookState(StrEnum):
    """Per-book sync state."""

    SYNCING = "SYNCING"
    LIVE = "LIVE"
    RESYNCING = "RESYNCING"
