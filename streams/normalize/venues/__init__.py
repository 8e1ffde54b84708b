"""Per-venue adapters: one small module per exchange, only for what ccxt lacks."""

from __future__ import annotations

from streams.normalize.venues.base import BookMeta, VenueAdapter
from streams.normalize.venues.binance import BinanceAdapter
from streams.normalize.venues.bybit import BybitAdapter
from streams.normalize.venues.coinbase import CoinbaseAdapter
from streams.normalize.venues.kraken import KrakenAdapter
from streams.normalize.venues.okx import OkxAdapter

ADAPTERS: dict[str, type[VenueAdapter]] = {
    BinanceAdapter.venue: BinanceAdapter,
    OkxAdapter.venue: OkxAdapter,
    CoinbaseAdapter.venue: CoinbaseAdapter,
    KrakenAdapter.venue: KrakenAdapter,
    BybitAdapter.venue: BybitAdapter,
}
"""Adapter class per ccxt exchange id."""

__all__ = [
    "ADAPTERS",
    "BinanceAdapter",
    "BookMeta",
    "CoinbaseAdapter",
    "KrakenAdapter",
    "OkxAdapter",
    "VenueAdapter",
]
