"""Canonical instrument ids map both ways to ccxt symbols."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tapewire.core.instruments import Instrument, InstrumentError, MarketType

CASES = [
    ("BTC/USDT", "BTC-USDT-SPOT"),
    ("BTC/USDT:USDT", "BTC-USDT-PERP-USDT"),
    ("BTC/USD:BTC", "BTC-USD-PERP-BTC"),
    ("BTC/USDT:USDT-261225", "BTC-USDT-FUT-USDT-20261225"),
    ("BTC/USD:BTC-261225-100000-C", "BTC-USD-OPT-BTC-20261225-100000-C"),
    ("ETH/USDC:USDC-270326-2500.5-P", "ETH-USDC-OPT-USDC-20270326-2500.5-P"),
    ("1000PEPE/USDT:USDT", "1000PEPE-USDT-PERP-USDT"),
]


@pytest.mark.parametrize(("symbol", "canonical"), CASES)
def test_ccxt_symbol_and_canonical_id_map_both_ways(symbol: str, canonical: str) -> None:
    instrument = Instrument.from_ccxt_symbol(symbol)
    assert str(instrument) == canonical
    assert Instrument.parse(canonical) == instrument
    assert instrument.to_ccxt_symbol() == symbol


def test_parts_and_venue_qualified_id() -> None:
    option = Instrument.parse("BTC-USD-OPT-BTC-20261225-100000-C")
    assert option.type is MarketType.OPT
    assert option.expiry == date(2026, 12, 25)
    assert option.strike == Decimal("100000")
    assert Instrument.parse("BTC-USDT-SPOT").on("binance") == "binance:BTC-USDT-SPOT"


def test_from_ccxt_market_uses_the_unified_symbol() -> None:
    market = {"id": "BTCUSDT", "symbol": "BTC/USDT:USDT", "type": "swap"}
    assert Instrument.from_ccxt_market(market).id == "BTC-USDT-PERP-USDT"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("BTC", "too few parts"),
        ("BTC-USDT-SWAP", "market type 'SWAP'"),
        ("BTC-USDT-PERP", "a PERP id has 4 parts"),
        ("BTC-USDT-FUT-USDT-2026122", "not YYYYMMDD"),
        ("BTC-USDT-FUT-USDT-20261340", "not a date"),
        ("BTC-USD-OPT-BTC-20261225-abc-C", "not a number"),
        ("B$C-USDT-SPOT", "not a currency code"),
    ],
)
def test_bad_ids_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InstrumentError, match=message) as caught:
        Instrument.parse(text)
    assert caught.value.value == text


def test_bad_ccxt_symbol_is_refused() -> None:
    with pytest.raises(InstrumentError, match="BASE/QUOTE"):
        Instrument.from_ccxt_symbol("BTCUSDT")
    with pytest.raises(InstrumentError, match="settle currency missing"):
        Instrument("BTC", "USDT", MarketType.PERP)
