"""Bounded containers for state that would otherwise grow with every order or connection.

:class:`RecentKeys` remembers the last ``capacity`` keys added (oldest forgotten first): an
idempotency window stated as a count. :class:`Generations` is a map whose entries survive
while they are used: when the current generation reaches ``capacity`` it becomes the old
one, and the old one is dropped; a key read from the old generation moves to the current
one. A key is forgotten only after ``capacity`` newer keys were added while it was not read.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class RecentKeys(Generic[K]):
    """A set of at most ``capacity`` keys; adding past it forgets the oldest added."""

    __slots__ = ("_keys", "capacity")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._keys: dict[K, None] = {}

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, key: K) -> None:
        """Remember ``key`` (a known key keeps its place: the window counts first sightings)."""
        keys = self._keys
        if key in keys:
            return
        keys[key] = None
        if len(keys) > self.capacity:
            del keys[next(iter(keys))]


class Generations(Generic[K, V]):
    """A map of at most ``2 * capacity`` entries that keeps the ones in use (module docstring)."""

    __slots__ = ("_current", "_old", "capacity")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._current: dict[K, V] = {}
        self._old: dict[K, V] = {}

    def __len__(self) -> int:
        return len(self._current) + len(self._old)

    def __contains__(self, key: object) -> bool:
        return key in self._current or key in self._old

    def get(self, key: K) -> V | None:
        """The value of ``key`` (moved into the current generation), None when unknown."""
        value = self._current.get(key)
        if value is None and key in self._old:
            value = self._old.pop(key)
            self[key] = value
        return value

    def __setitem__(self, key: K, value: V) -> None:
        self._old.pop(key, None)
        current = self._current
        if key not in current and len(current) >= self.capacity:
            self._old, self._current = current, {}
            current = self._current
        current[key] = value

    def pop(self, key: K) -> V | None:
        """Forget ``key``; its value, None when unknown."""
        value = self._current.pop(key, None)
        old = self._old.pop(key, None)
        return value if value is not None else old

    def keys(self) -> list[K]:
        """Every key held (old generation first)."""
        return [*self._old, *self._current]
