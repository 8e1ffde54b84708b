"""Maker behaviour: how a venue's resting liquidity follows the true mid.

Every book event applies one to three operations, each a handful of level changes:
quote the touch around the venue's target mid (cancelling any level the new quote
would cross), resize a level near the touch, add a deeper level, or cancel one.
Then each side is trimmed to the configured depth and refilled to half of it. Every
addition is strictly behind the opposite touch, so the book never crosses.
"""

from __future__ import annotations

from collections.abc import Callable

from tapewire.connectors.simulator.listing import Listing

Rand = Callable[[], float]


def new_size(lst: Listing, rand: Rand) -> int:
    """A fresh level size: a lot multiple in ``[min_size, min_size + 2*typical)``."""
    return lst.min_size + lst.lot * int(rand() * lst.size_span)


def _gap(lst: Listing, rand: Rand) -> int:
    return lst.tick * (1 + int(rand() * lst.gap_ticks))


def quote_touch(lst: Listing, rand: Rand) -> None:
    """Place a bid and an ask ``spread`` apart around the venue's target mid."""
    book = lst.book
    bids, asks, tick = book.bids, book.asks, lst.tick
    target = lst.walk.mid + lst.offset
    bid = (target - lst.spread // 2) // tick * tick
    ask = bid + lst.spread
    akeys, bkeys = asks.keys, bids.keys
    while akeys and akeys[0] <= bid:
        book.set(asks, akeys[0], 0)
    while bkeys and -bkeys[0] >= ask:
        book.set(bids, -bkeys[0], 0)
    book.set(bids, bid, new_size(lst, rand))
    book.set(asks, ask, new_size(lst, rand))


def _extend(lst: Listing, rand: Rand, is_bid: bool) -> bool:
    """Add a level behind the worst one; False if a bid would not stay positive."""
    book = lst.book
    side = book.bids if is_bid else book.asks
    worst = side.price(-1)
    price = worst - _gap(lst, rand) if is_bid else worst + _gap(lst, rand)
    if price <= 0:
        return False
    book.set(side, price, new_size(lst, rand))
    return True


def seed_book(lst: Listing, rand: Rand, levels: int) -> None:
    """Build the opening book with ``levels`` per side and mark it published."""
    quote_touch(lst, rand)
    for is_bid in (True, False):
        side = lst.book.bids if is_bid else lst.book.asks
        while len(side.keys) < levels and _extend(lst, rand, is_bid):
            pass
    lst.book.clear_pending()


def keep_depth(lst: Listing, rand: Rand, depth: int) -> None:
    """Trim each side to ``depth`` levels and refill it to at least half of that."""
    book = lst.book
    min_levels = max(1, depth // 2)
    for is_bid in (True, False):
        side = book.bids if is_bid else book.asks
        while len(side.keys) > depth:
            book.set(side, side.price(-1), 0)
        while len(side.keys) < min_levels and _extend(lst, rand, is_bid):
            pass


def requote(lst: Listing, rand: Rand, depth: int) -> None:
    """One book event's worth of maker activity (always at least one level change)."""
    book = lst.book
    bids, asks = book.bids, book.asks
    min_size, lot, span = lst.min_size, lst.lot, lst.size_span
    min_levels = max(1, depth // 2)
    before = book.version
    r = rand()
    for _ in range(1 + (r < 0.35) + (r < 0.1)):
        op = rand() * 2  # integer part picks the side, fraction the operation
        if op < 1:
            side = bids
        else:
            side, op = asks, op - 1
        keys = side.keys
        if op < 0.35:
            quote_touch(lst, rand)
        elif op < 0.65:  # resize one of the best five levels
            price = side.sign * keys[int(rand() * min(len(keys), 5))]
            book.set(side, price, min_size + lot * int(rand() * span))
        elif op < 0.82:  # add a level behind a random one (an existing price is resized)
            gap = lst.tick * (1 + int(rand() * lst.gap_ticks))
            price = side.sign * (keys[int(rand() * len(keys))] + gap)
            if price > 0:
                book.set(side, price, min_size + lot * int(rand() * span))
        elif len(keys) > min_levels:  # cancel a random level
            book.set(side, side.sign * keys[int(rand() * len(keys))], 0)
    keep_depth(lst, rand, depth)
    if book.version == before:
        book.set(bids, -bids.keys[0], min_size + lot * int(rand() * span))
