"""Bounded trade de-duplication per (venue, instrument)."""

from __future__ import annotations

from collections import OrderedDict


class TradeDeduper:
    """Remembers the last ``capacity`` trade ids per key; memory is bounded per key."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._seen: dict[tuple[str, str], OrderedDict[str, None]] = {}

    def window(self, venue: str, instrument: str) -> OrderedDict[str, None]:
        """The ids remembered for one (venue, instrument), oldest first: a hot path may keep
        it and do what :meth:`is_new` does inline (the same object for the deduper's life)."""
        key = (venue, instrument)
        ids = self._seen.get(key)
        if ids is None:
            ids = self._seen[key] = OrderedDict()
        return ids

    def is_new(self, venue: str, instrument: str, trade_id: str) -> bool:
        """True the first time an id is seen (within the window); records it."""
        ids = self.window(venue, instrument)
        if trade_id in ids:
            return False
        ids[trade_id] = None
        if len(ids) > self.capacity:
            ids.popitem(last=False)
        return True
