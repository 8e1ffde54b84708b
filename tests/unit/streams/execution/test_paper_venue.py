"""Paper venue: book walking, resting fills, TIF, post-only, expiry, stops, latency."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tapewire.schemas.codec import Codec
from tapewire.streams.execution.fees import FeeSchedule
from tapewire.streams.execution.latency import LatencyModel
from tapewire.streams.execution.matching import QueueModel
from tapewire.streams.execution.paper import PaperConfig, PaperVenue, Reports

D = Decimal
INST = "BTC-USDT-SPOT"
CODEC = Codec()


def book(
    bids: list[tuple[str, str]], asks: list[tuple[str, str]], ts: int = 1, kind: str = "SNAPSHOT"
) -> dict[str, Any]:
    lv = [{"price": D(p), "size": D(s)} for p, s in bids]
    la = [{"price": D(p), "size": D(s)} for p, s in asks]
    return {
        "venue": "paper",
        "instrument": INST,
        "kind": kind,
        "bids": lv,
        "asks": la,
        "receive_ts_ns": ts,
        "process_ts_ns": ts,
    }


def trade(price: str, size: str, ts: int) -> dict[str, Any]:
    return {
        "venue": "paper",
        "instrument": INST,
        "trade_id": f"t{ts}",
        "price": D(price),
        "size": D(size),
        "side": "BUY",
        "receive_ts_ns": ts,
        "process_ts_ns": ts,
    }


def req(
    cid: str,
    side: str = "BUY",
    qty: str = "1",
    kind: str = "LIMIT",
    price: str | None = None,
    tif: str = "GTC",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "client_order_id": cid,
        "account": "acct",
        "venue": "paper",
        "instrument": INST,
        "action": "NEW",
        "side": side,
        "order_type": kind,
        "time_in_force": tif,
        "quantity": D(qty),
        "limit_price": D(price) if price else None,
        "requested_by": "test",
        "request_ts_ns": 0,
        **extra,
    }


def venue(**kw: Any) -> PaperVenue:
    v = PaperVenue(PaperConfig(venue="paper", fees=FeeSchedule(D("-1"), D("10")), **kw))
    v.on_book(book([("99", "1"), ("98", "2")], [("101", "1"), ("102", "2"), ("103", "5")]))
    return v


def encode_all(out: Reports) -> Reports:
    for e in out.events:
        CODEC.encode("oms.events", e)
        assert e["cum_qty"] <= e["quantity"]
    for f in out.fills:
        CODEC.encode("oms.fills", f)
    return out


def test_market_order_walks_book_exact_fills_vwap_fees() -> None:
    out = encode_all(venue().submit(req("m1", kind="MARKET", qty="2.5"), 10))
    assert [(f["price"], f["quantity"]) for f in out.fills] == [(D(101), D(1)), (D(102), D("1.5"))]
    assert [f["fee"] for f in out.fills] == [D("0.101"), D("0.153")]
    assert {f["fee_currency"] for f in out.fills} == {"USDT"}
    assert {f["liquidity"] for f in out.fills} == {"TAKER"}
    last = out.events[-1]
    assert (last["status"], last["cum_qty"], last["leaves_qty"]) == ("FILLED", D("2.5"), 0)
    assert last["avg_price"] == D("101.6")  # (101 + 153) / 2.5


@pytest.mark.parametrize(
    ("tif", "statuses", "cum"),
    [
        (
            "IOC",
            ["NEW", "PARTIALLY_FILLED", "PARTIALLY_FILLED", "PARTIALLY_FILLED", "CANCELED"],
            D(8),
        ),
        ("FOK", ["NEW", "CANCELED"], D(0)),
        ("GTC", ["NEW", "PARTIALLY_FILLED", "PARTIALLY_FILLED", "PARTIALLY_FILLED"], D(8)),
    ],
)
def test_market_runs_dry_per_tif(tif: str, statuses: list[str], cum: D) -> None:
    v = venue()
    out = encode_all(v.submit(req("m", kind="MARKET", qty="10", tif=tif), 10))
    assert [e["status"] for e in out.events] == statuses
    assert out.events[-1]["cum_qty"] == cum
    if tif == "GTC":  # still working: takes new liquidity when the book refills
        more = encode_all(v.on_book(book([], [("104", "5")], ts=20, kind="DELTA")))
        assert more.events[-1]["status"] == "FILLED"
        assert more.fills[0]["price"] == D(104)


def test_fok_fills_all_when_depth_covers() -> None:
    out = encode_all(venue().submit(req("f", price="102", qty="3", tif="FOK"), 10))
    assert out.events[-1]["status"] == "FILLED"
    assert sum(f["quantity"] for f in out.fills) == 3


def test_crossing_limit_takes_then_rests_and_fills_on_trade_through_only() -> None:
    v = venue()
    out = encode_all(v.submit(req("l", price="101", qty="3"), 10))
    assert out.events[-1]["status"] == "PARTIALLY_FILLED"
    assert out.events[-1]["leaves_qty"] == 2
    assert not v.on_trade(trade("101", "5", 20)).fills  # at the limit: conservative, no fill
    through = encode_all(v.on_trade(trade("100.5", "1.5", 30)))
    assert [(f["price"], f["quantity"], f["liquidity"]) for f in through.fills] == [
        (D(101), D("1.5"), "MAKER")
    ]
    assert through.fills[0]["fee"] == D("-0.01515")  # maker rebate 1 bp
    assert encode_all(v.on_trade(trade("100", "9", 40))).events[-1]["status"] == "FILLED"


@pytest.mark.parametrize(
    ("model", "fills"),
    [(QueueModel.THROUGH, []), (QueueModel.TOUCH, [D(1)]), (QueueModel.QUEUE, [])],
)
def test_queue_models_at_the_limit(model: QueueModel, fills: list[D]) -> None:
    v = venue(queue_model=model)
    v.submit(req("b", price="99", qty="1"), 10)  # 1 ahead at 99
    assert [f["quantity"] for f in v.on_trade(trade("99", "1", 20)).fills] == fills
    if model is QueueModel.QUEUE:
        assert [f["quantity"] for f in v.on_trade(trade("99", "1", 30)).fills] == [D(1)]


def test_post_only_rejects_if_crossing_else_rests() -> None:
    v = venue()
    bad = encode_all(v.submit(req("p1", price="101", post_only=True), 10))
    assert bad.events[-1]["status"] == "REJECTED"
    assert "would cross best 101" in bad.events[-1]["text"]
    ok = encode_all(v.submit(req("p2", price="100", post_only=True), 10))
    assert [e["status"] for e in ok.events] == ["NEW"]


def test_gtd_and_day_expire_on_clock() -> None:
    v = venue()
    v.submit(req("g", price="90", tif="GTD", expire_ts_ns=1_000), 10)
    v.submit(req("d", price="90", tif="DAY"), 10)
    out = encode_all(v.advance(1_000))
    assert [(e["client_order_id"], e["status"]) for e in out.events] == [("g", "EXPIRED")]
    assert not v.on_trade(trade("95", "10", 2_000)).fills
    day = encode_all(v.advance(86_400 * 10**9))
    assert [(e["client_order_id"], e["status"]) for e in day.events] == [("d", "EXPIRED")]


def test_cancel_replace_cancel_all_native_and_emulated() -> None:
    for native in (True, False):
        v = venue(native_cancel_all=native)
        v.submit(req("a", price="90"), 10)
        v.submit(req("b", side="SELL", price="110"), 10)
        rep = encode_all(
            v.submit(
                {
                    **req("a2", price="91", qty="2"),
                    "action": "REPLACE",
                    "orig_client_order_id": "a",
                },
                11,
            )
        )
        assert rep.events[0]["exec_type"] == "REPLACED"
        assert rep.events[0]["orig_client_order_id"] == "a"
        bad = v.submit({**req("x"), "action": "CANCEL", "orig_client_order_id": "nope"}, 12)
        assert bad.events[0]["exec_type"] == "CANCEL_REJECTED"
        out = encode_all(v.submit({**req("all", instrument=""), "action": "CANCEL_ALL"}, 13))
        assert [(e["client_order_id"], e["status"]) for e in out.events] == [
            ("a2", "CANCELED"),
            ("b", "CANCELED"),
        ]
        assert ("emulated" in out.events[0]["text"]) is not native
        assert v.open_orders() == []


def test_stop_emulated_triggers_exactly_at_crossing_trade() -> None:
    v = venue()
    new = encode_all(v.submit(req("s", kind="STOP", stop_price=D("105")), 10))
    assert new.events[0]["emulated"]
    assert "emulated stop" in new.events[0]["text"]
    assert not v.on_trade(trade("104.99", "1", 20)).events
    out = encode_all(v.on_trade(trade("105", "1", 30)))
    assert out.events[0]["exec_type"] == "RESTATED"
    assert "triggered at 105" in out.events[0]["text"]
    assert out.events[-1]["status"] == "FILLED"
    assert out.fills[0]["price"] == D(101)


def test_trailing_stop_follows_high_water_mark() -> None:
    v = venue()
    v.submit(
        req(
            "t",
            side="SELL",
            kind="TRAILING_STOP",
            trailing_offset=D(2),
            trailing_offset_type="PRICE",
        ),
        10,
    )
    prices = ["100", "103", "101.5", "101.01", "101", "100"]
    fired = [p for i, p in enumerate(prices) if v.on_trade(trade(p, "1", 20 + i)).fills]
    assert fired == ["101"]  # hwm 103 - 2


def test_latency_is_deterministic_and_applied() -> None:
    lat = LatencyModel(seed=7, ack_ns=1_000, ack_jitter_ns=500, fill_ns=200, fill_jitter_ns=100)
    runs = []
    for _ in range(2):
        v = venue(latency=lat)
        pending = v.submit(req("m", kind="MARKET", qty="1"), 10)
        assert pending.events == []  # still in flight
        out = v.advance(10_000)
        runs.append([(e["venue_ts_ns"], e["event_ts_ns"]) for e in out.events])
    assert runs[0] == runs[1]
    (ack, _), (fill_venue, fill_seen) = runs[0]
    assert 1_010 <= ack <= 1_510
    assert fill_venue == ack
    assert 200 <= fill_seen - fill_venue <= 300
    assert LatencyModel(seed=8, ack_jitter_ns=10**9).ack_delay("m:NEW") != lat.ack_delay("m:NEW")


def test_rejects_duplicates_and_bad_requests_with_reasons() -> None:
    v = venue()
    v.submit(req("a", price="90"), 10)
    dup = v.submit(req("a", price="90"), 11).events[0]
    assert dup["text"] == "duplicate client_order_id"
    assert dup["status"] == "NEW"
    bad = encode_all(v.submit(req("z", kind="LIMIT"), 12)).events[0]
    assert bad["status"] == "REJECTED"
    assert "limit_price" in bad["text"]


orders = st.lists(
    st.tuples(
        st.sampled_from(["BUY", "SELL"]),
        st.sampled_from(["MARKET", "LIMIT"]),
        st.sampled_from(["GTC", "IOC", "FOK"]),
        st.decimals(D("0.001"), D(20), places=3),
        st.integers(95, 105),
    ),
    max_size=8,
)
trades = st.lists(
    st.tuples(st.integers(90, 110), st.decimals(D("0.01"), D(5), places=2)), max_size=8
)


@settings(max_examples=60, deadline=None)
@given(orders, trades)
def test_property_cum_never_exceeds_qty_and_replay_is_deterministic(
    os: list[tuple[str, str, str, D, int]], ts: list[tuple[int, D]]
) -> None:
    def run() -> list[Any]:
        v = venue()
        seen: list[Any] = []
        for i, (side, kind, tif, qty, px) in enumerate(os):
            out = encode_all(
                v.submit(
                    req(
                        f"o{i}",
                        side=side,
                        kind=kind,
                        tif=tif,
                        qty=str(qty),
                        price=str(px) if kind == "LIMIT" else None,
                    ),
                    10 + i,
                )
            )
            seen += out.events + out.fills
        for j, (px, size) in enumerate(ts):
            out = encode_all(v.on_trade(trade(str(px), str(size), 100 + j)))
            seen += out.events + out.fills
        filled: dict[str, D] = {}
        for rec in seen:
            if "fill_id" in rec:
                filled[rec["client_order_id"]] = (
                    filled.get(rec["client_order_id"], D(0)) + rec["quantity"]
                )
        for cid, total in filled.items():
            assert total <= v.orders[cid].req["quantity"]
        return seen

    assert run() == run()
