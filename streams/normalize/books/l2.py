"""One L2 book: price -> size per side, exact decimals, no float."""

from __future__ import annotations

import heapq
from decimal import Decimal

ZERO = Decimal(0)


class L2Book:
    """Both sides of one instrument's book as dicts; sorted views on demand."""

    __slots__ = ("asks", "bids")

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}

    def clear(self) -> None:
        """Forget every level (the book waits for a snapshot)."""
        self.bids.clear()
        self.asks.clear()

    def replace(
        self, bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]]
    ) -> None:
        """Set the book to a snapshot (size 0 levels are not kept)."""
        self.bids = {p: s for p, s in bids if s}
        self.asks = {p: s for p, s in asks if s}

    @staticmethod
    def apply(side: dict[Decimal, Decimal], levels: list[tuple[Decimal, Decimal]]) -> None:
        """Apply changed levels to one side; size 0 deletes."""
        for price, size in levels:
            if size:
                side[price] = size
            else:
                side.pop(price, None)

    def sorted_bids(self, depth: int = 0) -> list[tuple[Decimal, Decimal]]:
        """Bids best (highest) first; the top ``depth`` only when ``depth`` > 0."""
        bids = self.bids
        prices = heapq.nlargest(depth, bids) if depth else sorted(bids, reverse=True)
        return [(p, bids[p]) for p in prices]

    def sorted_asks(self, depth: int = 0) -> list[tuple[Decimal, Decimal]]:
        """Asks best (lowest) first; the top ``depth`` only when ``depth`` > 0."""
        asks = self.asks
        prices = heapq.nsmallest(depth, asks) if depth else sorted(asks)
        return [(p, asks[p]) for p in prices]

    def crossed(self) -> bool:
        """True when the best bid is at or above the best ask (a corrupt book)."""
        return bool(self.bids and self.asks) and max(self.bids) >= min(self.asks)
