"""Venue mappers: one module per venue, a pure map from a decoded frame to canonical
events, plus the :class:`~.base.VenueSpec` the book synchroniser follows.

Part of :mod:`tapewire.streams.normalize`. The layout every venue module follows is in
``docs/mappers.md``. Venue modules are found by :data:`NATIVE_MAPPERS` on import: a module
of this package that defines a :class:`Mapper` subclass with a ``spec`` is a venue.
"""

from __future__ import annotations

import importlib
import pkgutil

from tapewire.streams.normalize.mappers.base import (
    Mapper,
    MarketIndex,
    Sequencing,
    VenueSpec,
)
from tapewire.streams.normalize.mappers.events import (
    BookEvent,
    MapError,
    MarketEvent,
    QuoteEvent,
    TradeEvent,
)

_SUPPORT = frozenset({"base", "events", "common"})


def _discover() -> dict[str, type[Mapper]]:
    found: dict[str, type[Mapper]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name in _SUPPORT or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Mapper)
                and value.__module__ == module.__name__
                and "spec" in vars(value)
            ):
                found[value.spec.venue] = value
    return found


NATIVE_MAPPERS: dict[str, type[Mapper]] = _discover()
"""Native mapper class per ccxt exchange id (every venue module of this package)."""

__all__ = [
    "NATIVE_MAPPERS",
    "BookEvent",
    "MapError",
    "Mapper",
    "MarketEvent",
    "MarketIndex",
    "QuoteEvent",
    "Sequencing",
    "TradeEvent",
    "VenueSpec",
]
