"""Gemini (market data v2) native mapper over a real capture and documentation-derived frames.

Markets: ``Normalizer(markets=...)`` with ``tests/data/frames/gemini/markets.json`` (ccxt's
parse of the ``/v1/symbols`` response recorded with the capture).

``tests/data/real/gemini/frames.jsonl``: cryptofeed's 2021-06-24 recording, heartbeats and
every frame of ALCXUSD and ANKRUSD. ``tests/data/frames/gemini/frames.jsonl``: an update
before any snapshot, the first ``l2_updates`` (book + 2 trades + an auction event), a buy
and a sell ``trade``, an update with a size-0 delete, heartbeat, an update, the buy trade
again (duplicate), a trade on an unknown symbol, a truncated frame.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tapewire.streams.normalize import Normalizer, NormalizeResult
from tapewire.streams.normalize.mappers import MapError, MarketIndex
from tapewire.streams.normalize.mappers.gemini import GeminiMapper
from tapewire.testing.frames import read_frames
from tests.unit.streams.normalize.mappers.helpers import (
    DATA,
    FRAMES,
    counts,
    coverage,
    levels,
    run_payloads,
)

VENUE = "gemini"
MARKETS = json.loads((FRAMES / VENUE / "markets.json").read_text(encoding="utf-8"))
REAL: Path = DATA / "real" / VENUE / "frames.jsonl"
DOC: Path = FRAMES / VENUE / "frames.jsonl"
T0 = 1_700_000_000_000_000_000
MS = 1_000_000


def _norm() -> Normalizer:
    return Normalizer(clock=lambda: 1, markets={VENUE: MARKETS})


def _run(path: Path) -> NormalizeResult:
    return _norm().process_batch(read_frames(path, VENUE))


def test_real_capture_counts_and_values() -> None:
    kinds: dict[str, int] = {}
    for frame in read_frames(REAL, VENUE):
        message = json.loads(frame["payload"])
        kind = message["type"] + (" first" if "trades" in message else "")
        kinds[kind] = kinds.get(kind, 0) + 1
    assert kinds == {"l2_updates first": 2, "l2_updates": 127, "heartbeat": 7, "trade": 4}
    out = _run(REAL)
    assert counts(out) == {"md.trades": 104, "md.book": 129}  # 2 x 50 first trades + 4
    first = out["md.trades"][0]
    assert (first["instrument"], first["trade_id"], first["side"]) == (
        "ALCX-USD-SPOT",
        "45465785975",
        "BUY",
    )
    assert (first["price"], first["size"]) == (Decimal("302.53"), Decimal("0.992143"))
    assert first["exchange_ts_ns"] == 1_624_493_651_491_000_000
    assert out["md.trades"][1]["side"] == "SELL"
    live = out["md.trades"][-1]
    assert (live["trade_id"], live["price"], live["exchange_ts_ns"]) == (
        "45465890462",
        Decimal("303.05"),
        1_624_493_694_054_000_000,
    )
    snap = out["md.book"][0]
    assert (snap["instrument"], snap["kind"], len(snap["bids"]), len(snap["asks"])) == (
        "ALCX-USD-SPOT",
        "SNAPSHOT",
        133,
        26,
    )
    assert (levels(snap["bids"])[0], levels(snap["asks"])[0]) == (
        ("302.75", "0.00001"),
        ("303.05", "8.12974"),
    )
    delta = out["md.book"][2]
    assert (delta["kind"], delta["exchange_ts_ns"]) == ("DELTA", None)
    assert levels(delta["bids"]) == [
        ("302.33", "0"),
        ("302.16", "3.296522"),
        ("301.96", "0"),
        ("301.66", "11.538318"),
    ]
    assert levels(delta["asks"])[0] == ("303.39", "3.296031")


def test_doc_frames_counts_and_values() -> None:
    out = _run(DOC)
    assert counts(out) == {
        "md.trades": 4,
        "md.book": 3,
        "md.coverage": 2,
        "dlq.normalize": 2,
    }
    assert out.duplicates == 1
    assert [(t["trade_id"], t["side"], format(t["size"], "f")) for t in out["md.trades"]] == [
        ("122258166738", "BUY", "0.00004473"),
        ("122258141090", "SELL", "0.00704098"),
        ("122258166800", "BUY", "0.04"),
        ("122258166801", "SELL", "1.5"),
    ]
    snap, delete, change = out["md.book"]
    assert levels(snap["bids"]) == [("37000.00", "1.25"), ("36999.50", "0.40000000")]
    assert levels(snap["asks"]) == [("37000.50", "0.75"), ("37001.00", "2.5")]
    assert (levels(delete["bids"]), levels(delete["asks"])) == (
        [("37000.00", "0")],
        [("37000.50", "0.71")],
    )
    assert levels(change["asks"]) == [("37002.00", "1.0")]
    assert coverage(out) == [
        ("GAP", "waiting_for_snapshot", T0, None),
        ("RESYNC", "waiting_for_snapshot", T0, T0 + MS),
    ]


def _l2(*changes: tuple[str, Any, str], first: bool = False) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "l2_updates", "symbol": "BTCUSD"}
    message["changes"] = [list(c) for c in changes]
    if first:
        message |= {"trades": [], "auction_events": []}
    return message


def test_crossed_book_opens_a_gap_and_the_next_snapshot_resyncs() -> None:
    snap = _l2(("buy", "100", "1"), ("sell", "101", "1"), first=True)
    crossing = _l2(("sell", "99.5", "1"))
    res = run_payloads(_norm(), VENUE, [snap, crossing, _l2(("buy", "98", "1")), snap], T0)
    assert [b["kind"] for b in res["md.book"]] == ["SNAPSHOT", "SNAPSHOT"]
    assert coverage(res) == [
        ("GAP", "crossed_book", T0, None),
        ("RESYNC", "crossed_book", T0, T0 + 3),
    ]


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (_l2(("middle", "1", "1")), "side"),
        (_l2(("buy", 1.5, "1")), "changes"),
        ({"type": "l2_updates", "symbol": "BTCUSD", "changes": {}}, "changes"),
        ({"type": "l2_updates", "symbol": 5, "changes": []}, "symbol"),
        (_l2(first=True) | {"trades": {}}, "trades"),
        ({"type": "trade", "symbol": "BTCUSD", "side": "buy", "event_id": "7"}, "event_id"),
        ({"type": "trade", "symbol": "BTCUSD", "side": "hold"}, "side"),
        ({"result": "error", "reason": "NoValidTradingPairs"}, "result"),
        (["a"], "frame"),
    ],
)
def test_bad_input_names_the_field(message: Any, field: str) -> None:
    with pytest.raises(MapError) as err:
        GeminiMapper(MarketIndex(MARKETS)).map(message)
    assert err.value.field == field


def test_heartbeats_map_to_nothing() -> None:
    mapper = GeminiMapper(MarketIndex(MARKETS))
    assert mapper.map({"type": "heartbeat", "timestamp": 1624493666869}) == []
