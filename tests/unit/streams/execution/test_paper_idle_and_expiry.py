"""The paper venue's cheap paths: the expiry index (a heap of expiry times) and market
records of instruments it has no order in (only the clock moves, and the book for an
update). Same results as scanning every open order on every record."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tapewire.records.orders import OrderRequest
from tapewire.streams.execution.latency import LatencyModel
from tests.factories.market import book, trade
from tests.factories.orders import order_request
from tests.factories.paper import PAPER, encode_all, paper_venue

D = Decimal
OTHER = "ETH-USDT-SPOT"


def _gtd(cid: str, expire: int, price: str = "90", **changes: Any) -> OrderRequest:
    return order_request(cid, venue=PAPER, price=price, tif="GTD", expire_ts_ns=expire, **changes)


def test_an_order_expires_at_a_market_record_exactly_at_its_expiry_not_before() -> None:
    v = paper_venue()
    v.submit(_gtd("g", 5_000), 10)
    assert v.on_trade(trade("200", "1", ts=4_999, venue=PAPER)).events == []
    assert v.on_book(book(PAPER, [("99", "1")], [], ts=4_999, kind="DELTA")).events == []
    out = encode_all(v.on_book(book(PAPER, [("99", "2")], [], ts=5_000, kind="DELTA")))
    assert [(e["client_order_id"], e["status"], e["event_ts_ns"]) for e in out.events] == [
        ("g", "EXPIRED", 5_000)
    ]
    assert v.books[book().instrument].size_at("bids", D(99)) == D(2)


def test_a_record_of_another_instrument_still_expires_orders_due() -> None:
    v = paper_venue()
    v.submit(_gtd("g", 5_000), 10)
    out = v.on_trade(trade("1", "1", ts=6_000, venue=PAPER, instrument=OTHER))
    assert [(e["client_order_id"], e["status"], e["event_ts_ns"]) for e in out.events] == [
        ("g", "EXPIRED", 5_000)
    ]
    assert v.now_ns == 6_000


def test_the_index_skips_filled_canceled_and_replaced_expiries() -> None:
    v = paper_venue()
    v.submit(_gtd("filled", 1_000, price="101", qty="1"), 10)  # takes the ask: filled
    v.submit(_gtd("canceled", 2_000), 10)
    v.submit(_gtd("moved", 3_000), 10)
    v.submit(order_request("c", venue=PAPER, action="CANCEL", orig_client_order_id="canceled"), 20)
    later = _gtd("moved2", 9_000, action="REPLACE", orig_client_order_id="moved")
    assert v.submit(later, 30).events[-1]["exec_type"] == "REPLACED"
    v.submit(_gtd("kept", 4_000), 40)
    assert v.advance(3_999).events == []
    expired = v.advance(8_999).events
    assert [(e["client_order_id"], e["event_ts_ns"]) for e in expired] == [("kept", 4_000)]
    assert [e["client_order_id"] for e in v.advance(9_000).events] == ["moved2"]
    assert v.advance(100_000).events == []


def test_orders_of_one_expiry_expire_in_order_and_before_a_request_arriving_then() -> None:
    v = paper_venue(latency=LatencyModel(ack_ns=1_000))
    v.submit(_gtd("a", 5_000), 10)
    v.submit(_gtd("b", 5_000), 20)
    v.advance(2_000)  # both acknowledged
    v.submit(order_request("x", venue=PAPER, action="CANCEL", orig_client_order_id="a"), 4_000)
    out = v.on_trade(trade("200", "1", ts=5_000, venue=PAPER))
    assert [(e["client_order_id"], e["exec_type"]) for e in out.events] == [
        ("a", "EXPIRED"),
        ("b", "EXPIRED"),
        ("a", "CANCEL_REJECTED"),  # the cancel of "a" arrived at its expiry: too late
    ]


def test_the_index_stays_bounded_by_the_open_orders() -> None:
    v = paper_venue()
    for i in range(500):  # GTD buys at the ask: each fills at once, its expiry is stale
        v.submit(_gtd(f"f{i}", 10**12, price="101", qty="0.001"), 10 + i)
    v.submit(_gtd("open", 10**12), 1_000)
    assert len(v._expiries) <= 65
    assert [e["client_order_id"] for e in v.advance(10**12).events] == ["open"]


def test_book_updates_without_orders_are_applied_snapshot_after_deltas_included() -> None:
    v = paper_venue()
    v.submit(order_request("far", venue=PAPER, price="50", instrument=OTHER), 5)
    v.on_book(book(PAPER, [], [("101", "0"), ("100.5", "3")], ts=10, kind="DELTA"))
    v.on_book(book(PAPER, [("99", "0")], [("104", "1")], ts=11, kind="DELTA"))
    snap = v.on_book(book(PAPER, [("97", "4")], [("105", "2")], ts=12, kind="SNAPSHOT"))
    assert snap.events == []
    assert snap.fills == []
    v.on_book(book(PAPER, [("96", "1")], [("105", "1")], ts=13, kind="DELTA"))
    taken = encode_all(v.submit(order_request("m", venue=PAPER, kind="MARKET", qty="2"), 20))
    assert [(f["price"], f["quantity"]) for f in taken.fills] == [(D(105), D(1))]
    inst = book().instrument
    assert v.books[inst].bids == {D(97): D(4), D(96): D(1)}
    assert v.now_ns == 20


def test_a_trade_of_an_instrument_with_a_resting_order_still_fills_it() -> None:
    v = paper_venue()
    v.submit(order_request("far", venue=PAPER, price="50", instrument=OTHER), 5)
    v.submit(order_request("near", venue=PAPER, price="95"), 6)
    assert v.on_trade(trade("96", "1", ts=10, venue=PAPER)).fills == []
    fills = v.on_trade(trade("94", "1", ts=11, venue=PAPER)).fills
    assert [(f["client_order_id"], f["price"]) for f in fills] == [("near", D(95))]
    other = v.on_trade(trade("49", "1", ts=12, venue=PAPER, instrument=OTHER)).fills
    assert [f["client_order_id"] for f in other] == ["far"]
