"""Paper venue: book walking, resting fills, TIF, post-only, expiry, stops, latency."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tapewire.streams.execution.latency import LatencyModel
from tapewire.streams.execution.matching import QueueModel
from tests.factories.market import book, trade
from tests.factories.orders import order_request
from tests.factories.paper import PAPER, encode_all, paper_venue

D = Decimal


def test_market_order_walks_book_exact_fills_vwap_fees() -> None:
    out = encode_all(
        paper_venue().submit(order_request("m1", venue=PAPER, kind="MARKET", qty="2.5"), 10)
    )
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
    v = paper_venue()
    out = encode_all(
        v.submit(order_request("m", venue=PAPER, kind="MARKET", qty="10", tif=tif), 10)
    )
    assert [e["status"] for e in out.events] == statuses
    assert out.events[-1]["cum_qty"] == cum
    if tif == "GTC":  # still working: takes new liquidity when the book refills
        more = encode_all(v.on_book(book(PAPER, [], [("104", "5")], ts=20, kind="DELTA")))
        assert more.events[-1]["status"] == "FILLED"
        assert more.fills[0]["price"] == D(104)


def test_fok_fills_all_when_depth_covers() -> None:
    out = encode_all(
        paper_venue().submit(order_request("f", venue=PAPER, price="102", qty="3", tif="FOK"), 10)
    )
    assert out.events[-1]["status"] == "FILLED"
    assert sum(f["quantity"] for f in out.fills) == 3


def test_crossing_limit_takes_then_rests_and_fills_on_trade_through_only() -> None:
    v = paper_venue()
    out = encode_all(v.submit(order_request("l", venue=PAPER, price="101", qty="3"), 10))
    assert out.events[-1]["status"] == "PARTIALLY_FILLED"
    assert out.events[-1]["leaves_qty"] == 2
    # at the limit: conservative, no fill
    assert not v.on_trade(trade("101", "5", ts=20, venue=PAPER)).fills
    through = encode_all(v.on_trade(trade("100.5", "1.5", ts=30, venue=PAPER)))
    assert [(f["price"], f["quantity"], f["liquidity"]) for f in through.fills] == [
        (D(101), D("1.5"), "MAKER")
    ]
    assert through.fills[0]["fee"] == D("-0.01515")  # maker rebate 1 bp
    assert (
        encode_all(v.on_trade(trade("100", "9", ts=40, venue=PAPER))).events[-1]["status"]
        == "FILLED"
    )


@pytest.mark.parametrize(
    ("model", "fills"),
    [(QueueModel.THROUGH, []), (QueueModel.TOUCH, [D(1)]), (QueueModel.QUEUE, [])],
)
def test_queue_models_at_the_limit(model: QueueModel, fills: list[D]) -> None:
    v = paper_venue(queue_model=model)
    v.submit(order_request("b", venue=PAPER, price="99", qty="1"), 10)  # 1 ahead at 99
    assert [f["quantity"] for f in v.on_trade(trade("99", "1", ts=20, venue=PAPER)).fills] == fills
    if model is QueueModel.QUEUE:
        assert [f["quantity"] for f in v.on_trade(trade("99", "1", ts=30, venue=PAPER)).fills] == [
            D(1)
        ]


def test_post_only_rejects_if_crossing_else_rests() -> None:
    v = paper_venue()
    bad = encode_all(v.submit(order_request("p1", venue=PAPER, price="101", post_only=True), 10))
    assert bad.events[-1]["status"] == "REJECTED"
    assert "would cross best 101" in bad.events[-1]["text"]
    ok = encode_all(v.submit(order_request("p2", venue=PAPER, price="100", post_only=True), 10))
    assert [e["status"] for e in ok.events] == ["NEW"]


def test_gtd_and_day_expire_on_clock() -> None:
    v = paper_venue()
    v.submit(order_request("g", venue=PAPER, price="90", tif="GTD", expire_ts_ns=1_000), 10)
    v.submit(order_request("d", venue=PAPER, price="90", tif="DAY"), 10)
    out = encode_all(v.advance(1_000))
    assert [(e["client_order_id"], e["status"]) for e in out.events] == [("g", "EXPIRED")]
    assert not v.on_trade(trade("95", "10", ts=2_000, venue=PAPER)).fills
    day = encode_all(v.advance(86_400 * 10**9))
    assert [(e["client_order_id"], e["status"]) for e in day.events] == [("d", "EXPIRED")]


def test_cancel_replace_cancel_all_native_and_emulated() -> None:
    for native in (True, False):
        v = paper_venue(native_cancel_all=native)
        v.submit(order_request("a", venue=PAPER, price="90"), 10)
        v.submit(order_request("b", venue=PAPER, side="SELL", price="110"), 10)
        rep = encode_all(
            v.submit(
                order_request(
                    "a2",
                    venue=PAPER,
                    price="91",
                    qty="2",
                    action="REPLACE",
                    orig_client_order_id="a",
                ),
                11,
            )
        )
        assert rep.events[0]["exec_type"] == "REPLACED"
        assert rep.events[0]["orig_client_order_id"] == "a"
        bad = v.submit(
            order_request("x", venue=PAPER, action="CANCEL", orig_client_order_id="nope"), 12
        )
        assert bad.events[0]["exec_type"] == "CANCEL_REJECTED"
        out = encode_all(
            v.submit(order_request("all", venue=PAPER, instrument="", action="CANCEL_ALL"), 13)
        )
        assert [(e["client_order_id"], e["status"]) for e in out.events] == [
            ("a2", "CANCELED"),
            ("b", "CANCELED"),
        ]
        assert ("emulated" in out.events[0]["text"]) is not native
        assert v.open_orders() == []


def test_stop_emulated_triggers_exactly_at_crossing_trade() -> None:
    v = paper_venue()
    new = encode_all(
        v.submit(order_request("s", venue=PAPER, kind="STOP", stop_price=D("105")), 10)
    )
    assert new.events[0]["emulated"]
    assert "emulated stop" in new.events[0]["text"]
    assert not v.on_trade(trade("104.99", "1", ts=20, venue=PAPER)).events
    out = encode_all(v.on_trade(trade("105", "1", ts=30, venue=PAPER)))
    assert out.events[0]["exec_type"] == "RESTATED"
    assert "triggered at 105" in out.events[0]["text"]
    assert out.events[-1]["status"] == "FILLED"
    assert out.fills[0]["price"] == D(101)


def test_stop_triggers_only_on_trades_of_its_own_instrument() -> None:
    """A trade of another instrument at any price leaves the stop armed (the watcher used to
    trigger every instrument's stops on every trade)."""
    v = paper_venue()
    v.submit(order_request("s", venue=PAPER, kind="STOP", stop_price=D("105")), 10)
    other = trade("60000", "1", ts=20, venue=PAPER, instrument="ETH-USDT-SPOT")
    assert not v.on_trade(other).events
    assert encode_all(v.on_trade(trade("105", "1", ts=30, venue=PAPER))).fills


def test_trailing_stop_follows_high_water_mark() -> None:
    v = paper_venue()
    v.submit(
        order_request(
            "t",
            venue=PAPER,
            side="SELL",
            kind="TRAILING_STOP",
            trailing_offset=D(2),
            trailing_offset_type="PRICE",
        ),
        10,
    )
    prices = ["100", "103", "101.5", "101.01", "101", "100"]
    fired = [
        p for i, p in enumerate(prices) if v.on_trade(trade(p, "1", ts=20 + i, venue=PAPER)).fills
    ]
    assert fired == ["101"]  # hwm 103 - 2


def test_latency_is_deterministic_and_applied() -> None:
    lat = LatencyModel(seed=7, ack_ns=1_000, ack_jitter_ns=500, fill_ns=200, fill_jitter_ns=100)
    runs = []
    for _ in range(2):
        v = paper_venue(latency=lat)
        pending = v.submit(order_request("m", venue=PAPER, kind="MARKET", qty="1"), 10)
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
    v = paper_venue()
    v.submit(order_request("a", venue=PAPER, price="90"), 10)
    dup = v.submit(order_request("a", venue=PAPER, price="90"), 11).events[0]
    assert dup["text"] == "duplicate client_order_id"
    assert dup["status"] == "NEW"
    bad = encode_all(
        v.submit(order_request("z", venue=PAPER, kind="LIMIT", price=None), 12)
    ).events[0]
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
        v = paper_venue()
        seen: list[Any] = []
        for i, (side, kind, tif, qty, px) in enumerate(os):
            out = encode_all(
                v.submit(
                    order_request(
                        f"o{i}",
                        venue=PAPER,
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
            out = encode_all(v.on_trade(trade(str(px), str(size), ts=100 + j, venue=PAPER)))
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
