"""Kraken Futures native mapper over a real capture and documentation-derived frames.

Markets: ``Normalizer(markets=...)`` with ``tests/data/frames/krakenfutures/markets.json``
(ccxt's parse of the ``/derivatives/api/v3/instruments`` response recorded with the
capture, ids upper-cased as the socket sends them: see ``tests/data/real/README.md``).

``tests/data/real/krakenfutures/frames.jsonl``: cryptofeed's 2021-07-22 recording, every
frame of PI_XRPUSD (perpetual) and FI_BCHUSD_210730 (fixed maturity).
``tests/data/frames/krakenfutures/frames.jsonl``: info, subscribed, a ``book`` before any
snapshot, ``book_snapshot`` seq 101, updates 102 (qty 0: delete) and 103, a
``trade_snapshot`` (newest first), a ``trade``, ``ticker``, heartbeat, update 105 (104 lost:
gap), 106 (dropped while resyncing), snapshot 110 (resync), 111, the trade again
(duplicate), a truncated frame.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tapewire.streams.normalize import Normalizer, NormalizeResult
from tapewire.streams.normalize.mappers import BookEvent, MapError, MarketIndex
from tapewire.streams.normalize.mappers.krakenfutures import KrakenFuturesMapper
from tapewire.testing.frames import read_frames
from tests.unit.streams.normalize.mappers.helpers import DATA, FRAMES, counts, coverage, levels

VENUE = "krakenfutures"
MARKETS = json.loads((FRAMES / VENUE / "markets.json").read_text(encoding="utf-8"))
REAL: Path = DATA / "real" / VENUE / "frames.jsonl"
DOC: Path = FRAMES / VENUE / "frames.jsonl"
PERP, FUTURE = "XRP-USD-PERP-XRP", "BCH-USD-FUT-BCH-20210730"
T0 = 1_700_000_000_000_000_000
MS = 1_000_000


def _run(frames: list[dict[str, Any]]) -> NormalizeResult:
    return Normalizer(clock=lambda: 1, markets={VENUE: MARKETS}).process_batch(frames)


def _feeds(frames: list[dict[str, Any]]) -> dict[str, int]:
    found: dict[str, int] = {}
    for frame in frames:
        message = json.loads(frame["payload"])
        key = message["event"] if "event" in message else message["feed"]
        found[key] = found.get(key, 0) + 1
    return found


def test_real_capture_counts_and_values() -> None:
    frames = read_frames(REAL, VENUE)
    assert _feeds(frames) == {
        "info": 1,
        "subscribed": 6,
        "book_snapshot": 2,
        "book": 253,
        "trade_snapshot": 2,
        "trade": 1,
        "ticker_lite": 16,
    }
    out = _run(frames)
    assert counts(out) == {"md.trades": 201, "md.book": 255, "md.quotes": 16}
    assert out.duplicates == 0
    assert {t["instrument"] for t in out["md.trades"]} == {PERP, FUTURE}
    oldest = out["md.trades"][0]  # trade_snapshot is newest first: emitted oldest first
    assert (oldest["instrument"], oldest["trade_id"], oldest["side"]) == (
        FUTURE,
        "8eaf71b7-81ac-4348-a859-edec0f3cf708",
        "BUY",
    )
    assert (oldest["price"], format(oldest["size"], "f")) == (Decimal("440.0"), "100.0")
    assert oldest["exchange_ts_ns"] == 1_626_979_159_119_000_000
    live = out["md.trades"][-1]
    assert (live["trade_id"], live["side"], live["price"], live["size"]) == (
        "727c154e-9339-4c50-987f-326c42f313a4",
        "BUY",
        Decimal("439.5"),
        Decimal("50.0"),
    )
    assert live["exchange_ts_ns"] == 1_626_994_933_519_000_000
    assert [t["side"] for t in out["md.trades"]].count("SELL") > 0
    snap = out["md.book"][0]
    assert (snap["instrument"], snap["kind"], snap["last_sequence"]) == (FUTURE, "SNAPSHOT", 91192)
    assert snap["exchange_ts_ns"] == 1_626_994_925_378_000_000
    assert (levels(snap["bids"])[0], levels(snap["asks"])[0]) == (
        ("439.3", "20108.0"),
        ("439.6", "50.0"),
    )
    delta = out["md.book"][2]
    assert (delta["instrument"], delta["last_sequence"], delta["bids"]) == (PERP, 3456140, [])
    assert levels(delta["asks"]) == [("0.5897", "3929.0")]
    quote = out["md.quotes"][0]
    assert (quote["instrument"], quote["bid_price"], quote["ask_price"]) == (
        FUTURE,
        Decimal("439.3"),
        Decimal("439.6"),
    )
    assert (quote["bid_size"], quote["exchange_ts_ns"]) == (None, None)  # ticker_lite
    last = {b["instrument"]: b["last_sequence"] for b in out["md.book"]}
    assert last == {PERP: 3456374, FUTURE: 91210}  # every seq followed the previous + 1


def test_real_capture_dropped_update_opens_a_sequence_gap() -> None:
    frames = read_frames(REAL, VENUE)
    perp_updates = [
        i for i, f in enumerate(frames) if b'"feed":"book","product_id":"PI_XRPUSD"' in f["payload"]
    ]
    dropped = perp_updates[10]
    out = _run(frames[:dropped] + frames[dropped + 1 :])
    before = frames[perp_updates[9]]["receive_ts_ns"]
    assert coverage(out) == [("GAP", "sequence_gap", before, None)]
    published = [b for b in out["md.book"] if b["instrument"] == PERP]
    assert len(published) == 1 + 10  # the snapshot and the updates before the hole


def test_doc_frames_counts_and_values() -> None:
    out = _run(read_frames(DOC, VENUE))
    assert counts(out) == {
        "md.trades": 3,
        "md.book": 5,
        "md.quotes": 1,
        "md.coverage": 4,
        "dlq.normalize": 1,
        "md.derivatives": 1,  # the ticker's markPrice and index (no relative_funding_rate)
    }
    (deriv,) = out["md.derivatives"]
    assert (deriv["mark_price"], deriv["index_price"], deriv["funding_rate"]) == (
        Decimal("0.600201"),
        Decimal("0.60015"),
        None,  # funding_rate 7.792297e-12 is absolute (per contract): not the fraction
    )
    assert out.duplicates == 1
    assert [(t["trade_id"], t["side"], format(t["size"], "f")) for t in out["md.trades"]] == [
        ("b1", "BUY", "320"),
        ("b2", "SELL", "90.0"),
        ("b3", "BUY", "5406.0"),
    ]
    assert out["md.trades"][0]["exchange_ts_ns"] == 1_699_999_999_001_000_000
    snap, delete, change, resync, after = out["md.book"]
    assert (snap["last_sequence"], snap["exchange_ts_ns"]) == (101, T0 + 2 * MS)
    assert levels(snap["bids"]) == [("0.6", "1200.0"), ("0.5999", "300")]
    assert levels(snap["asks"]) == [("0.6002", "50.0"), ("0.6003", "2500.0")]
    assert (delete["last_sequence"], levels(delete["asks"])) == (102, [("0.6002", "0.0")])
    assert (change["last_sequence"], levels(change["bids"])) == (103, [("0.6001", "75.0")])
    assert (resync["kind"], resync["last_sequence"]) == ("SNAPSHOT", 110)
    assert (after["last_sequence"], levels(after["asks"])) == (111, [("0.6004", "1")])
    (quote,) = out["md.quotes"]
    assert (quote["bid_price"], quote["bid_size"], quote["ask_price"], quote["ask_size"]) == (
        Decimal("0.6001"),
        Decimal("75.0"),
        Decimal("0.6003"),
        Decimal("2500.0"),
    )
    assert quote["exchange_ts_ns"] == T0 + 6 * MS
    assert coverage(out) == [
        ("GAP", "waiting_for_snapshot", T0 + 2 * MS, None),
        ("RESYNC", "waiting_for_snapshot", T0 + 2 * MS, T0 + 3 * MS),
        ("GAP", "sequence_gap", T0 + 5 * MS, None),
        ("RESYNC", "sequence_gap", T0 + 5 * MS, T0 + 12 * MS),
    ]
    (dead,) = out["dlq.normalize"]
    assert dead["error_type"] == "DecodeError"


def test_numbers_keep_their_wire_text() -> None:
    mapper = KrakenFuturesMapper(MarketIndex(MARKETS))
    payload = (
        b'{"feed":"book","product_id":"PI_XRPUSD","side":"buy","seq":7,"price":0.58810,'
        b'"qty":1e3,"timestamp":1626994927035}'
    )
    (event,) = mapper.map(mapper.decode(payload))
    assert isinstance(event, BookEvent)
    assert (event.bids, event.asks) == ([("0.58810", "1e3")], [])


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"feed": "book", "product_id": "PI_XRPUSD", "side": "up", "price": 1, "qty": 1}, "side"),
        ({"feed": "book", "product_id": "PI_XRPUSD", "side": "buy", "price": True}, "price"),
        ({"feed": "book_snapshot", "product_id": "PI_XRPUSD", "bids": {}, "asks": []}, "bids"),
        ({"feed": "trade", "product_id": "PI_XRPUSD", "uid": 5, "side": "buy"}, "uid"),
        ({"feed": "trade", "side": "buy", "uid": "u", "product_id": "PI_NOPE"}, "market"),
        ({"feed": "trade_snapshot", "product_id": "PI_XRPUSD", "trades": {}}, "trades"),
        ({"event": "alert", "message": "Failed to subscribe"}, "event"),
        ("text", "frame"),
    ],
)
def test_bad_input_names_the_field(message: Any, field: str) -> None:
    with pytest.raises(MapError) as err:
        KrakenFuturesMapper(MarketIndex(MARKETS)).map(message)
    assert err.value.field == field


def test_ticker_derivatives_use_the_relative_funding_rate() -> None:
    out = _run(read_frames(FRAMES / VENUE / "derivatives.jsonl", VENUE))
    assert counts(out) == {"md.quotes": 2, "md.derivatives": 2}
    rows = [
        (
            d["instrument"],
            str(d["mark_price"]),
            str(d["index_price"]),
            None if d["funding_rate"] is None else format(d["funding_rate"], "f"),
            d["next_funding_ts_ns"],
            d["exchange_ts_ns"],
        )
        for d in out["md.derivatives"]
    ]
    assert rows == [
        (
            PERP,
            "0.600137",
            "0.60015",
            "-0.000000685416666667",  # relative_funding_rate (a fraction), signed
            1700003600000 * MS,
            1700000000090 * MS,
        ),
        (FUTURE, "471.7", "470.12", None, None, 1700000000091 * MS),  # no funding
    ]


def test_ticker_lite_gives_no_derivatives_and_bad_next_funding_time_raises() -> None:
    mapper = KrakenFuturesMapper(MarketIndex(MARKETS))
    lite = {"feed": "ticker_lite", "product_id": "PI_XRPUSD", "bid": "0.6", "ask": "0.7"}
    assert [type(e).__name__ for e in mapper.map(lite)] == ["QuoteEvent"]
    ticker = lite | {"feed": "ticker", "time": 1, "markPrice": "0.65"}
    assert [type(e).__name__ for e in mapper.map(ticker)] == ["QuoteEvent", "DerivativesEvent"]
    with pytest.raises(MapError) as err:
        mapper.map(ticker | {"next_funding_rate_time": "soon"})
    assert err.value.field == "next_funding_rate_time"
