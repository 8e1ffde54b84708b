"""The paper venue's market-data and clock paths look at its open orders only, however
many orders it has finished: a long-running trade process does not slow down with its
history. Same results as scanning every order: expiry order, fills through resting orders,
cancel-all, and a replace moving an order to the end."""

from __future__ import annotations

from tests.factories.market import trade
from tests.factories.orders import order_request
from tests.factories.paper import PAPER, encode_all, paper_venue


def test_finished_orders_leave_the_open_index() -> None:
    v = paper_venue()
    for i in range(200):  # IOC buys at the ask: each fills and is final
        v.submit(order_request(f"t{i}", venue=PAPER, price="101", qty="0.001", tif="IOC"), 10 + i)
    v.submit(order_request("rest", venue=PAPER, price="90", tif="GTC"), 1_000)
    assert len(v.orders) == 201
    assert [o.req["client_order_id"] for o in v._open()] == ["rest"]
    assert len(v._working) == 1
    fills = encode_all(v.on_trade(trade("89", "1", ts=2_000, venue=PAPER))).fills
    assert [f["client_order_id"] for f in fills] == ["rest"]
    assert v._open() == []


def test_expiry_and_cancel_all_see_open_orders_in_their_order_after_a_replace() -> None:
    v = paper_venue()
    for cid in ("a", "b", "c"):
        v.submit(order_request(cid, venue=PAPER, price="90", tif="GTD", expire_ts_ns=5_000), 10)
    replace = order_request(
        "a2", venue=PAPER, action="REPLACE", price="91", tif="GTD", expire_ts_ns=5_000,
        orig_client_order_id="a",
    )  # fmt: skip
    assert encode_all(v.submit(replace, 20)).events[-1]["status"] == "NEW"
    expired = encode_all(v.advance(5_000)).events
    assert [(e["client_order_id"], e["status"]) for e in expired] == [
        ("b", "EXPIRED"),
        ("c", "EXPIRED"),
        ("a2", "EXPIRED"),
    ]
    assert v._open() == []
