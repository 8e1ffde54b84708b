"""Book synchronisation, venue-agnostic: levels, sequencing, checksums, coverage.

Part of :mod:`tapewire.streams.normalize`.
"""

from __future__ import annotations

from tapewire.streams.normalize.books.l2 import L2Book
from tapewire.streams.normalize.books.state import BookState
from tapewire.streams.normalize.books.sync import BookSync, SyncedBook

__all__ = ["BookState", "BookSync", "L2Book", "SyncedBook"]
