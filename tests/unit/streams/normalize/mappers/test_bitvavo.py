"""Bitvavo spot frames (documentation-derived, ``tests/data/frames/bitvavo``) through the
native mapper: exact counts and values, deltas buffered until the ``getBook`` snapshot and
replayed onto it, a stale delta, a ``nonce`` jump (``sequence_gap``) and its resync.

Markets: ``Normalizer(markets=...)`` with the unified markets of ``markets.json`` (produced by
ccxt's own ``fetch_markets`` over a trimmed ``GET /v2/markets`` body; REST market loading
for venues without market paths is being reworked).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tapewire.streams.normalize import Normalizer, NormalizeResult
from tapewire.streams.normalize.mappers import MapError, MarketIndex
from tapewire.streams.normalize.mappers.bitvavo import BitvavoMapper
from tapewire.streams.normalize.normalizer import BookState
from tapewire.testing.frames import read_frames

DIR = Path(__file__).resolve().parents[4] / "data" / "frames" / "bitvavo"
MARKETS = json.loads((DIR / "markets.json").read_text(encoding="utf-8"))
INST = "BTC-EUR-SPOT"
T0 = 1_720_000_000_000_000_000
MS = 1_000_000


def frames() -> list[dict[str, Any]]:
    return read_frames(DIR / "frames.jsonl", "bitvavo")


def run(batch: list[dict[str, Any]]) -> tuple[Normalizer, NormalizeResult]:
    norm = Normalizer(clock=lambda: 1, markets={"bitvavo": MARKETS})
    return norm, norm.process_batch(batch)


def lv(side: list[dict[str, Decimal]]) -> list[tuple[str, str]]:
    return [(format(x["price"], "f"), format(x["size"], "f")) for x in side]


def test_counts() -> None:
    norm, out = run(frames())
    counts = {t: len(r) for t, r in out.records.items() if r}
    assert counts == {
        "md.trades": 2,
        "md.book": 4,
        "md.quotes": 2,
        "md.coverage": 4,
        "dlq.normalize": 1,
    }
    assert out.duplicates == 1
    assert [d["error_type"] for d in out["dlq.normalize"]] == ["DecodeError"]
    assert norm.book_state("bitvavo", INST) is BookState.LIVE


def test_trades_exact() -> None:
    got = [
        (t["instrument"], t["trade_id"], str(t["price"]), str(t["size"]), t["side"],
         t["exchange_ts_ns"])
        for t in run(frames())[1]["md.trades"]
    ]  # fmt: skip
    assert got == [
        (INST, "57b1159b-6bf5-4cde-9e2c-6bd6a5678baf", "58010", "0.00123", "BUY",
         1720000000050 * MS),
        (INST, "a1c3e5f7-0b2d-4f68-8a9c-1e3f5a7b9d0c", "58000", "0.5", "SELL",
         1720000000051 * MS),
    ]  # fmt: skip


def test_book_buffer_replay_gap_and_resync() -> None:
    out = run(frames())[1]
    snap, delta, resync, after = out["md.book"]
    assert [(b["kind"], b["last_sequence"]) for b in out["md.book"]] == [
        ("SNAPSHOT", 1002), ("DELTA", 1003), ("SNAPSHOT", 1007), ("DELTA", 1008)]  # fmt: skip
    # getBook nonce 1000 + the buffered 1001 (bid 58000 -> 0.5) and 1002 (ask 58015)
    assert lv(snap["bids"]) == [("58000", "0.5"), ("57990", "1.2"), ("57950", "0.05")]
    assert lv(snap["asks"]) == [
        ("58010", "0.3"), ("58015", "0.1"), ("58020", "2"), ("58100", "0.5")]  # fmt: skip
    assert (snap["receive_ts_ns"], snap["exchange_ts_ns"]) == (T0 + 3 * MS, None)
    assert lv(delta["bids"]) == [("57990", "0")]  # a delete
    assert lv(delta["asks"]) == [("58010", "0.25")]
    # the stale 1002 is dropped; 1006 jumps (1004, 1005 lost): gap; 1007 buffered;
    # getBook 1006 + 1007 (ask 58010 deleted) resyncs
    assert lv(resync["bids"]) == [("58005", "1"), ("58000", "0.5"), ("57950", "0.05")]
    assert lv(resync["asks"]) == [("58015", "0.1"), ("58020", "2")]
    assert lv(after["bids"]) == [("58006", "0.01")]
    cov = [(c["event"], c["reason"], c["from_ns"], c["to_ns"]) for c in out["md.coverage"]]
    assert cov == [
        ("GAP", "waiting_for_snapshot", T0 + 1 * MS, None),
        ("RESYNC", "waiting_for_snapshot", T0 + 1 * MS, T0 + 3 * MS),
        ("GAP", "sequence_gap", T0 + 6 * MS, None),
        ("RESYNC", "sequence_gap", T0 + 6 * MS, T0 + 11 * MS),
    ]


def test_snapshot_the_buffer_does_not_continue_is_not_applied() -> None:
    batch = frames()
    late = json.loads(batch[3]["payload"])
    late["response"]["nonce"] = 999  # the buffered deltas start at 1001: 1000 is missing
    batch[3] = dict(batch[3], payload=json.dumps(late).encode())
    norm, out = run(batch[:4])
    assert out["md.book"] == []
    assert norm.book_state("bitvavo", INST) is not BookState.LIVE


def test_quotes() -> None:
    ticker, day = run(frames())[1]["md.quotes"]
    assert (str(ticker["bid_price"]), str(ticker["bid_size"]), str(ticker["ask_price"])) == (
        "58000", "0.5", "58010")  # fmt: skip
    assert (str(ticker["ask_size"]), ticker["exchange_ts_ns"]) == ("0.25", None)
    assert (str(day["bid_price"]), str(day["ask_price"]), day["exchange_ts_ns"]) == (
        "58006", "58015", 1720000000200 * MS)  # fmt: skip


def test_bad_fields_are_named() -> None:
    mapper = BitvavoMapper(MarketIndex(MARKETS))
    assert mapper.map(json.loads(frames()[0]["payload"])) == []  # subscribed
    message = json.loads(frames()[4]["payload"])
    message["side"] = "taker"
    with pytest.raises(MapError, match="'side'"):
        mapper.map(message)
    delta = json.loads(frames()[6]["payload"])
    delta["nonce"] = "1003"
    with pytest.raises(MapError, match="'nonce'"):
        mapper.map(delta)
    with pytest.raises(MapError, match="'error'"):
        mapper.map({"action": "getBook", "errorCode": 205, "error": "Invalid market"})
    assert BitvavoMapper.spec.subscribe is not None
    assert BitvavoMapper.spec.subscribe("book", ["BTC-EUR"])[1] == {
        "action": "getBook",
        "market": "BTC-EUR",
    }
