"""Per-venue adapters: one small module per exchange, only for what ccxt lacks.

Part of :mod:`tapewire.streams.normalize` (may import :mod:`tapewire.schemas`,
:mod:`tapewire.core`).
"""

from __future__ import annotations

from tapewire.streams.normalize.venues.base import BookMeta, VenueAdapter
from tapewire.streams.normalize.venues.binance import BinanceAdapter
from tapewire.streams.normalize.venues.binanceusdm import BinanceUsdmAdapter
from tapewire.streams.normalize.venues.bitfinex import BitfinexAdapter
from tapewire.streams.normalize.venues.bitget import BitgetAdapter
from tapewire.streams.normalize.venues.bitstamp import BitstampAdapter
from tapewire.streams.normalize.venues.bitvavo import BitvavoAdapter
from tapewire.streams.normalize.venues.bybit import BybitAdapter
from tapewire.streams.normalize.venues.coinbase import CoinbaseAdapter
from tapewire.streams.normalize.venues.coinbaseexchange import CoinbaseExchangeAdapter
from tapewire.streams.normalize.venues.cryptocom import CryptocomAdapter
from tapewire.streams.normalize.venues.deribit import DeribitAdapter
from tapewire.streams.normalize.venues.gate import GateAdapter
from tapewire.streams.normalize.venues.gemini import GeminiAdapter
from tapewire.streams.normalize.venues.htx import HtxAdapter
from tapewire.streams.normalize.venues.hyperliquid import HyperliquidAdapter
from tapewire.streams.normalize.venues.kraken import KrakenAdapter
from tapewire.streams.normalize.venues.krakenfutures import KrakenFuturesAdapter
from tapewire.streams.normalize.venues.kucoin import KucoinAdapter
from tapewire.streams.normalize.venues.mexc import MexcAdapter
from tapewire.streams.normalize.venues.okx import OkxAdapter
from tapewire.streams.normalize.venues.upbit import UpbitAdapter

ADAPTERS: dict[str, type[VenueAdapter]] = {
    BinanceAdapter.venue: BinanceAdapter,
    OkxAdapter.venue: OkxAdapter,
    CoinbaseAdapter.venue: CoinbaseAdapter,
    CoinbaseExchangeAdapter.venue: CoinbaseExchangeAdapter,
    GeminiAdapter.venue: GeminiAdapter,
    KrakenAdapter.venue: KrakenAdapter,
    KrakenFuturesAdapter.venue: KrakenFuturesAdapter,
    BybitAdapter.venue: BybitAdapter,
    BitstampAdapter.venue: BitstampAdapter,
    KucoinAdapter.venue: KucoinAdapter,
    DeribitAdapter.venue: DeribitAdapter,
    CryptocomAdapter.venue: CryptocomAdapter,
    BinanceUsdmAdapter.venue: BinanceUsdmAdapter,
    BitgetAdapter.venue: BitgetAdapter,
    GateAdapter.venue: GateAdapter,
    BitfinexAdapter.venue: BitfinexAdapter,
    HtxAdapter.venue: HtxAdapter,
    HyperliquidAdapter.venue: HyperliquidAdapter,
    UpbitAdapter.venue: UpbitAdapter,
    BitvavoAdapter.venue: BitvavoAdapter,
    MexcAdapter.venue: MexcAdapter,
}
"""Adapter class per ccxt exchange id."""

__all__ = [
    "ADAPTERS",
    "BinanceAdapter",
    "BinanceUsdmAdapter",
    "BitfinexAdapter",
    "BitgetAdapter",
    "BitstampAdapter",
    "BitvavoAdapter",
    "BookMeta",
    "CoinbaseAdapter",
    "CoinbaseExchangeAdapter",
    "CryptocomAdapter",
    "DeribitAdapter",
    "GateAdapter",
    "GeminiAdapter",
    "HtxAdapter",
    "HyperliquidAdapter",
    "KrakenAdapter",
    "KrakenFuturesAdapter",
    "KucoinAdapter",
    "MexcAdapter",
    "OkxAdapter",
    "UpbitAdapter",
    "VenueAdapter",
]
