"""One L2 book: price -> size per side, exact decimals, no float.

Two layouts: plain dicts (cheapest updates; sorted only when a snapshot is published), or
sorted dicts (``sortedcontainers``) for venues that need the top of the book after every
update (a checksum over the top N levels, the crossed-book check).
"""

from __future__ import annotations

import heapq
from decimal import Decimal
from itertools import islice
from typing import Any

from sortedcontainers import SortedDict  # type: ignore[import-untyped]

ZERO = Decimal(0)
Side = dict[Decimal, Decimal]


class L2Book:
    """Both sides of one instrument's book; sorted views on demand."""

    __slots__ = ("asks", "bids", "kept_sorted")

    def __init__(self, kept_sorted: bool = False) -> None:
        self.kept_sorted = kept_sorted
        self.bids: Side = self._side({})
        self.asks: Side = self._side({})

    def _side(self, levels: dict[Decimal, Decimal]) -> Side:
        return SortedDict(levels) if self.kept_sorted else levels

    def clear(self) -> None:
        """Forget every level (the book waits for a snapshot)."""
        self.bids.clear()
        self.asks.clear()

    def replace(
        self, bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]]
    ) -> None:
        """Set the book to a snapshot (size 0 levels are not kept)."""
        self.bids = self._side({p: s for p, s in bids if s})
        self.asks = self._side({p: s for p, s in asks if s})

    @staticmethod
    def apply(side: Side, levels: list[tuple[Decimal, Decimal]]) -> None:
        """Apply changed levels to one side; size 0 deletes."""
        for price, size in levels:
            if size:
                side[price] = size
            else:
                side.pop(price, None)

    def sorted_bids(self, depth: int = 0) -> list[tuple[Decimal, Decimal]]:
        """Bids best (highest) first; the top ``depth`` only when ``depth`` > 0."""
        bids: Any = self.bids
        if self.kept_sorted:
            keys = reversed(bids.keys())
            prices = list(islice(keys, depth)) if depth else list(keys)
        else:
            prices = heapq.nlargest(depth, bids) if depth else sorted(bids, reverse=True)
        return [(p, bids[p]) for p in prices]

    def sorted_asks(self, depth: int = 0) -> list[tuple[Decimal, Decimal]]:
        """Asks best (lowest) first; the top ``depth`` only when ``depth`` > 0."""
        asks: Any = self.asks
        if self.kept_sorted:
            prices = list(islice(asks.keys(), depth)) if depth else list(asks.keys())
        else:
            prices = heapq.nsmallest(depth, asks) if depth else sorted(asks)
        return [(p, asks[p]) for p in prices]

    def crossed(self) -> bool:
        """True when the best bid is at or above the best ask (a corrupt book)."""
        bids: Any = self.bids
        asks: Any = self.asks
        if not bids or not asks:
            return False
        if self.kept_sorted:
            best_bid: Decimal = bids.peekitem(-1)[0]
            best_ask: Decimal = asks.peekitem(0)[0]
            return best_bid >= best_ask
        return bool(max(bids) >= min(asks))
