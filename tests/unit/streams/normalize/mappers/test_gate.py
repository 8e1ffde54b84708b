"""Gate v4 spot native mapper on documentation-derived frames
(``tests/data/frames/gate/frames.jsonl``; markets from its REST frames ``spot/
currency_pairs``, ``margin/currency_pairs`` and ``spot/currencies``, which ccxt's markets
need)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tapewire.streams.normalize import Normalizer, NormalizeResult
from tapewire.streams.normalize.books import BookState
from tapewire.streams.normalize.mappers import MapError, MarketIndex
from tapewire.streams.normalize.mappers.gate import GateMapper, ms_fraction_to_ns
from tapewire.testing.frames import read_frames
from tests.unit.streams.normalize.mappers.helpers import levels, run_with

FRAMES = Path(__file__).resolve().parents[4] / "data" / "frames" / "gate" / "frames.jsonl"
T0 = 1_606_292_218_000_000_000
MS = 1_000_000
BTC = "BTC-USDT-SPOT"


def run() -> tuple[Normalizer, NormalizeResult, list[NormalizeResult]]:
    return run_with(Normalizer(clock=lambda: 1), FRAMES, "gate")


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
    assert not any(per_frame[3].records.values())  # subscribe ack
    trades = [
        (t["instrument"], t["trade_id"], t["price"], t["size"], t["side"], t["exchange_ts_ns"])
        for t in total["md.trades"]
    ]
    assert trades == [
        (
            "GT-USDT-SPOT",
            "309143071",
            Decimal("0.4705000000"),
            Decimal("16.47"),
            "SELL",
            1606292218213457800,
        ),
        (BTC, "309143072", Decimal("19177.8"), Decimal("0.0012"), "BUY", 1606292218299100000),
    ]
    snap, delta, resnap, delta2 = total["md.book"]
    assert (snap["kind"], snap["last_sequence"], snap["depth"], snap["exchange_ts_ns"]) == (
        "SNAPSHOT",
        73777715,
        400,
        1606292218500 * MS,
    )
    assert lv(snap["bids"]) == [("19177.8", "0.5"), ("19177.7", "1.25"), ("19170.0", "3")]
    assert lv(snap["asks"]) == [("19177.9", "0.1"), ("19178.5", "2.0"), ("19180.0", "4")]
    assert (delta["first_sequence"], delta["last_sequence"]) == (73777716, 73777720)
    assert lv(delta["bids"]) == [("19177.7", "0"), ("19176.0", "2")]  # size 0 deletes
    (q,) = total["md.quotes"]
    assert (q["bid_price"], q["bid_size"], q["ask_price"], q["ask_size"], q["exchange_ts_ns"]) == (
        Decimal("19177.8"),
        Decimal("0.5"),
        Decimal("19177.9"),
        Decimal("0.3"),
        1606292218648 * MS,
    )
    cov = [(c["event"], c["reason"], c["from_ns"], c["to_ns"]) for c in total["md.coverage"]]
    assert cov == [
        ("GAP", "waiting_for_snapshot", T0 + 6 * MS, None),  # a delta before any snapshot
        ("RESYNC", "waiting_for_snapshot", T0 + 6 * MS, T0 + 7 * MS),
        ("GAP", "sequence_gap", T0 + 8 * MS, None),  # U=73777725 after u=73777720
        ("RESYNC", "sequence_gap", T0 + 8 * MS, T0 + 12 * MS),
    ]
    assert not any(per_frame[11].records.values())  # resyncing: dropped
    assert (resnap["last_sequence"], delta2["first_sequence"], lv(delta2["bids"])) == (
        73777740,
        73777741,
        [("19177.85", "0.01")],
    )
    assert norm.book_state("gate", BTC) is BookState.LIVE
    assert total["dlq.normalize"][0]["error_type"] == "DecodeError"


def test_trade_time_keeps_the_fraction() -> None:
    assert ms_fraction_to_ns("1606292218213.4578", "t") == 1606292218213457800
    assert ms_fraction_to_ns("1606292218213", "t") == 1606292218213 * MS
    with pytest.raises(MapError):
        ms_fraction_to_ns("1.2e3", "t")


def _mapper() -> GateMapper:
    norm = Normalizer()
    norm.load_markets("gate", read_frames(FRAMES, "gate")[:3])
    return GateMapper(MarketIndex(norm.venues["gate"].ex.markets.values()))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"side": "Sell"}, "side"),
        ({"price": 0.47}, "price"),
        ({"id": "309143071"}, "id"),
        ({"create_time_ms": 1606292218213}, "create_time_ms"),
        ({"currency_pair": "NOPE_USDT"}, "market"),
    ],
)
def test_bad_trade_fields_raise_map_error(fields: dict[str, Any], field: str) -> None:
    trade = {
        "id": 1,
        "create_time_ms": "1",
        "side": "buy",
        "currency_pair": "GT_USDT",
        "amount": "1",
        "price": "1",
    }
    with pytest.raises(MapError) as err:
        _mapper().map({"channel": "spot.trades", "event": "update", "result": trade | fields})
    assert err.value.field == field
