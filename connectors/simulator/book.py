"""An exact L2 book on integer prices and sizes, with the changes not yet published.

Each side keeps its prices sorted best-first (bids are stored negated so one
ascending list serves both sides), a price -> size map, and ``pending``: for every
level changed since the last published message, its size before the first change.
That is what a venue's next delta has to carry, and what :meth:`BookSide.published`
reverts to reconstruct the book as last published.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable

LevelText = Callable[[int, int], str]


class BookSide:
    """One side of a book: price (int units) -> size (int units), sorted best-first.

    Change it through :meth:`Book.set` only, so the book's version counts the change.
    """

    __slots__ = ("is_bid", "keys", "pending", "sign", "sizes", "text", "text_fn")

    def __init__(self, *, is_bid: bool, text_fn: LevelText | None = None) -> None:
        self.is_bid = is_bid
        self.sign = -1 if is_bid else 1
        self.keys: list[int] = []  # ascending sort keys: price for asks, -price for bids
        self.sizes: dict[int, int] = {}
        self.pending: dict[int, int] = {}
        self.text_fn = text_fn
        self.text: dict[int, str] = {}  # price -> venue text of the level (if text_fn)

    def __len__(self) -> int:
        return len(self.keys)

    def price(self, index: int) -> int:
        """Price of the ``index``-th level from the touch (``-1`` is the worst level)."""
        return self.sign * self.keys[index]

    def take_changes(self) -> list[tuple[int, int]]:
        """Levels whose size differs from the last published one, best-first, with their
        current size (0 = deleted); then everything counts as published."""
        pending = self.pending
        if not pending:
            return []
        sizes = self.sizes
        changed = [
            (p, size)
            for p in sorted(pending, reverse=self.is_bid)
            if (size := sizes.get(p, 0)) != pending[p]
        ]
        pending.clear()
        return changed

    def levels(self) -> list[tuple[int, int]]:
        """All levels best-first as ``(price, size)``."""
        sizes, sign = self.sizes, self.sign
        return [(sign * k, sizes[sign * k]) for k in self.keys]

    def top_text(self, n: int) -> list[str]:
        """Venue text of the best ``n`` levels (requires ``text_fn``)."""
        text, sign = self.text, self.sign
        return [text[sign * k] for k in self.keys[:n]]

    def published(self) -> list[tuple[int, int]]:
        """Levels as of the last published message: pending changes reverted."""
        sizes = dict(self.sizes)
        for price, old in self.pending.items():
            if old:
                sizes[price] = old
            else:
                sizes.pop(price, None)
        return sorted(sizes.items(), reverse=self.is_bid)


class Book:
    """Bids and asks plus a version that counts every level change (the venue's update id)."""

    __slots__ = ("asks", "bids", "published_version", "version")

    def __init__(self, version: int, text_fn: LevelText | None = None) -> None:
        self.bids = BookSide(is_bid=True, text_fn=text_fn)
        self.asks = BookSide(is_bid=False, text_fn=text_fn)
        self.version = version
        self.published_version = version

    def track_text(self, text_fn: LevelText) -> None:
        """Keep ``text_fn(price, size)`` of every level from now on (call while empty)."""
        if self.bids.keys or self.asks.keys:
            raise RuntimeError("track_text must be enabled on an empty book")
        self.bids.text_fn = self.asks.text_fn = text_fn

    def set(self, side: BookSide, price: int, size: int) -> None:
        """Set the level at ``price`` to ``size`` (0 deletes it); bumps :attr:`version`."""
        self.version += 1
        sizes = side.sizes
        old = sizes.get(price, 0)
        if price not in side.pending:
            side.pending[price] = old
        if size:
            if not old:
                insort(side.keys, side.sign * price)
            sizes[price] = size
            if side.text_fn is not None:
                side.text[price] = side.text_fn(price, size)
        elif old:
            del sizes[price]
            keys = side.keys
            del keys[bisect_left(keys, side.sign * price)]
            if side.text_fn is not None:
                del side.text[price]

    def best_bid(self) -> int:
        """Highest bid price."""
        return -self.bids.keys[0]

    def best_ask(self) -> int:
        """Lowest ask price."""
        return self.asks.keys[0]

    def crossed(self) -> bool:
        """True if best bid >= best ask (never true for a consistent book)."""
        return bool(self.bids.keys and self.asks.keys and -self.bids.keys[0] >= self.asks.keys[0])

    def clear_pending(self) -> None:
        """Mark the current state as published (a full snapshot was sent)."""
        self.bids.pending.clear()
        self.asks.pending.clear()
        self.published_version = self.version
