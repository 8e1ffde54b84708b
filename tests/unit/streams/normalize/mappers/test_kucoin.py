"""KuCoin spot frames (documentation-derived, ``tests/data/frames/kucoin``) through the
native mapper: exact counts and values, REST-snapshot sync, a sequence gap and its resync.

Markets: ``Normalizer(markets=...)`` with the unified markets of ``markets.json`` (ccxt's
``load_markets`` for KuCoin also fetches ``/api/v3/currencies``; REST market loading for
venues without an adapter is being reworked)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tapewire.streams.normalize import Normalizer, NormalizeResult
from tapewire.streams.normalize.mappers import MapError, MarketIndex
from tapewire.streams.normalize.mappers.kucoin import KucoinMapper
from tapewire.testing.frames import read_frames

DIR = Path(__file__).resolve().parents[4] / "data" / "frames" / "kucoin"
MARKETS = json.loads((DIR / "markets.json").read_text(encoding="utf-8"))
INST = "BTC-USDT-SPOT"
T0 = 1_663_747_970_000_000_000
MS = 1_000_000


def frames() -> list[dict[str, Any]]:
    return read_frames(DIR / "frames.jsonl", "kucoin")


def run(batch: list[dict[str, Any]]) -> NormalizeResult:
    return Normalizer(clock=lambda: 1, markets={"kucoin": MARKETS}).process_batch(batch)


def lv(side: list[dict[str, Decimal]]) -> list[tuple[str, str]]:
    return [(format(x["price"], "f"), format(x["size"], "f")) for x in side]


def test_counts_and_values() -> None:
    out = run(frames())
    counts = {t: len(r) for t, r in out.records.items() if r}
    assert counts == {
        "md.trades": 2,
        "md.book": 4,
        "md.quotes": 1,
        "md.coverage": 4,
        "dlq.normalize": 1,
    }
    assert out.duplicates == 1
    buy, sell = out["md.trades"]
    assert (buy["trade_id"], buy["side"], buy["price"], buy["size"], buy["instrument"]) == (
        "10215848119205889", "BUY", Decimal("18906"), Decimal("0.00331"), INST)  # fmt: skip
    assert buy["exchange_ts_ns"] == 1_663_747_970_273_041_250  # ns on the wire
    assert (sell["side"], sell["price"], sell["size"]) == (
        "SELL",
        Decimal("18891.9"),
        Decimal("0.15"),
    )
    (quote,) = out["md.quotes"]
    assert (quote["bid_price"], quote["bid_size"], quote["ask_price"], quote["ask_size"]) == (
        Decimal("18891.9"), Decimal("0.15688"), Decimal("18906"), Decimal("0.00331"))  # fmt: skip
    assert quote["exchange_ts_ns"] == 1_663_747_970_280 * MS
    snap, delete, snap2, delta = out["md.book"]
    # REST snapshot sequence 14103846 + buffered deltas 14103845..47 (bridging) and 48..49
    assert (snap["kind"], snap["depth"], snap["last_sequence"]) == ("SNAPSHOT", 100, 14103849)
    assert snap["exchange_ts_ns"] == 1_663_747_970_290 * MS  # the last replayed delta's
    assert lv(snap["bids"]) == [("18891.9", "0.15688"), ("18890", "1.2"), ("18885", "2.5")]
    assert lv(snap["asks"]) == [
        ("18906", "0.00331"),
        ("18907.3", "0.58751503"),
        ("18910", "0.5"),
        ("18920", "3"),
    ]
    assert (delete["first_sequence"], delete["last_sequence"]) == (14103850, 14103850)
    assert lv(delete["asks"]) == [("18906", "0")]
    assert delete["bids"] == []
    assert (snap2["last_sequence"], lv(snap2["bids"])[0]) == (14103858, ("18893", "0.5"))
    assert (delta["first_sequence"], lv(delta["bids"]), lv(delta["asks"])) == (
        14103859, [("18891.9", "0")], [("18908", "0.07")])  # fmt: skip
    cov = [(c["event"], c["reason"], c["from_ns"], c["to_ns"]) for c in out["md.coverage"]]
    assert cov == [
        ("GAP", "waiting_for_snapshot", T0 + 5 * MS, None),
        ("RESYNC", "waiting_for_snapshot", T0 + 5 * MS, T0 + 7 * MS),
        ("GAP", "sequence_gap", T0 + 8 * MS, None),  # 14103851..54 lost
        ("RESYNC", "sequence_gap", T0 + 8 * MS, T0 + 11 * MS),
    ]
    assert out["dlq.normalize"][0]["error_type"] == "DecodeError"


def test_snapshot_older_than_the_buffered_deltas_is_refused() -> None:
    batch = frames()
    rest = dict(batch[7])
    rest["payload"] = rest["payload"].replace(b'"14103846"', b'"14103840"')
    out = run([*batch[:7], rest])
    assert out["md.book"] == []


def test_bad_fields_are_named() -> None:
    mapper = KucoinMapper(MarketIndex(MARKETS))
    trade = json.loads(frames()[2]["payload"])
    trade["data"]["side"] = "up"
    with pytest.raises(MapError, match="'side'"):
        mapper.map(trade)
    delta = json.loads(frames()[5]["payload"])
    delta["data"]["sequenceStart"] = "x"
    with pytest.raises(MapError, match="'sequenceStart'"):
        mapper.map(delta)
    assert mapper.map({"id": "1", "type": "ack"}) == []
    assert mapper.map_rest("https://api.kucoin.com/api/v3/currencies", {}) == []
