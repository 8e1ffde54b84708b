"""Hyperliquid frames (documentation-derived, ``tests/data/frames/hyperliquid``) through the
native mapper: exact counts and values for perps (``BTC``) and spot (``PURR/USDC``, ``@107``),
snapshot-only books, ``bbo`` quotes.

Markets: ``Normalizer(markets=...)`` with the unified markets of ``markets.json`` (ccxt loads
Hyperliquid's markets with ``POST /info``, which captured REST frames cannot serve; the file
was produced by ccxt's own ``fetch_swap_markets``/``fetch_spot_markets`` over trimmed
``metaAndAssetCtxs``/``spotMetaAndAssetCtxs`` responses). Every ``l2Book`` frame is a full
snapshot without ids or checksum: there is nothing to gap-check, each frame replaces the book.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tapewire.streams.normalize import Normalizer, NormalizeResult
from tapewire.streams.normalize.mappers import MapError, MarketIndex
from tapewire.streams.normalize.mappers.hyperliquid import HyperliquidMapper
from tapewire.testing.frames import raw_frame, read_frames

DIR = Path(__file__).resolve().parents[4] / "data" / "frames" / "hyperliquid"
MARKETS = json.loads((DIR / "markets.json").read_text(encoding="utf-8"))
PERP, PURR, HYPE = "BTC-USDC-PERP-USDC", "PURR-USDC-SPOT", "HYPE-USDC-SPOT"
T0 = 1_754_000_000_000_000_000
MS = 1_000_000


def frames() -> list[dict[str, Any]]:
    return read_frames(DIR / "frames.jsonl", "hyperliquid")


def run(batch: list[dict[str, Any]]) -> NormalizeResult:
    return Normalizer(clock=lambda: 1, markets={"hyperliquid": MARKETS}).process_batch(batch)


def lv(side: list[dict[str, Decimal]]) -> list[tuple[str, str]]:
    return [(format(x["price"], "f"), format(x["size"], "f")) for x in side]


def test_counts() -> None:
    out = run(frames())
    counts = {t: len(r) for t, r in out.records.items() if r}
    assert counts == {"md.trades": 3, "md.book": 3, "md.quotes": 2, "dlq.normalize": 2}
    assert out.duplicates == 2  # the BTC trades frame again
    assert [d["error_type"] for d in out["dlq.normalize"]] == ["UnknownInstrument", "DecodeError"]


def test_trades_exact() -> None:
    got = [
        (t["instrument"], t["trade_id"], str(t["price"]), str(t["size"]), t["side"],
         t["exchange_ts_ns"], t["receive_ts_ns"])
        for t in run(frames())["md.trades"]
    ]  # fmt: skip
    assert got == [
        (PERP, "293847561029384", "118145.0", "0.00150", "BUY", 1754000000005 * MS, T0 + 3 * MS),
        (PERP, "293847561029385", "118144.0", "0.25000", "SELL", 1754000000006 * MS, T0 + 3 * MS),
        (HYPE, "870123456789012", "44.512", "12.35", "SELL", 1754000000009 * MS, T0 + 4 * MS),
    ]


def test_books_are_snapshots_that_replace_the_book() -> None:
    first, second, purr = run(frames())["md.book"]
    assert [b["kind"] for b in (first, second, purr)] == ["SNAPSHOT"] * 3
    assert (first["instrument"], first["depth"], first["exchange_ts_ns"]) == (
        PERP, 20, 1754000000020 * MS)  # fmt: skip
    assert (first["last_sequence"], first["checksum"]) == (None, None)
    assert lv(first["bids"]) == [
        ("118145.0", "1.23456"), ("118144.0", "0.50000"), ("118140.0", "3.00010")]  # fmt: skip
    assert lv(first["asks"]) == [
        ("118146.0", "0.75000"), ("118147.0", "2.10000"), ("118150.0", "0.00120")]  # fmt: skip
    # the next snapshot drops 118144.0 (bid) and 118150.0 (ask): nothing of the old book stays
    assert lv(second["bids"]) == [("118145.0", "1.03456"), ("118140.0", "3.00010")]
    assert lv(second["asks"]) == [
        ("118145.5", "0.01000"), ("118146.0", "0.75000"), ("118147.0", "2.10000")]  # fmt: skip
    assert second["exchange_ts_ns"] == 1754000000520 * MS
    assert purr["instrument"] == PURR
    assert lv(purr["bids"]) == [("0.18120", "15000"), ("0.18110", "8200")]
    assert lv(purr["asks"]) == [("0.18127", "4300")]


def test_bbo_quotes() -> None:
    btc, purr = run(frames())["md.quotes"]
    assert (btc["instrument"], str(btc["bid_price"]), str(btc["bid_size"])) == (
        PERP, "118145.0", "1.23456")  # fmt: skip
    assert (str(btc["ask_price"]), str(btc["ask_size"])) == ("118146.0", "0.75000")
    assert btc["exchange_ts_ns"] == 1754000000021 * MS
    assert (purr["instrument"], str(purr["bid_price"]), purr["ask_price"], purr["ask_size"]) == (
        PURR, "0.18120", None, None)  # fmt: skip


def test_new_connection_gap_closes_at_its_first_snapshot() -> None:
    book = json.loads(frames()[5]["payload"])
    payload = json.dumps(book).encode()
    again = raw_frame("hyperliquid", payload, received_ns=T0 + 50 * MS, connection_id="c2")
    out = run([*frames()[:6], again])
    cov = [(c["event"], c["reason"], c["from_ns"], c["to_ns"]) for c in out["md.coverage"]]
    assert cov == [
        ("GAP", "disconnect", T0 + 5 * MS, None),
        ("RESYNC", "disconnect", T0 + 5 * MS, T0 + 50 * MS),
    ]
    assert [b["kind"] for b in out["md.book"]] == ["SNAPSHOT", "SNAPSHOT"]


def test_coins_and_bad_fields() -> None:
    mapper = HyperliquidMapper(MarketIndex(MARKETS))
    assert mapper.coins == {
        "BTC": PERP,
        "ETH": "ETH-USDC-PERP-USDC",
        "PURR/USDC": PURR,
        "@107": HYPE,
    }
    assert mapper.decode(b"Websocket connection established.") is None
    assert mapper.map(None) == []
    assert mapper.map({"channel": "pong"}) == []
    assert mapper.map({"channel": "error", "data": "Already subscribed: {...}"}) == []
    with pytest.raises(MapError, match="'error'"):
        mapper.map({"channel": "error", "data": "Invalid subscription"})
    message = json.loads(frames()[3]["payload"])
    message["data"][0]["side"] = "S"
    with pytest.raises(MapError, match="'side'"):
        mapper.map(message)
    message["data"][0]["side"] = "B"
    message["data"][0]["px"] = 118145.0
    with pytest.raises(MapError, match="'px'"):
        mapper.map(message)
    message["data"][0]["px"] = "118145.0"
    message["data"][0]["tid"] = "293847561029384"
    with pytest.raises(MapError, match="'tid'"):
        mapper.map(message)
    bbo = json.loads(frames()[6]["payload"])
    bbo["data"]["bbo"] = [None]
    with pytest.raises(MapError, match="'bbo'"):
        mapper.map(bbo)
    assert HyperliquidMapper.spec.subscribe is not None
    assert HyperliquidMapper.spec.subscribe("book", ["BTC"]) == [
        {"method": "subscribe", "subscription": {"type": "l2Book", "coin": "BTC"}}
    ]
