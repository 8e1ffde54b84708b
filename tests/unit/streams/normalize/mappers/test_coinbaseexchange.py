"""Coinbase Exchange native mapper over a real capture and documentation-derived frames.

Markets: ``Normalizer(markets=...)`` with ``tests/data/frames/coinbaseexchange/markets.json``
(ccxt's parse of the ``/products`` response recorded with the capture; ccxt's
``load_markets`` also needs ``/currencies``, which was not recorded).

``tests/data/real/coinbaseexchange/frames.jsonl``: cryptofeed's 2021-04-17 recording, every
frame of BAND-GBP and NU-GBP (provenance: ``tests/data/real/README.md``).
``tests/data/frames/coinbaseexchange/frames.jsonl``: subscription ack, an update before any
snapshot, snapshot, ``last_match``, a maker-``sell`` and a maker-``buy`` match, an update
with a size-0 delete, ``ticker``, heartbeat, an update, the first match again (duplicate), a
match on an unknown product, a truncated frame.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tapewire.streams.normalize import Normalizer, NormalizeResult
from tapewire.streams.normalize.mappers import MapError, MarketIndex
from tapewire.streams.normalize.mappers.coinbaseexchange import CoinbaseExchangeMapper
from tapewire.testing.frames import read_frames
from tests.unit.streams.normalize.mappers.helpers import (
    DATA,
    FRAMES,
    counts,
    coverage,
    levels,
    run_payloads,
)

VENUE = "coinbaseexchange"
MARKETS = json.loads((FRAMES / VENUE / "markets.json").read_text(encoding="utf-8"))
REAL: Path = DATA / "real" / VENUE / "frames.jsonl"
DOC: Path = FRAMES / VENUE / "frames.jsonl"
T0 = 1_700_000_000_000_000_000
MS = 1_000_000


def _norm() -> Normalizer:
    return Normalizer(clock=lambda: 1, markets={VENUE: MARKETS})


def _run(path: Path) -> NormalizeResult:
    return _norm().process_batch(read_frames(path, VENUE))


def _raw_types(path: Path) -> dict[str, int]:
    found: dict[str, int] = {}
    for frame in read_frames(path, VENUE):
        kind = json.loads(frame["payload"])["type"]
        found[kind] = found.get(kind, 0) + 1
    return found


def test_real_capture_counts_and_values() -> None:
    assert _raw_types(REAL) == {
        "subscriptions": 3,
        "snapshot": 2,
        "l2update": 547,
        "ticker": 7,
        "last_match": 2,
        "match": 5,
    }
    out = _run(REAL)
    assert counts(out) == {"md.trades": 5, "md.book": 549, "md.quotes": 7}
    assert out.duplicates == 0
    first = out["md.trades"][0]
    trade = (first["instrument"], first["trade_id"], first["side"])
    assert trade == ("NU-GBP-SPOT", "563679", "BUY")
    assert (first["price"], first["size"]) == (Decimal("0.4393"), Decimal("805.131"))
    assert (first["exchange_ts_ns"], first["receive_ts_ns"]) == (
        1_618_677_826_345_172_000,
        1_618_677_826_340_047_800,
    )
    # BAND-GBP: four matches of maker side "buy" at the bid: the aggressor sold
    band = out["md.trades"][1:]
    assert [(t["trade_id"], t["side"], format(t["size"], "f")) for t in band] == [
        ("881614", "SELL", "5"),
        ("881615", "SELL", "5"),
        ("881616", "SELL", "13.2"),
        ("881617", "SELL", "12.8"),
    ]
    snap = out["md.book"][0]
    assert (snap["instrument"], snap["kind"], len(snap["bids"]), len(snap["asks"])) == (
        "BAND-GBP-SPOT",
        "SNAPSHOT",
        152,
        166,
    )
    assert (levels(snap["bids"])[0], levels(snap["asks"])[0]) == (
        ("14.7693", "27.51"),
        ("14.8024", "12.77"),
    )
    assert snap["exchange_ts_ns"] is None  # Coinbase snapshots carry no time
    delta = out["md.book"][2]
    assert (delta["instrument"], delta["kind"], levels(delta["bids"]), delta["asks"]) == (
        "NU-GBP-SPOT",
        "DELTA",
        [("0.4312", "0.000000")],
        [],
    )
    assert delta["exchange_ts_ns"] == 1_618_677_817_080_304_000
    quote = out["md.quotes"][0]
    assert (quote["instrument"], quote["bid_price"], quote["ask_price"]) == (
        "BAND-GBP-SPOT",
        Decimal("14.7550"),
        Decimal("14.8060"),
    )
    assert (quote["bid_size"], quote["ask_size"]) == (None, None)  # 2021 tickers: no sizes
    assert quote["exchange_ts_ns"] == 1_618_677_810_244_075_000


def test_doc_frames_counts_and_values() -> None:
    out = _run(DOC)
    assert counts(out) == {
        "md.trades": 2,
        "md.book": 3,
        "md.quotes": 1,
        "md.coverage": 2,
        "dlq.normalize": 2,
    }
    assert out.duplicates == 1
    maker_sell, maker_buy = out["md.trades"]
    assert (maker_sell["trade_id"], maker_sell["side"], maker_sell["price"]) == (
        "501",
        "BUY",
        Decimal("37000.50"),
    )
    assert maker_sell["exchange_ts_ns"] == 1_700_000_000_158_814_000
    assert (maker_buy["trade_id"], maker_buy["side"], maker_buy["size"]) == (
        "502",
        "SELL",
        Decimal("0.25"),
    )
    snap, delete, last = out["md.book"]
    assert levels(snap["bids"]) == [("37000.00", "1.25"), ("36999.50", "0.40000000")]
    assert levels(snap["asks"]) == [("37000.50", "0.75"), ("37001.00", "2.5")]
    assert levels(delete["bids"]) == [("37000.00", "0")]
    assert levels(delete["asks"]) == [("37000.50", "0.5"), ("37002.00", "1.0")]
    assert delete["exchange_ts_ns"] == 1_700_000_000_265_000_000
    assert levels(last["bids"]) == [("36999.00", "1")]
    (quote,) = out["md.quotes"]
    assert (quote["bid_price"], quote["bid_size"], quote["ask_price"], quote["ask_size"]) == (
        Decimal("36999.50"),
        Decimal("0.40000000"),
        Decimal("37000.50"),
        Decimal("0.5"),
    )
    assert quote["exchange_ts_ns"] == 1_700_000_000_300_001_000
    assert coverage(out) == [
        ("GAP", "waiting_for_snapshot", T0 + 1 * MS, None),
        ("RESYNC", "waiting_for_snapshot", T0 + 1 * MS, T0 + 2 * MS),
    ]
    assert sorted(d["error_type"] for d in out["dlq.normalize"]) == [
        "DecodeError",
        "UnknownInstrument",
    ]


def _book(kind: str, *changes: tuple[str, Any, str]) -> dict[str, Any]:
    if kind == "snapshot":
        bids = [[p, s] for side, p, s in changes if side == "buy"]
        asks = [[p, s] for side, p, s in changes if side == "sell"]
        return {"type": "snapshot", "product_id": "BTC-USD", "bids": bids, "asks": asks}
    return {
        "type": "l2update",
        "product_id": "BTC-USD",
        "changes": [list(c) for c in changes],
        "time": "2023-11-14T22:13:21.100000Z",
    }


def test_crossed_book_opens_a_gap_and_the_next_snapshot_resyncs() -> None:
    snap = _book("snapshot", ("buy", "100.00", "1"), ("sell", "101.00", "1"))
    crossing = _book("l2update", ("buy", "101.50", "2"))
    ignored = _book("l2update", ("buy", "99.00", "2"))
    res = run_payloads(_norm(), VENUE, [snap, crossing, ignored, snap], T0)
    assert [b["kind"] for b in res["md.book"]] == ["SNAPSHOT", "SNAPSHOT"]
    assert coverage(res) == [
        ("GAP", "crossed_book", T0, None),
        ("RESYNC", "crossed_book", T0, T0 + 3),
    ]


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (_book("l2update", ("middle", "1", "1")), "side"),
        (_book("l2update", ("buy", "1", "1")) | {"time": 5}, "time"),
        ({"type": "l2update", "product_id": "BTC-USD", "changes": {}}, "changes"),
        (_book("l2update", ("buy", 1.5, "1")), "changes"),
        ({"type": "snapshot", "product_id": "BTC-USD", "bids": [["1", 2]], "asks": []}, "bids"),
        ({"type": "match", "trade_id": "7", "side": "buy"}, "trade_id"),
        ({"type": "match", "trade_id": 7, "side": "up"}, "side"),
        ({"type": "ticker", "product_id": "BTC-USD", "best_bid": 1.5}, "best_bid"),
        ({"type": "error", "message": "Failed to subscribe"}, "type"),
        ([1, 2], "frame"),
    ],
)
def test_bad_input_names_the_field(message: Any, field: str) -> None:
    with pytest.raises(MapError) as err:
        CoinbaseExchangeMapper(MarketIndex(MARKETS)).map(message)
    assert err.value.field == field


def test_acks_heartbeats_and_last_match_map_to_nothing() -> None:
    mapper = CoinbaseExchangeMapper(MarketIndex(MARKETS))
    for frame in read_frames(DOC, VENUE)[:1] + read_frames(DOC, VENUE)[3:4]:
        assert mapper.map(json.loads(frame["payload"])) == []
    assert mapper.map({"type": "heartbeat", "product_id": "BTC-USD", "sequence": 1}) == []
