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
from tapewire.testing.frames import read_frames

FRAMES = Path(__file__).resolve().parents[4] / "data" / "frames" / "binanceusdm" / "frames.jsonl"
T0 = 1_672_515_782_000_000_000
MS = 1_000_000
BTC = "BTC-USDT-PERP-USDT"


def run() -> tuple[Normalizer, NormalizeResult, list[NormalizeResult]]:
    norm = Normalizer(clock=lambda: 1)
    per_frame = [norm.process(f) for f in read_frames(FRAMES, "binanceusdm")]
    total = NormalizeResult()
    for res in per_frame:
        total.extend(res)
    return norm, total, per_frame


def lv(side: list[dict[str, Decimal]]) -> list[tuple[str, str]]:
    return [(format(x["price"], "f"), format(x["size"], "f")) for x in side]


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
