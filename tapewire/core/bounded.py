"""Bounded containers for state that would otherwise grow with every order or connection.

:class:`RecentKeys` remembers the last ``capacity`` keys added (oldest forgotten first): an
idempotency window stated as a count. :class:`Generations` is a map whose entries survive
while they are used: when the current generation reaches ``capacity`` it becomes the old
one, and the old one is dropped; a key read from the old generation moves to the current
one. A key is forgotten only after ``capacity`` newer keys were added while it was not read.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator
from collections.abc import Set as AbstractSet
from typing import Any, Generic, Self, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class RecentKeys(AbstractSet[K]):
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

    def __iter__(self) -> Iterator[K]:
        return iter(self._keys)

    def add(self, key: K) -> None:
        """Remember ``key`` (a known key keeps its place: the window counts first sightings)."""
        keys = self._keys
        if key in keys:
            return
        keys[key] = None
        if len(keys) > self.capacity:
            del keys[next(iter(keys))]

    def discard(self, key: K) -> None:
        """Forget ``key`` if known."""
        self._keys.pop(key, None)

    def __ior__(self, keys: Iterable[K]) -> Self:  # type: ignore[override,misc]
        """Add every key of ``keys`` in order (``known |= plan.known``)."""
        for key in keys:
            self.add(key)
        return self

    @classmethod
    def _from_iterable(cls, keys: Iterable[Any]) -> frozenset[Any]:
        """What ``|``, ``&``, ``-`` of a :class:`RecentKeys` return: a plain frozenset."""
        return frozenset(keys)


class Generations(Generic[K, V]):
    """A map of at most ``2 * capacity`` entries that keeps the ones in use (module docstring)."""

    __slots__ = ("_old", "capacity", "current")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.current: dict[K, V] = {}
        """The current generation: a hot path may ``current.get(key)`` and fall back to
        :meth:`get` on a miss (one dict lookup for a key in use). Values must not be None."""
        self._old: dict[K, V] = {}

    def __len__(self) -> int:
        return len(self.current) + len(self._old)

    def __contains__(self, key: object) -> bool:
        return key in self.current or key in self._old

    def get(self, key: K) -> V | None:
        """The value of ``key`` (moved into the current generation), None when unknown."""
        value = self.current.get(key)
        if value is None and key in self._old:
            value = self._old.pop(key)
            self[key] = value
        return value

    def __setitem__(self, key: K, value: V) -> None:
        self._old.pop(key, None)
        current = self.current
        if key not in current and len(current) >= self.capacity:
            self._old, self.current = current, {}
            current = self.current
        current[key] = value

    def pop(self, key: K) -> V | None:
        """Forget ``key``; its value, None when unknown."""
        value = self.current.pop(key, None)
        old = self._old.pop(key, None)
        return value if value is not None else old

    def __iter__(self) -> Iterator[K]:
        """Every key held, old generation first (a copy: the map may change meanwhile)."""
        return iter([*self._old, *self.current])
