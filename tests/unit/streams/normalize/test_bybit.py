"""Bybit v5 spot fixture frames through the Normalizer: exact counts and values, ``u`` gaps,
deltas before the first snapshot, BBO from ``orderbook.1``, one book depth per instrument."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from tapewire.schemas.codec import Codec
from tapewire.streams.normalize import Normalizer, NormalizeResult
from tapewire.streams.normalize.normalizer import BookState
from tapewire.testing.frames import raw_frame, read_frames

FRAMES = Path(__file__).resolve().parents[3] / "data" / "frames" / "bybit" / "frames.jsonl"
T0 = 1_672_515_782_000_000_000
MS = 1_000_000
PROCESS_TS = 42
INST = "BTC-USDT-SPOT"


def frames() -> list[dict[str, Any]]:
    return read_frames(FRAMES, "bybit")


def run() -> tuple[Normalizer, NormalizeResult, list[NormalizeResult]]:
    norm = Normalizer(clock=lambda: PROCESS_TS)
    per_frame = [norm.process(f) for f in frames()]
    total = NormalizeResult()
    for res in per_frame:
        total.extend(res)
    return norm, total, per_frame


def counts(res: NormalizeResult) -> dict[str, int]:
    # md.derivatives only where a frame carries mark/index/funding data
    return {t: len(r) for t, r in res.records.items() if r or t != "md.derivatives"}


def levels(side: list[dict[str, Decimal]]) -> list[tuple[str, str]]:
    return [(format(lv["price"], "f"), format(lv["size"], "f")) for lv in side]


def book_frame(
    kind: str,
    u: int,
    bids: list[list[str]],
    asks: list[list[str]],
    *,
    depth: int = 50,
    i: int = 100,
    connection_id: str = "c1",
) -> dict[str, Any]:
    payload = {
        "topic": f"orderbook.{depth}.BTCUSDT",
        "type": kind,
        "ts": 1672304490000 + i,
        "data": {"s": "BTCUSDT", "b": bids, "a": asks, "u": u, "seq": 8000000000 + i},
        "cts": 1672304489999 + i,
    }
    return raw_frame(
        "bybit",
        json.dumps(payload, separators=(",", ":")).encode(),
        received_ns=T0 + i * MS,
        sequence=i,
        connection_id=connection_id,
    )


def test_counts_and_values() -> None:
    _, total, _ = run()
    assert counts(total) == {
        "md.trades": 3,
        "md.book": 5,
        "md.quotes": 2,
        "md.coverage": 4,  # waiting_for_snapshot GAP + RESYNC (frames 2-3), gap + resync
        "dlq.normalize": 3,
    }
    waiting, synced = (c.to_dict() for c in total["md.coverage"][:2])
    assert (waiting["event"], waiting["reason"], waiting["from_ns"]) == (
        "GAP",
        "waiting_for_snapshot",
        T0 + 2 * MS,
    )
    assert (synced["event"], synced["from_ns"], synced["to_ns"]) == (
        "RESYNC",
        T0 + 2 * MS,
        T0 + 3 * MS,
    )
    assert total.duplicates == 2
    t = total["md.trades"]
    assert [(r["trade_id"], r["price"], r["size"], r["side"], r["exchange_ts_ns"]) for r in t] == [
        (
            "20f43950-d8dd-5b31-9112-a178eb6023af",
            Decimal("16578.50"),
            Decimal("0.001"),
            "BUY",
            1672304486865 * MS,
        ),
        (
            "2290000000031788731",
            Decimal("16578.00"),
            Decimal("0.00000812"),
            "SELL",
            1672304486866 * MS,
        ),
        ("2290000000031788733", Decimal("16579.10"), Decimal("0.250"), "SELL", 1672304487098 * MS),
    ]
    assert {r["instrument"] for r in t} == {INST}
    assert format(t[0]["price"], "f") == "16578.50"  # trailing zero kept
    assert (t[0]["receive_ts_ns"], t[0]["process_ts_ns"]) == (T0 + 1 * MS, PROCESS_TS)
    assert (t[2]["connection_id"], t[2]["frame_sequence"]) == ("c1", 16)

    snap, d1, d2, resnap, d3 = total["md.book"]
    assert (snap["kind"], snap["depth"], snap["last_sequence"]) == ("SNAPSHOT", 50, 18521288)
    assert levels(snap["bids"]) == [("16493.50", "0.006"), ("16493.00", "0.100")]
    assert levels(snap["asks"]) == [("16611.00", "0.029"), ("16612.00", "0.213")]
    assert snap["exchange_ts_ns"] == 1672304484976 * MS  # cts, not ts
    assert (snap["receive_ts_ns"], snap["checksum"], snap["prev_sequence"]) == (
        T0 + 3 * MS,
        None,
        None,
    )
    assert (d1["kind"], d1["depth"], d1["last_sequence"]) == ("DELTA", None, 18521289)
    assert levels(d1["bids"]) == [("16493.50", "0")]
    assert levels(d1["asks"]) == [("16611.00", "0.00000812")]
    # frames 5-6 (orderbook.1) in between do not touch the L2 book
    assert d2["last_sequence"] == 18521290
    assert (levels(d2["bids"]), levels(d2["asks"])) == (
        [("16492.00", "1.500")],
        [("16612.00", "0")],
    )
    assert (resnap["kind"], resnap["depth"], resnap["last_sequence"]) == ("SNAPSHOT", 50, 18521300)
    assert levels(resnap["bids"]) == [("16494.00", "0.050"), ("16493.00", "0.400")]
    assert levels(resnap["asks"]) == [("16610.50", "0.500"), ("16611.00", "0.00000812")]
    assert d3["last_sequence"] == 18521301
    assert (levels(d3["bids"]), levels(d3["asks"])) == (
        [("16494.00", "0")],
        [("16610.00", "0.010")],
    )

    q1, q2 = total["md.quotes"]
    assert (q1["bid_price"], q1["bid_size"], q1["ask_price"], q1["ask_size"]) == (
        Decimal("16493.00"),
        Decimal("0.100"),
        Decimal("16611.00"),
        Decimal("0.00000812"),
    )
    assert (q1["source"], q1["exchange_ts_ns"], q1["receive_ts_ns"]) == (
        "VENUE_BBO",
        1672304484998 * MS,
        T0 + 5 * MS,
    )
    # orderbook.1 delta: new best ask, bid unchanged (top of ccxt's depth-1 book)
    assert (q2["bid_price"], q2["ask_price"], q2["ask_size"]) == (
        Decimal("16493.00"),
        Decimal("16610.50"),
        Decimal("0.500"),
    )

    dlq = total["dlq.normalize"]
    assert [(d["error_type"], d["labels"]["sequence"]) for d in dlq] == [
        ("ParseError", "13"),  # malformed: price "16,579.00" (not a decimal; was ccxt's error)
        ("DecodeError", "14"),  # truncated
        ("ParseError", "15"),  # orderbook.200 for a book that is orderbook.50 (field 'topic')
    ]
    assert dlq[1]["payload"].startswith(b'{"topic":"orderbook.50.BTCUSDT"')
    assert "orderbook.200" in dlq[2]["reason"]


def test_delta_before_first_snapshot_is_dropped() -> None:
    norm = Normalizer(clock=lambda: PROCESS_TS)
    fs = frames()
    norm.process(fs[0])
    res = norm.process(fs[2])  # delta u=18521287, no snapshot yet
    # nothing published; the book says it waits for its snapshot
    assert counts(res) == {**counts(NormalizeResult()), "md.coverage": 1}
    assert res["md.coverage"][0]["reason"] == "waiting_for_snapshot"
    assert norm.book_state("bybit", INST) is BookState.SYNCING
    assert "BTC/USDT" not in norm.venues["bybit"].ex.orderbooks  # ccxt never saw it
    snap = norm.process(fs[3])["md.book"][0]
    assert levels(snap["bids"]) == [("16493.50", "0.006"), ("16493.00", "0.100")]  # no 0.200
    assert norm.book_state("bybit", INST) is BookState.LIVE


def test_gap_resyncs_on_next_snapshot() -> None:
    norm, _, per_frame = run()
    gap = per_frame[8]  # u=18521293 after 18521290
    assert counts(gap)["md.book"] == 0
    assert [r.to_dict() for r in gap["md.coverage"]] == [
        {
            "venue": "bybit",
            "instrument": INST,
            "channel": "book",
            "event": "GAP",
            "from_ns": T0 + 7 * MS,  # last good update
            "to_ns": None,
            "reason": "sequence_gap",
            "process_ts_ns": PROCESS_TS,
        }
    ]
    assert counts(per_frame[9]) == counts(NormalizeResult())  # resyncing
    (resync,) = per_frame[10]["md.coverage"]
    assert (resync["event"], resync["from_ns"], resync["to_ns"], resync["reason"]) == (
        "RESYNC",
        T0 + 7 * MS,
        T0 + 10 * MS,
        "sequence_gap",
    )
    assert [r["kind"] for r in per_frame[10]["md.book"]] == ["SNAPSHOT"]
    assert norm.book_state("bybit", INST) is BookState.LIVE


def test_state_while_resyncing() -> None:
    norm = Normalizer(clock=lambda: PROCESS_TS)
    fs = frames()
    for f in fs[:9]:
        norm.process(f)
    assert norm.book_state("bybit", INST) is BookState.RESYNCING
    assert counts(norm.process(fs[9]))["md.book"] == 0
    assert norm.book_state("bybit", INST) is BookState.RESYNCING


def test_restart_snapshot_u1_resets_a_live_book() -> None:
    norm = Normalizer(clock=lambda: PROCESS_TS)
    norm.process(frames()[0])
    norm.process(book_frame("snapshot", 500, [["100.0", "1"]], [["101.0", "1"]], i=1))
    norm.process(book_frame("delta", 501, [["100.5", "2"]], [], i=2))
    res = norm.process(book_frame("snapshot", 1, [["99.0", "3"]], [["99.5", "3"]], i=3))
    (snap,) = res["md.book"]
    assert (snap["kind"], snap["last_sequence"]) == ("SNAPSHOT", 1)
    assert (levels(snap["bids"]), levels(snap["asks"])) == ([("99.0", "3")], [("99.5", "3")])
    assert res["md.coverage"] == []
    (delta,) = norm.process(book_frame("delta", 2, [], [["99.6", "1"]], i=4))["md.book"]
    assert (delta["kind"], delta["last_sequence"]) == ("DELTA", 2)
    assert norm.book_state("bybit", INST) is BookState.LIVE


def test_repeated_or_backward_u_is_a_gap() -> None:
    norm = Normalizer(clock=lambda: PROCESS_TS)
    norm.process(frames()[0])
    norm.process(book_frame("snapshot", 10, [["100.0", "1"]], [["101.0", "1"]], i=1))
    res = norm.process(book_frame("delta", 10, [["100.0", "2"]], [], i=2))
    assert [c["event"] for c in res["md.coverage"]] == ["GAP"]
    assert res["md.book"] == []
    assert norm.book_state("bybit", INST) is BookState.RESYNCING


def test_new_connection_resyncs() -> None:
    norm = Normalizer(clock=lambda: PROCESS_TS)
    norm.process(frames()[0])
    norm.process(book_frame("snapshot", 10, [["100.0", "1"]], [["101.0", "1"]], i=1))
    res = norm.process(book_frame("delta", 11, [["100.0", "2"]], [], i=2, connection_id="c2"))
    assert [(c["event"], c["reason"]) for c in res["md.coverage"]] == [("GAP", "disconnect")]
    assert res["md.book"] == []
    res = norm.process(book_frame("snapshot", 40, [["100.0", "5"]], [], i=3, connection_id="c2"))
    assert [c["event"] for c in res["md.coverage"]] == ["RESYNC"]
    assert levels(res["md.book"][0]["bids"]) == [("100.0", "5")]


def test_bbo_delta_needs_a_bbo_snapshot_and_continuity() -> None:
    norm = Normalizer(clock=lambda: PROCESS_TS)
    norm.process(frames()[0])
    assert (
        norm.process(book_frame("delta", 7, [["100.0", "1"]], [], depth=1, i=1))["md.quotes"] == []
    )
    norm.process(book_frame("snapshot", 8, [["100.0", "1"]], [["101.0", "2"]], depth=1, i=2))
    assert (
        norm.process(book_frame("delta", 10, [["100.5", "1"]], [], depth=1, i=3))["md.quotes"] == []
    )  # u 9 lost: no quote until the next orderbook.1 snapshot
    (q,) = norm.process(
        book_frame("snapshot", 11, [["100.6", "4"]], [["101.0", "2"]], depth=1, i=4)
    )["md.quotes"]
    assert (q["bid_price"], q["bid_size"], q["ask_price"]) == (
        Decimal("100.6"),
        Decimal("4"),
        Decimal("101.0"),
    )
    # orderbook.1 alone never creates an md.book book
    assert norm.book_state("bybit", INST) is None


def test_outputs_encode_with_the_avro_codec() -> None:
    _, total, _ = run()
    codec = Codec()
    for topic, recs in total.records.items():
        assert recs or topic == "md.derivatives", topic  # Bybit spot has no derivatives
        for rec in recs:
            assert codec.read(topic, codec.encode(topic, rec)) == rec


def test_spot_tickers_frame_yields_no_quote() -> None:
    """Spot ``tickers`` carry last price and 24 h stats but no bid/ask (Bybit v5 docs):
    ccxt resolves a ticker anyway; the adapter publishes no quote with null prices, and
    nothing is dead-lettered."""
    norm = Normalizer(clock=lambda: PROCESS_TS)
    norm.process(frames()[0])  # markets
    payload = {
        "topic": "tickers.BTCUSDT",
        "ts": 1673853746003,
        "type": "snapshot",
        "cs": 2588407389,
        "data": {
            "symbol": "BTCUSDT",
            "lastPrice": "21109.77",
            "highPrice24h": "21426.99",
            "lowPrice24h": "20575",
            "prevPrice24h": "20704.93",
            "volume24h": "6780.866843",
            "turnover24h": "141946527.22907118",
            "price24hPcnt": "0.0196",
            "usdIndexPrice": "21120.2400136",
        },
    }
    frame = raw_frame(
        "bybit", json.dumps(payload).encode(), received_ns=T0 + 900 * MS, sequence=900
    )
    res = norm.process(frame)
    assert counts(res) == counts(NormalizeResult())
