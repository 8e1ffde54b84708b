"""Bounded trade de-duplication per (venue, instrument)."""

from __future__ import annotations

from collections import deque


class TradeDeduper:
    """Remembers the last ``capacity`` trade ids per key; memory is bounded per key.

    A window is a plain dict (membership) and a deque (arrival order): cheaper per trade
    than an ``OrderedDict`` (no linked-list node per id), the same semantics."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._seen: dict[tuple[str, str], tuple[dict[str, None], deque[str]]] = {}

    def window(self, venue: str, instrument: str) -> tuple[dict[str, None], deque[str]]:
        """The ids remembered for one (venue, instrument) and their order, oldest first: a
        hot path may keep them and do what :meth:`is_new` does inline (the same objects for
        the deduper's life)."""
        key = (venue, instrument)
        window = self._seen.get(key)
        if window is None:
            window = self._seen[key] = ({}, deque())
        return window

    def is_new(self, venue: str, instrument: str, trade_id: str) -> bool:
        """True the first time an id is seen (within the window); records it."""
        ids, order = self.window(venue, instrument)
        if trade_id in ids:
            return False
        ids[trade_id] = None
        order.append(trade_id)
        if len(order) > self.capacity:
            del ids[order.popleft()]
        return True
