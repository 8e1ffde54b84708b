"""Fixture frames per venue through the Normalizer: exact per-channel counts and values."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tapewire.core.records import TypedRecord
from tapewire.schemas.codec import Codec
from tapewire.streams.normalize import Normalizer, NormalizeResult
from tapewire.testing.frames import read_frames

FRAMES = Path(__file__).resolve().parents[3] / "data" / "frames"
T0 = 1_672_515_782_000_000_000
MS = 1_000_000
PROCESS_TS = 42


def run(venue: str) -> tuple[NormalizeResult, list[NormalizeResult]]:
    norm = Normalizer(clock=lambda: PROCESS_TS)
    per_frame = [norm.process(f) for f in read_frames(FRAMES / venue / "frames.jsonl", venue)]
    total = NormalizeResult()
    for res in per_frame:
        total.extend(res)
    return total, per_frame


def counts(res: NormalizeResult) -> dict[str, int]:
    # md.derivatives only where a frame carries mark/index/funding data
    return {t: len(r) for t, r in res.records.items() if r or t != "md.derivatives"}


def levels(side: list[dict[str, Decimal]]) -> list[tuple[str, str]]:
    return [(format(lv["price"], "f"), format(lv["size"], "f")) for lv in side]


def assert_exact_types(value: Any, path: str = "") -> None:
    """No float anywhere: only Decimal, int, str, bytes, None, and containers of them."""
    if isinstance(value, TypedRecord):
        value = value.to_dict()
    if isinstance(value, dict):
        for k, v in value.items():
            assert_exact_types(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            assert_exact_types(v, f"{path}[{i}]")
    else:
        assert not isinstance(value, float | bool), f"{path} = {value!r}"
        assert value is None or isinstance(value, Decimal | int | str | bytes), path


@pytest.mark.parametrize("venue", ["binance", "okx", "kraken", "coinbase"])
def test_outputs_are_exact_and_encode_with_the_avro_codec(venue: str) -> None:
    total, _ = run(venue)
    codec = Codec()
    for topic, recs in total.records.items():
        for rec in recs:
            assert_exact_types(rec, topic)
            assert codec.read(topic, codec.encode(topic, rec)) == rec


def test_binance_counts_and_values() -> None:
    total, per_frame = run("binance")
    assert counts(total) == {
        "md.trades": 3,
        "md.book": 4,
        "md.quotes": 1,
        "md.coverage": 4,
        "dlq.normalize": 2,
    }
    assert total.duplicates == 1
    t = total["md.trades"]
    assert [(r["instrument"], r["trade_id"], r["price"], r["size"], r["side"]) for r in t] == [
        ("BTC-USDT-SPOT", "3417452129", Decimal("16541.96000000"), Decimal("0.00512000"), "SELL"),
        ("SHIB-USDT-SPOT", "50123", Decimal("0.00000812"), Decimal("1234567.00"), "BUY"),
        ("BTC-USDT-SPOT", "3417452130", Decimal("16542.00000000"), Decimal("0.00100000"), "BUY"),
    ]
    assert format(t[1]["size"], "f") == "1234567.00"  # trailing zeros kept
    assert t[0]["exchange_ts_ns"] == 1672515782134 * MS
    assert (t[0]["receive_ts_ns"], t[0]["process_ts_ns"]) == (T0 + 1 * MS, PROCESS_TS)
    assert (t[0]["connection_id"], t[0]["frame_sequence"]) == ("c1", 1)

    q = total["md.quotes"][0]
    assert (q["instrument"], q["source"], q["exchange_ts_ns"]) == (
        "BTC-USDT-SPOT",
        "VENUE_BBO",
        None,
    )
    assert (q["bid_price"], q["bid_size"]) == (Decimal("16541.95000000"), Decimal("3.12000000"))
    assert (q["ask_price"], q["ask_size"]) == (Decimal("16541.96000000"), Decimal("0.40100000"))

    # frames 4-5 are buffered deltas (no output), frame 6 the REST snapshot: 157..160
    # dropped, 161..163 applied on top of lastUpdateId 160
    assert [counts(per_frame[i])["md.book"] for i in (4, 5)] == [0, 0]
    snap, delta, resnap, delta2 = total["md.book"]
    assert (snap["kind"], snap["last_sequence"], snap["depth"]) == ("SNAPSHOT", 163, 1000)
    assert levels(snap["bids"]) == [
        ("16541.95000000", "3.12000000"),
        ("16541.00000000", "1.00000000"),
    ]
    assert levels(snap["asks"]) == [
        ("16541.96000000", "0.30100000"),
        ("16542.10000000", "2.00000000"),
        ("16543.00000000", "0.00512000"),
    ]
    assert (snap["exchange_ts_ns"], snap["receive_ts_ns"]) == (1672515782300 * MS, T0 + 6 * MS)
    assert (delta["kind"], delta["first_sequence"], delta["last_sequence"]) == ("DELTA", 164, 165)
    assert levels(delta["bids"]) == [("16541.99000000", "0.20000000")]
    assert delta["asks"] == []
    assert delta["exchange_ts_ns"] == 1672515782400 * MS

    # frame 8 has U=170 after u=165: gap; frame 9 is buffered; frame 10 is a fresh snapshot
    # frames 4-5 arrive before any snapshot: the book says it waits (GAP), frame 6 ends it
    waiting, synced, gap, resync = (r.to_dict() for r in total["md.coverage"])
    assert (waiting["event"], waiting["reason"], waiting["from_ns"], waiting["to_ns"]) == (
        "GAP",
        "waiting_for_snapshot",
        T0 + 4 * MS,
        None,
    )
    assert (synced["event"], synced["from_ns"], synced["to_ns"]) == (
        "RESYNC",
        T0 + 4 * MS,
        T0 + 6 * MS,
    )
    assert gap == {
        "venue": "binance",
        "instrument": "BTC-USDT-SPOT",
        "channel": "book",
        "event": "GAP",
        "from_ns": T0 + 7 * MS,
        "to_ns": None,
        "reason": "sequence_gap",
        "process_ts_ns": PROCESS_TS,
    }
    assert (resync["event"], resync["from_ns"], resync["to_ns"]) == (
        "RESYNC",
        T0 + 7 * MS,
        T0 + 10 * MS,
    )
    assert counts(per_frame[9])["md.book"] == 0
    assert (resnap["kind"], resnap["last_sequence"]) == ("SNAPSHOT", 175)
    assert levels(resnap["bids"])[0] == ("16541.95000000", "2.00000000")  # buffered 173..175
    assert (delta2["first_sequence"], delta2["last_sequence"]) == (176, 176)
    assert levels(delta2["asks"]) == [
        ("16542.00000000", "0.00000000"),
        ("16542.50000000", "0.10000000"),
    ]

    dlq = total["dlq.normalize"]
    assert [d["error_type"] for d in dlq] == ["DecodeError", "UnknownInstrument"]
    assert dlq[0]["labels"]["sequence"] == "13"
    assert dlq[0]["payload"].startswith(b'{"e":"trade"')
    assert "NOPEUSDT" in dlq[1]["reason"]


def test_okx_counts_and_values() -> None:
    total, per_frame = run("okx")
    assert counts(total) == {
        "md.trades": 1,
        "md.book": 4,
        "md.quotes": 1,
        "md.coverage": 3,
        "dlq.normalize": 2,
    }
    assert total.duplicates == 1
    (t,) = total["md.trades"]
    assert (t["trade_id"], t["price"], t["size"], t["side"]) == (
        "130639474",
        Decimal("42219.9"),
        Decimal("0.12060306"),
        "BUY",
    )
    assert t["exchange_ts_ns"] == 1630048897897 * MS
    (q,) = total["md.quotes"]
    assert (q["bid_price"], q["ask_price"], q["ask_size"]) == (
        Decimal("41006.3"),
        Decimal("41006.8"),
        Decimal("0.50038921"),
    )
    assert q["exchange_ts_ns"] == 1597026383190 * MS

    snap, delta, resnap, delta2 = total["md.book"]
    assert (snap["kind"], snap["last_sequence"], snap["depth"]) == ("SNAPSHOT", 123456, 400)
    assert levels(snap["asks"]) == [("41006.8", "0.60038921"), ("41006.9", "0.00000812")]
    assert (delta["last_sequence"], delta["prev_sequence"]) == (123457, 123456)
    assert levels(delta["bids"]) == [("41006.2", "0")]
    assert levels(delta["asks"]) == [("41006.8", "0.50038921")]
    assert delta["checksum"] == 877910932
    # frame 5: prevSeqId 123460 after 123457 -> gap; frame 6 ignored; frame 7 snapshot
    assert counts(per_frame[6])["md.book"] == 0
    assert (resnap["kind"], resnap["last_sequence"]) == ("SNAPSHOT", 123470)
    assert levels(delta2["bids"]) == [("41006.6", "0.00000812")]
    # frame 9 carries a wrong checksum: book invalid, nothing published
    assert counts(per_frame[9])["md.book"] == 0
    gap, resync, bad = total["md.coverage"]
    assert (gap["event"], gap["reason"], gap["from_ns"]) == ("GAP", "sequence_gap", T0 + 3 * MS)
    assert (resync["event"], resync["to_ns"]) == ("RESYNC", T0 + 7 * MS)
    assert (bad["event"], bad["reason"], bad["from_ns"]) == ("GAP", "checksum", T0 + 8 * MS)
    assert [d["error_type"] for d in total["dlq.normalize"]] == ["UnknownInstrument", "DecodeError"]


def test_kraken_counts_and_values() -> None:
    total, per_frame = run("kraken")
    assert counts(total) == {
        "md.trades": 2,
        "md.book": 3,
        "md.quotes": 1,
        "md.coverage": 4,
        "dlq.normalize": 1,
    }
    assert total.duplicates == 2
    # frame 2: an update before any snapshot is not published; the book says it waits
    assert counts(per_frame[2]) == {k: int(k == "md.coverage") for k in counts(total)}
    t = total["md.trades"]
    assert [(r["trade_id"], r["price"], r["size"], r["side"]) for r in t] == [
        ("4665906", Decimal("45285.2"), Decimal("0.00100000"), "SELL"),
        ("4665907", Decimal("45286.40"), Decimal("1.2"), "BUY"),
    ]
    assert format(t[0]["size"], "f") == "0.00100000"  # JSON number kept as wire text
    assert t[0]["exchange_ts_ns"] == 1695628177708706000  # microseconds kept
    snap, delta, resnap = total["md.book"]
    assert (snap["kind"], snap["depth"], snap["exchange_ts_ns"]) == ("SNAPSHOT", 10, None)
    assert levels(snap["bids"]) == [
        ("45283.5", "0.10000000"),
        ("45283.4", "1.54582015"),
        ("45282.1", "0.10000000"),
    ]
    assert levels(delta["bids"]) == [("45283.4", "0.00000000")]
    assert levels(delta["asks"]) == [("45285.2", "0.00500000")]
    assert delta["exchange_ts_ns"] == 1696613755440295000
    (q,) = total["md.quotes"]
    assert (q["bid_price"], q["ask_size"], q["exchange_ts_ns"]) == (
        Decimal("45283.5"),
        Decimal("0.00500000"),
        None,
    )
    # frame 2 waits for the snapshot of frame 4 (GAP, RESYNC); frame 7: wrong checksum ->
    # GAP from the last good update (frame 5); frame 8: snapshot
    waiting, synced, gap, resync = total["md.coverage"]
    assert (waiting["event"], waiting["reason"], waiting["from_ns"]) == (
        "GAP",
        "waiting_for_snapshot",
        T0 + 2 * MS,
    )
    assert (synced["event"], synced["from_ns"], synced["to_ns"]) == (
        "RESYNC",
        T0 + 2 * MS,
        T0 + 4 * MS,
    )
    assert (gap["event"], gap["reason"], gap["from_ns"]) == ("GAP", "checksum", T0 + 5 * MS)
    assert (resync["event"], resync["to_ns"]) == ("RESYNC", T0 + 8 * MS)
    assert counts(per_frame[7])["md.book"] == 0
    assert levels(resnap["asks"]) == [("45290.0", "1.00000000"), ("45291.5", "0.25000000")]
    assert [d["error_type"] for d in total["dlq.normalize"]] == ["DecodeError"]


def test_coinbase_counts_and_values() -> None:
    total, per_frame = run("coinbase")
    assert counts(total) == {
        "md.trades": 2,
        "md.book": 3,
        "md.quotes": 1,
        "md.coverage": 2,
        "dlq.normalize": 1,
    }
    assert total.duplicates == 2
    t = total["md.trades"]
    assert [(r["instrument"], r["trade_id"], r["price"], r["size"], r["side"]) for r in t] == [
        # Coinbase sends the maker's side ("SELL", "BUY"); the taker side is published
        ("ETH-USD-SPOT", "000000000", Decimal("1260.00"), Decimal("0.00000812"), "BUY"),
        ("ETH-USD-SPOT", "000000001", Decimal("1260.01"), Decimal("0.3"), "SELL"),
    ]
    assert t[0]["exchange_ts_ns"] == 1565815347201000000
    snap, delta, resnap = total["md.book"]
    assert (snap["kind"], snap["last_sequence"]) == ("SNAPSHOT", 1)
    assert snap["exchange_ts_ns"] == 1675974770714964855  # ns kept
    assert levels(snap["asks"]) == [("21921.75", "1.5"), ("21922.10", "0.25000000")]
    assert (delta["kind"], delta["last_sequence"]) == ("DELTA", 2)
    assert levels(delta["bids"]) == [("21921.3", "0")]
    assert levels(delta["asks"]) == [("21921.76", "0.1")]
    (q,) = total["md.quotes"]
    assert (q["bid_price"], q["bid_size"], q["ask_price"], q["ask_size"]) == (
        Decimal("21921.74"),
        Decimal("0.06317902"),
        Decimal("21921.75"),
        Decimal("1.50000000"),
    )
    assert q["exchange_ts_ns"] == 1675974637167359596
    # frame 8: sequence_num 6 after 3 -> GAP (its update is not applied); frame 9 snapshot
    assert counts(per_frame[8])["md.book"] == 0
    gap, resync = total["md.coverage"]
    assert (gap["event"], gap["reason"], gap["from_ns"]) == ("GAP", "sequence_gap", T0 + 6 * MS)
    assert (resync["event"], resync["to_ns"]) == ("RESYNC", T0 + 9 * MS)
    assert levels(resnap["bids"]) == [("21930.00", "1.25")]
    assert [d["error_type"] for d in total["dlq.normalize"]] == ["UnknownInstrument"]
