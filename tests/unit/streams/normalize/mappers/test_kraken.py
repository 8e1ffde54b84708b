"""Kraken spot native mapper, websocket v1 and v2, over documentation-derived frames.

Markets load from the captured REST frames at the top of each file (``Assets`` and
``AssetPairs``, as ccxt's ``fetch_markets`` reads them). ``frames.jsonl`` (v2) is checked
in ``test_venues.py`` and the differential test; ``v2.jsonl``: subscription ack (depth 10),
status, heartbeat, a trade snapshot, a 10-level book, an update that pushes the worst bid
out of the window (implicit delete), a delete, ticker, a truncated frame. ``v1.jsonl``
holds the market data of ``frames.jsonl`` again as v1 arrays (plus ``spread``, a
republished level and a bad level), so the two feeds are compared with each other.
"""

from __future__ import annotations

import zlib
from decimal import Decimal
from typing import Any

import pytest

from tapewire.records.market import BookUpdate
from tapewire.streams.normalize.books.sync import BookSync
from tapewire.streams.normalize.mappers import BookEvent, MapError, MarketIndex
from tapewire.streams.normalize.mappers.common import kraken_crc32
from tapewire.streams.normalize.mappers.kraken import KrakenMapper
from tests.unit.streams.normalize.mappers.helpers import FRAMES, counts, coverage, levels, run_file

DIR = FRAMES / "kraken"
T1 = 1_696_613_750_000_000_000
T2 = 1_696_613_760_000_000_000
MS = 1_000_000


def test_v1_counts_and_values() -> None:
    total, per_frame = run_file(DIR / "v1.jsonl", "kraken")
    assert counts(total) == {
        "md.trades": 2,
        "md.book": 4,
        "md.quotes": 2,
        "md.coverage": 2,
        "dlq.normalize": 1,
    }
    assert total.duplicates == 2  # frame 14 repeats frame 4's trades
    assert [counts(per_frame[i]) for i in (2, 3, 7)] == [{}, {}, {}]  # status, ack, heartbeat
    sell, buy = total["md.trades"]
    assert (sell["trade_id"], sell["side"], format(sell["price"], "f")) == (
        "1695628177.708706-0",
        "SELL",
        "45285.20000",
    )
    assert (buy["trade_id"], buy["side"], buy["size"]) == (
        "1695628177.708706-1",
        "BUY",
        Decimal("1.20000000"),
    )
    assert sell["exchange_ts_ns"] == 1695628177708706000
    snap, delta, resnap, republish = total["md.book"]
    assert (snap["kind"], snap["depth"], snap["exchange_ts_ns"]) == ("SNAPSHOT", 10, None)
    assert levels(snap["asks"])[0] == ("45285.20000", "0.00100000")
    assert (delta["kind"], delta["checksum"]) == ("DELTA", 2530510989)
    assert levels(delta["bids"]) == [("45283.40000", "0.00000000")]
    assert levels(delta["asks"]) == [("45285.20000", "0.00500000")]
    assert delta["exchange_ts_ns"] == 1696613755440296000  # the latest level time
    assert levels(resnap["bids"]) == [("45289.90000", "0.01000000"), ("45289.00000", "3.00000000")]
    assert levels(republish["bids"]) == [("45289.00000", "2.50000000")]  # "r" level
    ticker, spread = total["md.quotes"]
    assert (ticker["bid_price"], ticker["bid_size"], ticker["exchange_ts_ns"]) == (
        Decimal("45283.50000"),
        Decimal("0.10000000"),
        None,
    )
    assert (spread["ask_price"], spread["ask_size"]) == (Decimal("45285.2"), Decimal("0.005"))
    assert spread["exchange_ts_ns"] == 1696613755500000000
    # frame 10: a checksum that does not match -> GAP at the last good update (frame 6);
    # frame 11 (snapshot) resyncs
    assert counts(per_frame[10]) == {"md.coverage": 1}
    assert coverage(total) == [
        ("GAP", "checksum", T1 + 14 * MS, None),
        ("RESYNC", "checksum", T1 + 14 * MS, T1 + 19 * MS),
    ]
    (dead,) = total["dlq.normalize"]
    assert dead["error_type"] == "ParseError"
    assert "'a'" in dead["reason"]  # the level without a time


def _decimals(side: list[dict[str, Decimal]]) -> list[tuple[Decimal, Decimal]]:
    return [(lv["price"], lv["size"]) for lv in side]


def test_v1_and_v2_agree_on_the_same_market_data() -> None:
    v1, _ = run_file(DIR / "v1.jsonl", "kraken")
    v2, _ = run_file(DIR / "frames.jsonl", "kraken")
    keys = ("instrument", "price", "size", "side", "exchange_ts_ns")
    assert [[t[k] for k in keys] for t in v1["md.trades"]] == [
        [t[k] for k in keys] for t in v2["md.trades"]
    ]
    for one, two in zip(v1["md.book"][:2], v2["md.book"][:2], strict=True):
        assert (one["kind"], one["instrument"]) == (two["kind"], two["instrument"])
        assert _decimals(one["bids"]) == _decimals(two["bids"])
        assert _decimals(one["asks"]) == _decimals(two["asks"])
    quote_keys = ("bid_price", "bid_size", "ask_price", "ask_size")
    assert [v1["md.quotes"][0][k] for k in quote_keys] == [
        v2["md.quotes"][0][k] for k in quote_keys
    ]


def test_v2_window_ack_and_trade_snapshot() -> None:
    total, per_frame = run_file(DIR / "v2.jsonl", "kraken")
    assert counts(total) == {"md.trades": 2, "md.book": 3, "md.quotes": 1, "dlq.normalize": 1}
    assert [counts(per_frame[i]) for i in (2, 3, 4)] == [{}, {}, {}]
    assert [(t["trade_id"], t["side"], format(t["size"], "f")) for t in total["md.trades"]] == [
        ("4665910", "BUY", "0.01000000"),
        ("4665911", "SELL", "0.25000000"),
    ]
    snap, insert, delete = total["md.book"]
    assert (snap["depth"], len(snap["bids"]), len(snap["asks"])) == (10, 10, 10)
    # a new best bid pushes 45281.0 below the 10-level window: Kraken sends no delete for it
    assert levels(insert["bids"]) == [("45289.95", "0.50000000"), ("45281.0", "0")]
    assert insert["exchange_ts_ns"] == 1696613760250001000
    assert levels(delete["asks"]) == [("45290.0", "0.00000000"), ("45299.5", "0.75000000")]
    assert [d["error_type"] for d in total["dlq.normalize"]] == ["DecodeError"]


def _mapper() -> KrakenMapper:
    market = {
        "id": "XXBTZUSD",
        "symbol": "BTC/USD",
        "base": "BTC",
        "quote": "USD",
        "type": "spot",
        "spot": True,
        "info": {"wsname": "XBT/USD"},
    }
    return KrakenMapper(MarketIndex([market]))


def _v2_book(kind: str, bids: list[tuple[str, str]], **extra: Any) -> dict[str, Any]:
    item = {"symbol": "BTC/USD", "bids": [{"price": p, "qty": q} for p, q in bids]}
    return {"channel": "book", "type": kind, "data": [item | {"asks": [], "checksum": 1} | extra]}


def _book(mapper: KrakenMapper, message: dict[str, Any]) -> BookEvent:
    (event,) = mapper.map(message)
    assert isinstance(event, BookEvent)
    return event


def test_depth_from_the_ack_and_from_the_snapshot_size() -> None:
    mapper = _mapper()
    bids = [(f"{100 - i}", "1") for i in range(12)]
    snap = _book(mapper, _v2_book("snapshot", bids))
    assert snap.depth == 25  # 12 levels: the smallest Kraken depth holding them
    ack = {
        "method": "subscribe",
        "success": True,
        "result": {"channel": "book", "depth": 10, "symbol": "BTC/USD"},
    }
    assert mapper.map(ack) == []
    snap = _book(mapper, _v2_book("snapshot", bids))
    assert snap.depth == 10
    assert snap.bids == bids  # a snapshot is passed as sent
    top = [(Decimal(p), Decimal(q)) for p, q in bids[:10]]
    snap = _book(mapper, _v2_book("snapshot", bids, checksum=kraken_crc32([], top)))
    pushed = [(Decimal("101"), Decimal("1")), *top[:9]]
    delta = _book(mapper, _v2_book("update", [("101", "1")], checksum=kraken_crc32([], pushed)))
    assert delta.bids == [("101", "1")]  # as sent: the book synchroniser adds the deletes
    sync = BookSync(KrakenMapper.spec, clock=lambda: 1)
    books: list[BookUpdate] = []
    for event in (snap, delta):
        sync.apply(event, "c1", 1, False, books, [])
    # the book kept 100..91 of the snapshot (its depth); 101 pushes 91 out
    assert [(lv.price, lv.size) for lv in books[1].bids] == [
        (Decimal("101"), Decimal("1")),
        (Decimal("91"), Decimal("0")),
    ]
    assert len(books[0].bids) == 12  # the snapshot as sent


def test_checksum_is_krakens_crc32_of_the_documented_text() -> None:
    # "0.05005" -> "5005", "0.00000500" -> "500": '.' removed, leading zeros stripped
    asks = [(Decimal("0.05005"), Decimal("0.00000500"))]
    bids = [(Decimal("0.05000"), Decimal("1.00000000"))]
    assert kraken_crc32(asks, bids) == zlib.crc32(b"5005500" + b"5000100000000")
    assert KrakenMapper.spec.checksum is not None
    assert KrakenMapper.spec.checksum(bids, asks) == kraken_crc32(asks, bids)


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"channel": "book", "type": "partial", "data": []}, "type"),
        ({"channel": "trade", "data": {}}, "data"),
        (_v2_book("update", [("100", "1")], checksum="7"), "checksum"),
        ({"channel": "ticker", "data": [{"symbol": "ETH/USD"}]}, "market"),
        ([1, {"a": [["1", "1", "1.5"]], "c": "x"}, "book-10", "XBT/USD"], "c"),
        ([1, {"a": [["1", "1", "noon"]]}, "book-10", "XBT/USD"], "a"),
        ([1, {"as": []}, "book-x", "XBT/USD"], "channelName"),
        ([1, [["1", 2, "1.0", "b"]], "trade", "XBT/USD"], "trade"),
        ([1, "trade"], "frame"),
        ("text", "frame"),
    ],
)
def test_bad_input_names_the_field(message: Any, field: str) -> None:
    with pytest.raises(MapError) as err:
        _mapper().map(message)
    assert err.value.field == field


def test_float_price_is_refused() -> None:
    with pytest.raises(MapError) as err:
        _mapper().map(_v2_book("snapshot", [(1.5, "1")]))  # type: ignore[list-item]
    assert err.value.field == "price"
    decoded = _mapper().decode(b'{"price": 45283.40, "qty": 1}')
    assert decoded == {"price": "45283.40", "qty": 1}
