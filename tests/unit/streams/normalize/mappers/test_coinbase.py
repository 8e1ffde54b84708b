"""Coinbase Advanced Trade native mapper over the documentation-derived frames.

Markets load from the captured REST frames at the top of each file (the four bodies ccxt's
``fetch_markets`` reads). ``frames.jsonl``: trades, snapshot, update, ticker, a
``sequence_num`` gap and the resyncing snapshot; ``more.jsonl``: subscription ack,
heartbeat, an update before any snapshot, snapshot, trades (maker ``SELL`` and ``BUY``), a
size-0 delete, ``ticker_batch``, a truncated frame (dead letter, whose ``sequence_num`` is
then missing: the next frame opens a gap).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tapewire.streams.normalize import Normalizer
from tapewire.streams.normalize.mappers import MapError, MarketIndex
from tapewire.streams.normalize.mappers.coinbase import CoinbaseMapper
from tapewire.streams.normalize.venues.coinbase import CoinbaseAdapter
from tapewire.testing.frames import read_frames
from tests.unit.streams.normalize.mappers.helpers import (
    FRAMES,
    counts,
    coverage,
    levels,
    run_file,
    run_payloads,
)

DIR: Path = FRAMES / "coinbase"
T1 = 1_675_974_800_000_000_000
MS = 1_000_000


def test_more_counts_and_values() -> None:
    total, per_frame = run_file(DIR / "more.jsonl", "coinbase")
    assert counts(total) == {
        "md.trades": 2,
        "md.book": 2,
        "md.quotes": 1,
        "md.coverage": 3,
        "dlq.normalize": 1,
    }
    assert [counts(per_frame[i]) for i in (4, 5)] == [{}, {}]  # ack, heartbeat
    buy_maker, sell_maker = total["md.trades"]  # oldest first (Coinbase sends newest first)
    assert (buy_maker["trade_id"], buy_maker["side"]) == ("12345678", "SELL")
    assert (buy_maker["price"], buy_maker["size"]) == (Decimal("1261.49"), Decimal("0.015"))
    assert buy_maker["exchange_ts_ns"] == 1675974781196250000
    assert (sell_maker["trade_id"], sell_maker["side"]) == ("12345679", "BUY")
    assert (sell_maker["instrument"], format(sell_maker["size"], "f")) == ("ETH-USD-SPOT", "2.0")
    assert sell_maker["exchange_ts_ns"] == 1675974781196250135  # ns digits kept
    snap, delta = total["md.book"]
    assert (snap["kind"], snap["last_sequence"], snap["depth"]) == ("SNAPSHOT", 3, None)
    assert snap["exchange_ts_ns"] == 1675974781100000200
    assert levels(snap["bids"]) == [("21921.74", "0.06317902"), ("21921.00", "0.7")]
    assert levels(snap["asks"]) == [("21921.75", "1.5"), ("21925.00", "2.00000000")]
    assert (delta["kind"], delta["last_sequence"], delta["receive_ts_ns"]) == (
        "DELTA",
        5,
        T1 + 15 * MS,
    )
    assert levels(delta["bids"]) == [("21921.00", "0")]
    assert levels(delta["asks"]) == [("21921.80", "0.25")]
    (q,) = total["md.quotes"]
    assert (q["bid_price"], q["bid_size"], q["ask_price"], q["ask_size"]) == (
        Decimal("21921.74"),
        Decimal("0.06317902"),
        Decimal("21921.75"),
        Decimal("1.5"),
    )
    assert q["exchange_ts_ns"] == 1675974781400000500
    # the update before the snapshot waits; the truncated frame (sequence_num 7) is lost,
    # so sequence_num 8 opens a gap at the last good update (frame 9, receive T1 + 15 ms)
    assert coverage(total) == [
        ("GAP", "waiting_for_snapshot", T1 + 12 * MS, None),
        ("RESYNC", "waiting_for_snapshot", T1 + 12 * MS, T1 + 13 * MS),
        ("GAP", "sequence_gap", T1 + 15 * MS, None),
    ]
    (dead,) = total["dlq.normalize"]
    assert dead["error_type"] == "DecodeError"


def test_sequence_gap_then_resync() -> None:
    total, per_frame = run_file(DIR / "frames.jsonl", "coinbase")
    t0 = 1_672_515_782_000_000_000
    assert counts(per_frame[8]) == {"md.coverage": 1}  # 6 after 3: its update is not applied
    assert coverage(total) == [
        ("GAP", "sequence_gap", t0 + 6 * MS, None),
        ("RESYNC", "sequence_gap", t0 + 6 * MS, t0 + 9 * MS),
    ]
    assert [b["last_sequence"] for b in total["md.book"]] == [1, 2, 7]


def _markets() -> Normalizer:
    norm = Normalizer(clock=lambda: 42)
    for frame in read_frames(DIR / "frames.jsonl", "coinbase")[:4]:
        norm.process(frame)
    return norm


def _l2(seq: int, kind: str, *updates: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "channel": "l2_data",
        "timestamp": "2023-02-09T20:32:50.000000001Z",
        "sequence_num": seq,
        "events": [
            {
                "type": kind,
                "product_id": "BTC-USD",
                "updates": [
                    {"side": s, "event_time": "2023-02-09T20:32:50Z", "price_level": p}
                    | {"new_quantity": q}
                    for s, p, q in updates
                ],
            }
        ],
    }


def test_crossed_book_resyncs_and_new_connection_restarts_numbering() -> None:
    norm = _markets()
    snap = _l2(0, "snapshot", ("bid", "100.00", "1"), ("offer", "101.00", "1"))
    crossing = _l2(1, "update", ("bid", "101.50", "2"))
    res = run_payloads(norm, "coinbase", [snap, crossing], T1)
    assert [b["kind"] for b in res["md.book"]] == ["SNAPSHOT"]
    assert coverage(res) == [("GAP", "crossed_book", T1, None)]
    # a new connection numbers from 0 again: no connection gap, the snapshot resyncs
    again = run_payloads(norm, "coinbase", [_l2(0, "snapshot", ("bid", "99", "1"))], T1 + 10, "c9")
    assert coverage(again) == [("RESYNC", "crossed_book", T1, T1 + 10)]


def test_connection_gap_is_per_connection() -> None:
    mapper = CoinbaseMapper(MarketIndex([]))
    assert mapper.connection_gap({"sequence_num": 4}, "a") is None
    assert mapper.connection_gap({"sequence_num": 0}, "b") is None
    assert mapper.connection_gap({"sequence_num": 5}, "a") is None
    assert mapper.connection_gap({"sequence_num": 7}, "a") == "sequence_gap"
    assert mapper.connection_gap({"sequence_num": 1}, "b") is None
    assert mapper.connection_gap({"no": "sequence"}, "b") is None


def test_connection_sequences_bounded_over_5000_reconnects_live_connection_checked() -> None:
    mapper = CoinbaseMapper(MarketIndex([]))
    adapter = CoinbaseAdapter()
    for i in range(5_000):
        assert mapper.connection_gap({"sequence_num": 0}, f"gone-{i}") is None
        assert mapper.connection_gap({"sequence_num": i}, "live") is None
        assert adapter.check_frame({"sequence_num": 0}, f"gone-{i}") is None
        assert adapter.check_frame({"sequence_num": i}, "live") is None
        assert len(mapper._last_seq) <= 2 * 1_024
        assert len(adapter._last_seq) <= 2 * 1_024
    assert mapper.connection_gap({"sequence_num": 5_001}, "live") == "sequence_gap"
    assert adapter.check_frame({"sequence_num": 5_001}, "live") == "sequence_num 5001 after 4999"


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (_l2(0, "update", ("bid", "100", "1")) | {"timestamp": 5}, "timestamp"),
        ({"channel": "l2_data", "timestamp": "2023-02-09T20:32:50Z", "events": {}}, "events"),
        (_l2(0, "delta", ("bid", "100", "1")), "type"),
        (_l2(0, "update", ("middle", "100", "1")), "side"),
        ({"type": "error", "message": "failure"}, "type"),
        ([1, 2], "frame"),
    ],
)
def test_bad_input_names_the_field(message: Any, field: str) -> None:
    with pytest.raises(MapError) as err:
        CoinbaseMapper(MarketIndex([])).map(message)
    assert err.value.field == field


def test_number_as_price_is_refused() -> None:
    norm = _markets()
    update = _l2(0, "snapshot", ("bid", "100", "1"))
    update["events"][0]["updates"][0]["price_level"] = 100.5
    res = run_payloads(norm, "coinbase", [update], T1)
    (dead,) = res["dlq.normalize"]
    assert (dead["error_type"], "price_level" in dead["reason"]) == ("ParseError", True)
