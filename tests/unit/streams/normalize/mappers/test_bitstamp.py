"""Bitstamp spot frames (documentation-derived, ``tests/data/frames/bitstamp``) through the
native mapper: exact counts and values, stale deltas, the crossed-book check.

Markets: ``Normalizer(markets=...)`` with the unified markets of ``markets.json`` (ccxt's
``load_markets`` for Bitstamp also fetches ``/api/v2/currencies/``; REST market loading for
venues without an adapter is being reworked)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tapewire.streams.normalize import Normalizer, NormalizeResult
from tapewire.streams.normalize.mappers import MapError, MarketIndex
from tapewire.streams.normalize.mappers.bitstamp import BitstampMapper
from tapewire.testing.frames import raw_frame, read_frames

DIR = Path(__file__).resolve().parents[4] / "data" / "frames" / "bitstamp"
MARKETS = json.loads((DIR / "markets.json").read_text(encoding="utf-8"))
INST = "BTC-USD-SPOT"
T0 = 1_700_000_000_000_000_000
MS = 1_000_000


def frames() -> list[dict[str, Any]]:
    return read_frames(DIR / "frames.jsonl", "bitstamp")


def run(batch: list[dict[str, Any]]) -> NormalizeResult:
    return Normalizer(clock=lambda: 1, markets={"bitstamp": MARKETS}).process_batch(batch)


def lv(side: list[dict[str, Decimal]]) -> list[tuple[str, str]]:
    return [(format(x["price"], "f"), format(x["size"], "f")) for x in side]


def book(kind: str, micros: int, bids: list[list[str]], asks: list[list[str]], i: int) -> Any:
    channel = ("order_book_" if kind == "snapshot" else "diff_order_book_") + "btcusd"
    data = {"timestamp": str(micros // 10**6), "microtimestamp": str(micros)}
    payload = {"data": {**data, "bids": bids, "asks": asks}, "channel": channel, "event": "data"}
    return raw_frame("bitstamp", json.dumps(payload).encode(), received_ns=T0 + i * MS, sequence=i)


def test_counts_and_values() -> None:
    out = run(frames())
    counts = {t: len(r) for t, r in out.records.items() if r}
    assert counts == {"md.trades": 2, "md.book": 4, "md.coverage": 2, "dlq.normalize": 2}
    assert out.duplicates == 1
    buy, sell = out["md.trades"]
    assert (buy["trade_id"], buy["side"], buy["price"], buy["size"]) == (
        "305113700", "BUY", Decimal("37251"), Decimal("0.00290000"))  # fmt: skip
    assert buy["exchange_ts_ns"] == 1_700_000_000_120_457_000
    assert buy["instrument"] == INST
    assert (sell["trade_id"], sell["side"], sell["price"], sell["size"]) == (
        "305113701", "SELL", Decimal("37249.5"), Decimal("0.15000000"))  # fmt: skip
    snap, d1, d2, snap2 = out["md.book"]
    assert (snap["kind"], snap["depth"], snap["last_sequence"]) == (
        "SNAPSHOT",
        100,
        1700000000150000,
    )
    assert snap["exchange_ts_ns"] == 1_700_000_000_150_000_000
    assert lv(snap["bids"]) == [
        ("37249", "0.50000000"),
        ("37248", "1.20000000"),
        ("37245", "0.03000000"),
    ]
    assert lv(snap["asks"]) == [
        ("37251", "0.25000000"),
        ("37252", "2.00000000"),
        ("37260", "0.00100000"),
    ]
    # frame 7 (microtimestamp before the snapshot's) is stale: dropped
    assert (d1["kind"], d1["last_sequence"], d1["first_sequence"]) == (
        "DELTA",
        1700000000160012,
        None,
    )
    assert lv(d1["bids"]) == [("37249", "0.75000000")]
    assert lv(d1["asks"]) == [("37251", "0.00000000")]  # a delete
    assert lv(d2["bids"]) == [("37250", "0.01000000")]
    assert lv(d2["asks"]) == [("37253.5", "0.42000000")]
    assert snap2["last_sequence"] == 1700000001000250
    gap, resync = out["md.coverage"]
    assert (gap["event"], gap["reason"], resync["event"]) == (
        "GAP",
        "waiting_for_snapshot",
        "RESYNC",
    )
    assert [d["error_type"] for d in out["dlq.normalize"]] == ["UnknownInstrument", "DecodeError"]


def test_crossed_book_opens_a_gap_and_the_next_snapshot_resyncs() -> None:
    batch = [
        *frames()[:7],
        book("delta", 1700000000160000, [["37251.5", "0.2"]], [], 20),  # bid above best ask
        book("delta", 1700000000170000, [["37240", "1"]], [], 21),  # not published
        book("snapshot", 1700000000180000, [["37249", "0.5"]], [["37251", "0.25"]], 22),
    ]
    out = run(batch)
    assert [b["kind"] for b in out["md.book"]] == ["SNAPSHOT", "SNAPSHOT"]
    cov = [(c["event"], c["reason"]) for c in out["md.coverage"]][2:]
    assert cov == [("GAP", "crossed_book"), ("RESYNC", "crossed_book")]
    gap, resync = out["md.coverage"][2:]
    assert gap["from_ns"] == T0 + 6 * MS  # the last good update
    assert resync["to_ns"] == T0 + 22 * MS


def test_bad_trade_side_names_the_field() -> None:
    mapper = BitstampMapper(MarketIndex(MARKETS))
    message = json.loads(frames()[4]["payload"])
    message["data"]["type"] = 2
    with pytest.raises(MapError, match="'type'"):
        mapper.map(message)
    message["data"]["type"] = 0
    message["data"]["price_str"] = 37251.0
    with pytest.raises(MapError, match="'price_str'"):
        mapper.map(message)
    assert mapper.map({"event": "bts:heartbeat", "channel": "", "data": {}}) == []
