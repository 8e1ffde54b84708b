"""A local L2 book fed by ``BookUpdate`` records (snapshot + delta)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from tapewire.core.exact import ZERO
from tapewire.core.records import Record
from tapewire.records.market import BookUpdate


class L2Book:
    """Price → size per side. ``take`` removes liquidity the paper venue consumed."""

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}
        self.synced = False

    def apply(self, update: Record) -> None:
        """Apply a ``BookUpdate`` record: SNAPSHOT replaces both sides, DELTA sets levels."""
        if isinstance(update, BookUpdate):  # typed levels: attributes, no mapping lookups
            if update.kind == "SNAPSHOT":
                self._reset()
            for side, typed in ((self.bids, update.bids), (self.asks, update.asks)):
                for level in typed:
                    if level.size == 0:
                        side.pop(level.price, None)
                    else:
                        side[level.price] = level.size
            return
        if update["kind"] == "SNAPSHOT":
            self._reset()
        for side, levels in ((self.bids, update["bids"]), (self.asks, update["asks"])):
            for mapped in levels:
                price, size = mapped["price"], mapped["size"]
                if size == 0:
                    side.pop(price, None)
                else:
                    side[price] = size

    def _reset(self) -> None:
        self.bids.clear()
        self.asks.clear()
        self.synced = True

    def levels(self, book_side: str) -> Iterator[tuple[Decimal, Decimal]]:
        """Levels of ``"bids"`` (best = highest first) or ``"asks"`` (lowest first).

        Lazy: the best level costs one pass; the rest is sorted only if the caller reads on
        (most walks stop at the top of a book of hundreds of levels)."""
        side = self.bids if book_side == "bids" else self.asks
        if not side:
            return
        bids = book_side == "bids"
        best = max(side) if bids else min(side)
        yield best, side[best]
        for price in sorted((p for p in side if p != best), reverse=bids):
            yield price, side[price]

    def opposite(self, order_side: str) -> str:
        """The side an order of ``order_side`` takes from."""
        return "asks" if order_side == "BUY" else "bids"

    def best(self, book_side: str) -> Decimal | None:
        """Best price of a side, or None when empty."""
        side = self.bids if book_side == "bids" else self.asks
        if not side:
            return None
        return max(side) if book_side == "bids" else min(side)

    def size_at(self, book_side: str, price: Decimal) -> Decimal:
        """Visible size at ``price`` (0 when no level)."""
        return (self.bids if book_side == "bids" else self.asks).get(price, ZERO)

    def take(self, book_side: str, price: Decimal, size: Decimal) -> None:
        """Remove ``size`` at ``price`` (liquidity consumed until the venue restates it)."""
        side = self.bids if book_side == "bids" else self.asks
        left = side.get(price, ZERO) - size
        if left > 0:
            side[price] = left
        else:
            side.pop(price, None)
