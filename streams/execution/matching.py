"""Pure matching: walk a book for a taker order, check FOK depth, trade-through rules."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from tapewire.core.exact import ZERO
from tapewire.streams.execution.book import L2Book


class QueueModel(StrEnum):
    """When a resting limit fills from a public trade at exactly its price."""

    THROUGH = "THROUGH"  # conservative default: only trades strictly through the limit fill
    TOUCH = "TOUCH"  # any trade at the limit fills (optimistic: first in the queue)
    QUEUE = "QUEUE"  # at the limit, fill once trades at that price used up the size ahead


def crosses(side: str, limit: Decimal | None, price: Decimal) -> bool:
    """Whether a ``side`` order with ``limit`` (None = market) may trade at ``price``."""
    if limit is None:
        return True
    return price <= limit if side == "BUY" else price >= limit


def walk(
    book: L2Book, side: str, quantity: Decimal, limit: Decimal | None
) -> list[tuple[Decimal, Decimal]]:
    """Fills (price, qty) a taker gets walking the opposite side, best level first."""
    fills: list[tuple[Decimal, Decimal]] = []
    left = quantity
    if left <= 0:
        return fills
    for price, size in book.levels(book.opposite(side)):
        if not crosses(side, limit, price):
            break
        take = min(left, size)
        fills.append((price, take))
        left -= take
        if left <= 0:  # done: never ask the (lazy) book for a level it does not need
            break
    return fills


def available(book: L2Book, side: str, limit: Decimal | None) -> Decimal:
    """Visible opposite-side size a ``side`` order with ``limit`` could take (FOK check)."""
    total = ZERO
    for price, size in book.levels(book.opposite(side)):
        if not crosses(side, limit, price):
            break
        total += size
    return total


def trade_through(side: str, limit: Decimal, trade_price: Decimal) -> bool:
    """A public trade strictly through a resting ``side`` limit (buy: below, sell: above)."""
    return trade_price < limit if side == "BUY" else trade_price > limit
