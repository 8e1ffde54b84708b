"""Binance USD-M futures native mapper on documentation-derived frames
(``tests/data/frames/binanceusdm/frames.jsonl``; markets from its REST
``/fapi/v1/exchangeInfo`` frame, book snapshots from its ``/fapi/v1/depth`` frames)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tapewire.streams.normalize import Normalizer, NormalizeResult
from tapewire.streams.normalize.books import BookState
from tapewire.streams.normalize.mappers import MapError, MarketIndex
from tapewire.streams.normalize.mappers.binanceusdm import BinanceUsdmMapper
from tapewire.streams.normalize.mappers.events import DerivativesEvent
from tapewire.testing.frames import read_frames
from tests.unit.streams.normalize.mappers.helpers import levels, run_with

FRAMES = Path(__file__).resolve().parents[4] / "data" / "frames" / "binanceusdm" / "frames.jsonl"
T0 = 1_672_515_782_000_000_000
MS = 1_000_000
BTC = "BTC-USDT-PERP-USDT"


def run() -> tuple[Normalizer, NormalizeResult, list[NormalizeResult]]:
    return run_with(Normalizer(clock=lambda: 1), FRAMES, "binanceusdm")


lv = levels


def test_counts_and_values() -> None:
    norm, total, per_frame = run()
    assert {t: len(r) for t, r in total.records.items() if r or t != "md.derivatives"} == {
        "md.trades": 2,
        "md.book": 4,
        "md.quotes": 1,
        "md.coverage": 4,
        "dlq.normalize": 1,
    }
    assert not any(per_frame[1].records.values())  # subscription result
    trades = [
        (t["instrument"], t["trade_id"], t["price"], t["size"], t["side"], t["exchange_ts_ns"])
        for t in total["md.trades"]
    ]
    assert trades == [  # m=true: the buyer was the maker, the seller the aggressor
        (BTC, "5933014", Decimal("16550.10"), Decimal("0.120"), "SELL", 1672515781899 * MS),
        (
            "ETH-USDT-PERP-USDT",
            "2001",
            Decimal("1196.51"),
            Decimal("5.000"),
            "BUY",
            1672515781900 * MS,
        ),
    ]
    (q,) = total["md.quotes"]
    assert (q["bid_price"], q["bid_size"], q["ask_price"], q["ask_size"]) == (
        Decimal("16550.00"),
        Decimal("31.210"),
        Decimal("16550.10"),
        Decimal("40.660"),
    )
    assert q["exchange_ts_ns"] == 1672515781950 * MS  # T, not E

    snap, delta, resnap, delta2 = total["md.book"]
    # snapshot lastUpdateId=158: delta 150..157 is stale, 158..160 spans it and is replayed
    assert (snap["kind"], snap["last_sequence"], snap["depth"]) == ("SNAPSHOT", 160, 1000)
    assert lv(snap["bids"]) == [
        ("16550.00", "30.000"),
        ("16549.90", "1.500"),
        ("16549.00", "2.000"),
    ]
    assert lv(snap["asks"]) == [("16550.10", "40.660"), ("16551.00", "10.000")]  # 16550.20 deleted
    assert snap["exchange_ts_ns"] == 1672515782100 * MS  # E of the last replayed delta
    assert (delta["first_sequence"], delta["last_sequence"], delta["prev_sequence"]) == (
        161,
        163,
        160,
    )
    assert (lv(delta["bids"]), lv(delta["asks"])) == ([("16549.00", "0")], [("16550.10", "38.000")])
    assert delta["exchange_ts_ns"] == 1672515782200 * MS
    assert (resnap["last_sequence"], delta2["prev_sequence"], lv(delta2["asks"])) == (
        170,
        170,
        [("16551.00", "0")],
    )
    cov = [(c["event"], c["reason"], c["from_ns"], c["to_ns"]) for c in total["md.coverage"]]
    assert cov == [
        ("GAP", "waiting_for_snapshot", T0 + 5 * MS, None),
        ("RESYNC", "waiting_for_snapshot", T0 + 5 * MS, T0 + 7 * MS),
        ("GAP", "sequence_gap", T0 + 8 * MS, None),  # pu=165 after u=163
        ("RESYNC", "sequence_gap", T0 + 8 * MS, T0 + 11 * MS),
    ]
    assert norm.book_state("binanceusdm", BTC) is BookState.LIVE
    assert total["dlq.normalize"][0]["error_type"] == "DecodeError"


def _mapper() -> BinanceUsdmMapper:
    norm = Normalizer()
    norm.load_markets("binanceusdm", read_frames(FRAMES, "binanceusdm")[:1])
    return BinanceUsdmMapper(MarketIndex(norm.venues["binanceusdm"].ex.markets.values()))


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"p": 16550.1}, "p"), ({"m": "true"}, "m"), ({"a": "1"}, "a"), ({"s": "NOPE"}, "market")],
)
def test_bad_trade_fields_raise_map_error(fields: dict[str, Any], field: str) -> None:
    trade = {"e": "aggTrade", "E": 1, "a": 1, "s": "BTCUSDT", "p": "1", "q": "1", "T": 1, "m": True}
    with pytest.raises(MapError) as err:
        _mapper().map(trade | fields)
    assert err.value.field == field


DERIVATIVES = FRAMES.with_name("derivatives.jsonl")


def test_mark_price_frames_are_derivatives_records() -> None:
    norm = Normalizer(clock=lambda: 1)
    total = NormalizeResult()
    for frame in read_frames(DERIVATIVES, "binanceusdm"):
        total.extend(norm.process(frame))
    assert {t: len(r) for t, r in total.records.items() if r} == {"md.derivatives": 4}
    rows = [
        (
            d["instrument"],
            d["mark_price"],
            d["index_price"],
            d["funding_rate"],
            d["next_funding_ts_ns"],
            d["exchange_ts_ns"],
        )
        for d in total["md.derivatives"]
    ]
    eth = "ETH-USDT-PERP-USDT"
    next_funding = 1672531200000 * MS
    assert rows == [  # @markPrice, @markPrice@1s (negative funding), !markPrice@arr (two)
        (
            BTC,
            Decimal("16551.23456789"),
            Decimal("16549.81523810"),
            Decimal("0.00010000"),
            next_funding,
            1672515782000 * MS,
        ),
        (
            eth,
            Decimal("1196.62000000"),
            Decimal("1196.70370370"),
            Decimal("-0.00002135"),
            next_funding,
            1672515783000 * MS,
        ),
        (
            BTC,
            Decimal("16552.00000000"),
            Decimal("16550.10000000"),
            Decimal("0.00010000"),
            next_funding,
            1672515784000 * MS,
        ),
        (
            eth,
            Decimal("1196.50000000"),
            Decimal("1196.60000000"),
            Decimal("0E-8"),
            next_funding,
            1672515784000 * MS,
        ),
    ]
    assert str(total["md.derivatives"][1]["funding_rate"]) == "-0.00002135"  # wire text
    assert total["md.derivatives"][0]["receive_ts_ns"] == T0 + 101 * MS


def test_mark_price_without_funding_and_bad_fields() -> None:
    mapper = _mapper()
    mark: dict[str, Any] = {"e": "markPriceUpdate", "E": 1, "s": "BTCUSDT", "p": "1.5", "i": "1.4"}
    # a delivery contract: no funding (r "", T 0)
    (event,) = mapper.map(mark | {"r": "", "T": 0})
    assert isinstance(event, DerivativesEvent)
    assert (event.mark_price, event.index_price, event.funding_rate) == ("1.5", "1.4", None)
    assert (event.next_funding_ts_ns, event.exchange_ts_ns) == (None, MS)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"p": 1.5}, "p"),
        ({"r": 0.0001}, "r"),
        ({"T": "1"}, "T"),
        ({"s": "NOPE"}, "market"),
    ]
    for fields, field in cases:
        with pytest.raises(MapError) as err:
            mapper.map({"stream": "x@markPrice", "data": mark | {"r": "0", "T": 1} | fields})
        assert err.value.field == field
    with pytest.raises(MapError):
        mapper.map({"stream": "!markPrice@arr", "data": [mark | {"e": "other"}]})


def test_bad_funding_rate_is_one_dead_letter() -> None:
    norm = Normalizer(clock=lambda: 1)
    frames = read_frames(DERIVATIVES, "binanceusdm")
    norm.process(frames[0])  # markets
    payload = frames[2]["payload"].replace(b'"0.00010000"', b'"1e-400"')
    res = norm.process(dict(frames[2], payload=payload))
    assert not res["md.derivatives"]
    (dead,) = res["dlq.normalize"]
    assert dead["error_type"] == "PrecisionError"
    assert "funding_rate" in dead["reason"]
