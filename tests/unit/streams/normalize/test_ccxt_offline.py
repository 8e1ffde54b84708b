"""Pins the behaviour of the generic ccxt offline core (ccxt 4.5.x internals it relies on)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import ccxt
import pytest

from tapewire.streams.normalize.ccxt_offline import (
    CapturedRest,
    FloatLeak,
    OfflineVenue,
    RecordingOrderBook,
    UncapturedRequest,
    decode_json_floats_as_text,
    exact_safe_float,
    fmt,
    rest_key,
    run_sync,
)
from tapewire.streams.normalize.venues import BinanceAdapter, OkxAdapter

FRAMES = Path(__file__).resolve().parents[3] / "data" / "frames"


def _rest(venue: str) -> dict[str, bytes]:
    first = json.loads((FRAMES / venue / "frames.jsonl").read_text().splitlines()[0])
    return {first["url"]: first["payload"].encode()}


def test_exact_safe_float_returns_decimal_and_refuses_floats() -> None:
    assert exact_safe_float({"p": "0.00000812"}, "p") == Decimal("0.00000812")
    assert exact_safe_float(["1.50"], 0) == Decimal("1.50")
    assert exact_safe_float({"p": 3}, "p") == Decimal(3)
    assert exact_safe_float({}, "p", "d") == "d"
    assert exact_safe_float({"p": ""}, "p") is None
    assert exact_safe_float({"p": "x"}, "p") is None
    with pytest.raises(FloatLeak):
        exact_safe_float({"p": 0.1}, "p")


def test_fmt_never_uses_exponent() -> None:
    assert fmt(Decimal("0.00000001")) == "0.00000001"
    assert str(Decimal("0.00000001")) == "1E-8"  # why fmt exists
    assert fmt("x") == "x"


def test_floats_as_text_decoder_keeps_wire_text() -> None:
    assert decode_json_floats_as_text(b'{"qty":0.00100000,"n":3}') == {"qty": "0.00100000", "n": 3}


def test_recording_book_logs_changes_and_truncation_as_deletes() -> None:
    book = RecordingOrderBook({"bids": [["2", "1"]], "asks": [["3", "1"]]}, 2)
    assert book.was_reset
    assert book["bids"][0][0] == Decimal(2)  # str levels became Decimal
    book.changes.clear()
    book["asks"].storeArray(["4", "1"])
    book["asks"].storeArray(["5", "1"])
    book["asks"].limit()
    assert book.changes == [
        ("ask", Decimal(4), Decimal(1)),
        ("ask", Decimal(5), Decimal(1)),
        ("ask", Decimal(5), Decimal(0)),
    ]
    book.reset({"bids": [], "asks": []})
    assert book.was_reset
    assert book.changes == []


def test_rest_key_is_path_and_sorted_query_without_host() -> None:
    url = "https://www.okx.com/api/v5/public/instruments?uly=BTC-USD&instType=OPTION"
    assert rest_key(url) == "/api/v5/public/instruments?instType=OPTION&uly=BTC-USD"
    assert rest_key("https://api1.binance.com/api/v3/exchangeInfo") == "/api/v3/exchangeInfo"
    assert rest_key("/x?b=%20a&a=1") == "/x?a=1&b=+a" == rest_key(rest_key("/x?b=%20a&a=1"))


def test_captured_rest_serves_by_full_url_and_names_missing_ones() -> None:
    rest = CapturedRest(
        {
            "https://h/a?q=1&r=2": b'{"x":"1"}',
            "https://h/a?q=2": b'{"x":"2"}',
        }
    )
    assert run_sync(rest("https://other/a?r=2&q=1")) == {"x": "1"}  # same key
    assert run_sync(rest("https://h/a?q=2")) == {"x": "2"}  # one path, two responses
    with pytest.raises(UncapturedRequest, match=r"GET https://h/a\?q=3 \(key /a\?q=3\)") as err:
        run_sync(rest("https://h/a?q=3"))
    assert "record it with the live connector" in str(err.value)
    assert err.value.key == "/a?q=3"
    with pytest.raises(UncapturedRequest):
        run_sync(rest("https://h/a"))  # the path alone is not a captured URL
    assert rest.missing == ["https://h/a?q=3", "https://h/a"]
    assert rest.requests == [
        "https://other/a?r=2&q=1",
        "https://h/a?q=2",
        "https://h/a?q=3",
        "https://h/a",
    ]


def test_captured_rest_runs_the_venues_handle_errors() -> None:
    venue = BinanceAdapter().create(_rest("binance"))
    rest = venue.rest
    rest.put("https://api.binance.com/api/v3/time", b'{"code":-1003,"msg":"Too much weight"}')
    with pytest.raises(ccxt.RateLimitExceeded, match="-1003"):
        run_sync(rest("https://api.binance.com/api/v3/time"))


def test_markets_load_offline_from_captured_rest_then_exact_mode() -> None:
    venue = BinanceAdapter().create(_rest("binance"))
    assert sorted(venue.ex.markets) == ["BTC/USDT", "SHIB/USDT"]
    assert venue.ex.number is str
    assert venue.rest.requests
    assert all("/api/v3/exchangeInfo" in u for u in venue.rest.requests)
    # set_markets fast path: no REST at all
    again = OfflineVenue.create(
        "binance",
        ws_url=BinanceAdapter.ws_url,
        markets=list(venue.ex.markets.values()),
        options=BinanceAdapter.options,
    )
    assert again.rest.requests == []
    assert "BTC/USDT" in again.ex.markets


def test_feed_trade_is_exact_and_cache_is_drained() -> None:
    venue = OkxAdapter().create(_rest("okx"))
    raw = (
        b'{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT",'
        b'"tradeId":"1","px":"42219.90","sz":"0.00000812","side":"sell","ts":"1630048897897"}]}'
    )
    first = venue.feed(raw)
    assert [(t["price"], t["amount"], t["side"]) for t in first.trades] == [
        ("42219.90", "0.00000812", "sell")
    ]
    assert len(venue.feed(raw).trades) == 1  # drained: not the accumulated cache


def test_feed_reports_decode_and_handler_errors() -> None:
    venue = OkxAdapter().create(_rest("okx"))
    assert isinstance(venue.feed(b'{"arg":').error, ValueError)
    assert venue.feed(b'{"event":"subscribe"}').error is None
