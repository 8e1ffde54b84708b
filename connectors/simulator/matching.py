"""Taker behaviour: market orders that fill at the touch and walk through the book."""

from __future__ import annotations

from tapewire.connectors.simulator.listing import Listing


def take_liquidity(
    lst: Listing, taker_buy: bool, quantity: int, max_fills: int
) -> list[tuple[int, int]]:
    """Fill ``quantity`` against the opposite side, best level first.

    Returns ``(price, size)`` per maker level hit (one public trade each), at most
    ``max_fills``. Consumed levels are removed from the book and partly consumed ones
    shrink, as the venue's next book message will show. The last level of a side is
    never consumed entirely, so both sides always have a touch.
    """
    book = lst.book
    side = book.asks if taker_buy else book.bids
    sizes = side.sizes
    fills: list[tuple[int, int]] = []
    while quantity > 0 and len(fills) < max_fills:
        price = side.price(0)
        available = sizes[price]
        fill = min(quantity, available if len(side.keys) > 1 else available - lst.lot)
        if fill <= 0:
            break
        book.set(side, price, available - fill)
        fills.append((price, fill))
        quantity -= fill
    return fills
