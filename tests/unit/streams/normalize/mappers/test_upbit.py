"""Upbit spot frames (documentation-derived, ``tests/data/frames/upbit``) through the native
mapper: exact counts and values, JSON numbers kept as wire text, snapshot-only books and the
quote of each book frame's top unit.

Markets: ``Normalizer(markets=...)`` with the unified markets of ``markets.json`` (produced by
ccxt's own ``fetch_markets`` over a trimmed ``GET /v1/market/all`` body; REST market loading
for venues without market paths is being reworked). Every ``orderbook`` frame is a full
top-of-book snapshot without ids or checksum: nothing to gap-check, each frame replaces it.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tapewire.streams.normalize import Normalizer, NormalizeResult
from tapewire.streams.normalize.mappers import MapError, MarketIndex
from tapewire.streams.normalize.mappers.upbit import UpbitMapper
from tapewire.testing.frames import read_frames

DIR = Path(__file__).resolve().parents[4] / "data" / "frames" / "upbit"
MARKETS = json.loads((DIR / "markets.json").read_text(encoding="utf-8"))
BTC, ETH = "BTC-KRW-SPOT", "ETH-BTC-SPOT"
T0 = 1_746_601_500_000_000_000
MS = 1_000_000
TS = 1746601500000


def frames() -> list[dict[str, Any]]:
    return read_frames(DIR / "frames.jsonl", "upbit")


def run(batch: list[dict[str, Any]]) -> NormalizeResult:
    return Normalizer(clock=lambda: 1, markets={"upbit": MARKETS}).process_batch(batch)


def lv(side: list[dict[str, Decimal]]) -> list[tuple[str, str]]:
    return [(format(x["price"], "f"), format(x["size"], "f")) for x in side]


def test_counts() -> None:
    out = run(frames())
    counts = {t: len(r) for t, r in out.records.items() if r}
    assert counts == {"md.trades": 3, "md.book": 3, "md.quotes": 3, "dlq.normalize": 2}
    assert out.duplicates == 1
    assert [d["error_type"] for d in out["dlq.normalize"]] == ["UnknownInstrument", "DecodeError"]


def test_trades_exact() -> None:
    got = [
        (t["instrument"], t["trade_id"], format(t["price"], "f"), format(t["size"], "f"),
         t["side"], t["exchange_ts_ns"])
        for t in run(frames())["md.trades"]
    ]  # fmt: skip
    assert got == [  # trade_timestamp (the trade), not timestamp (the message)
        (BTC, "17466015000120000", "137002000", "0.00145985", "BUY", (TS + 12) * MS),
        (BTC, "17466015000150001", "137001000.0", "0.25000000", "SELL", (TS + 15) * MS),
        (ETH, "17466015000200000", "0.02161249", "2.12", "SELL", (TS + 20) * MS),
    ]


def test_books_are_snapshots_with_a_quote_each() -> None:
    out = run(frames())
    first, second, eth = out["md.book"]
    kinds = [(b["instrument"], b["kind"], b["depth"], b["last_sequence"]) for b in out["md.book"]]
    assert kinds == [
        (BTC, "SNAPSHOT", 3, None),
        (BTC, "SNAPSHOT", 3, None),
        (ETH, "SNAPSHOT", 2, None),
    ]
    assert first["exchange_ts_ns"] == (TS + 30) * MS
    assert lv(first["bids"]) == [
        ("137001000", "0.03656812"), ("137000000", "1.67"), ("136990000", "1.0")]  # fmt: skip
    assert lv(first["asks"]) == [
        ("137002000", "0.10623869"), ("137003000", "0.415"), ("137010000.0", "1.0")]  # fmt: skip
    # a REALTIME frame is the whole book again: 136990000 and 137010000.0 are gone
    assert lv(second["bids"]) == [
        ("137001000", "0.03156812"), ("137000000", "1.67"), ("136995000", "1.0")]  # fmt: skip
    assert lv(second["asks"]) == [
        ("137002000", "0.00123869"), ("137003000", "0.415"), ("137004000", "1.0")]  # fmt: skip
    assert eth["receive_ts_ns"] == T0 + 7 * MS  # a REALTIME frame as the first one is a snapshot
    assert lv(eth["asks"]) == [("0.02161500", "3.571"), ("0.0216151", "0.529")]
    quotes = [
        (q["instrument"], str(q["bid_price"]), str(q["bid_size"]), str(q["ask_price"]),
         str(q["ask_size"]), q["exchange_ts_ns"])
        for q in out["md.quotes"]
    ]  # fmt: skip
    assert quotes == [
        (BTC, "137001000", "0.03656812", "137002000", "0.10623869", (TS + 30) * MS),
        (BTC, "137001000", "0.03156812", "137002000", "0.00123869", (TS + 130) * MS),
        (ETH, "0.02161249", "22.5303265", "0.02161500", "3.571", (TS + 140) * MS),
    ]
    assert out["md.coverage"] == []


def test_binary_frames_decode_like_text() -> None:
    frame = dict(frames()[1], binary=True)
    out = run([frame])
    assert [t["trade_id"] for t in out["md.trades"]] == ["17466015000120000"]


def test_bad_fields_are_named() -> None:
    mapper = UpbitMapper(MarketIndex(MARKETS))
    assert mapper.map(mapper.decode(b'{"status":"UP"}')) == []
    assert mapper.map(mapper.decode(frames()[5]["payload"])) == []  # ticker: no bid/ask
    message = mapper.decode(frames()[1]["payload"])
    assert message["trade_volume"] == "0.00145985"  # JSON number kept as its text
    message["ask_bid"] = "BUY"
    with pytest.raises(MapError, match="'ask_bid'"):
        mapper.map(message)
    message["ask_bid"] = "BID"
    message["sequential_id"] = 1.5e16
    with pytest.raises(MapError, match="'sequential_id'"):
        mapper.map(message)
    book = mapper.decode(frames()[4]["payload"])
    book["orderbook_units"] = []
    with pytest.raises(MapError, match="'orderbook_units'"):
        mapper.map(book)
    with pytest.raises(MapError, match="'error'"):
        mapper.map({"error": {"name": "INVALID_AUTH", "message": "..."}})
    with pytest.raises(MapError, match="'ty'"):
        mapper.map({"ty": "trade", "cd": "KRW-BTC"})
    assert UpbitMapper.spec.subscribe is not None
    assert UpbitMapper.spec.subscribe("trades", ["KRW-BTC"])[1] == {
        "type": "trade",
        "codes": ["KRW-BTC"],
    }
