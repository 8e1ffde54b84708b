"""Per-venue adapters: one small module per exchange, only for what ccxt lacks.

Part of :mod:`tapewire.streams.normalize` (may import :mod:`tapewire.schemas`,
:mod:`tapewire.core`).
"""

from __future__ import annotations

from tapewire.streams.normalize.venues.base import BookMeta, VenueAdapter
from tapewire.streams.normalize.venues.binance import BinanceAdapter
from tapewire.streams.normalize.venues.binanceusdm import BinanceUsdmAdapter
from tapewire.streams.normalize.venues.bitget import BitgetAdapter
from tapewire.streams.normalize.venues.bybit import BybitAdapter
from tapewire.streams.normalize.venues.coinbase import CoinbaseAdapter
from tapewire.streams.normalize.venues.gate import GateAdapter
from tapewire.streams.normalize.venues.kraken import KrakenAdapter
from tapewire.streams.normalize.venues.okx import OkxAdapter

ADAPTERS: dict[str, type[VenueAdapter]] = {
    BinanceAdapter.venue: BinanceAdapter,
    BinanceUsdmAdapter.venue: BinanceUsdmAdapter,
    BitgetAdapter.venue: BitgetAdapter,
    OkxAdapter.venue: OkxAdapter,
    CoinbaseAdapter.venue: CoinbaseAdapter,
    KrakenAdapter.venue: KrakenAdapter,
    BybitAdapter.venue: BybitAdapter,
    GateAdapter.venue: GateAdapter,
}
"""Adapter class per ccxt exchange id."""

__all__ = [
    "ADAPTERS",
    "BinanceAdapter",
    "BinanceUsdmAdapter",
    "BitgetAdapter",
    "BookMeta",
    "CoinbaseAdapter",
    "GateAdapter",
    "KrakenAdapter",
    "OkxAdapter",
    "VenueAdapter",
]
