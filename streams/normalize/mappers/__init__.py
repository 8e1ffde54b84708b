"""Venue mappers: one module per venue, a pure map from a decoded frame to canonical
events, plus the :class:`~.base.VenueSpec` the book synchroniser follows.

Part of :mod:`tapewire.streams.normalize`. The layout every venue module follows is in
``docs/mappers.md``.
"""

from __future__ import annotations

from tapewire.streams.normalize.mappers.base import (
    Mapper,
    MarketIndex,
    Sequencing,
    VenueSpec,
)
from tapewire.streams.normalize.mappers.binance import BinanceMapper
from tapewire.streams.normalize.mappers.binanceusdm import BinanceUsdmMapper
from tapewire.streams.normalize.mappers.bitget import BitgetMapper
from tapewire.streams.normalize.mappers.bybit import BybitMapper
from tapewire.streams.normalize.mappers.events import (
    BookEvent,
    MapError,
    MarketEvent,
    QuoteEvent,
    TradeEvent,
)
from tapewire.streams.normalize.mappers.gate import GateMapper
from tapewire.streams.normalize.mappers.okx import OkxMapper

NATIVE_MAPPERS: dict[str, type[Mapper]] = {
    mapper.spec.venue: mapper
    for mapper in (
        BinanceMapper,
        BinanceUsdmMapper,
        BitgetMapper,
        BybitMapper,
        GateMapper,
        OkxMapper,
    )
}
"""Native mapper class per ccxt exchange id."""

__all__ = [
    "NATIVE_MAPPERS",
    "BinanceMapper",
    "BinanceUsdmMapper",
    "BitgetMapper",
    "BookEvent",
    "BybitMapper",
    "GateMapper",
    "MapError",
    "Mapper",
    "MarketEvent",
    "MarketIndex",
    "OkxMapper",
    "QuoteEvent",
    "Sequencing",
    "TradeEvent",
    "VenueSpec",
]
