"""Paper venue: reduce-only orders never increase the account's position on the venue.

Like Binance USD-M futures: a reduce-only order that cannot reduce is rejected at arrival
(-2022 "ReduceOnly Order is rejected"), one larger than the position is cut to the
position, and a resting one whose remainder would over-close after other fills is cut
(RESTATED) or canceled before it fills.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from tapewire.core.records import Record
from tapewire.streams.execution.paper import PaperVenue
from tests.factories import INST
from tests.factories.market import book, trade
from tests.factories.orders import order_request
from tests.factories.paper import PAPER, encode_all, paper_venue

D = Decimal


def long_two() -> PaperVenue:
    """acct long 2 (market buy walks 101 x 1, 102 x 1); bids 99 x 1, 98 x 2 left."""
    v = paper_venue()
    out = encode_all(v.submit(order_request("open", venue=PAPER, kind="MARKET", qty="2"), 10))
    assert out.events[-1]["status"] == "FILLED"
    assert v.position("acct", INST) == D(2)
    return v


def short_one() -> PaperVenue:
    """acct short 1 (market sell at 99)."""
    v = paper_venue()
    encode_all(
        v.submit(order_request("open", venue=PAPER, side="SELL", kind="MARKET", qty="1"), 10)
    )
    assert v.position("acct", INST) == D(-1)
    return v


@dataclass(frozen=True)
class Row:
    name: str
    setup: Any
    order: Record
    statuses: list[str]
    quantity: str
    text: str | None
    fills: list[tuple[str, str]] = field(default_factory=list)
    position: str = "0"


ROWS = [
    Row(
        "flat: a reduce-only sell is rejected",
        paper_venue,
        order_request("r", venue=PAPER, side="SELL", kind="MARKET", reduce_only=True),
        ["REJECTED"],
        "1",
        "reduce-only SELL 1 rejected: it would increase the position of account 'acct' in "
        "BTC-USDT-SPOT on paper (position 0; a reduce-only SELL needs a long position)",
    ),
    Row(
        "long: a reduce-only buy is rejected",
        long_two,
        order_request("r", venue=PAPER, side="BUY", price="101", reduce_only=True),
        ["REJECTED"],
        "1",
        "reduce-only BUY 1 rejected: it would increase the position of account 'acct' in "
        "BTC-USDT-SPOT on paper (position 2; a reduce-only BUY needs a short position)",
        position="2",
    ),
    Row(
        "long: a reduce-only sell within the position fills as usual",
        long_two,
        order_request("r", venue=PAPER, side="SELL", kind="MARKET", reduce_only=True),
        ["NEW", "FILLED"],
        "1",
        None,
        [("99", "1")],
        "1",
    ),
    Row(
        "long: a reduce-only sell larger than the position is cut to it (Binance)",
        long_two,
        order_request("r", venue=PAPER, side="SELL", kind="MARKET", qty="5", reduce_only=True),
        ["NEW", "PARTIALLY_FILLED", "FILLED"],
        "2",
        "reduce-only quantity 5 -> 2 (position 2)",
        [("99", "1"), ("98", "1")],
    ),
    Row(
        "short: a reduce-only buy larger than the position is cut to it",
        short_one,
        order_request("r", venue=PAPER, side="BUY", kind="MARKET", qty="3", reduce_only=True),
        ["NEW", "FILLED"],
        "1",
        "reduce-only quantity 3 -> 1 (position -1)",
        [("101", "1")],
    ),
    Row(
        "another account's position does not count",
        long_two,
        order_request(
            "r", venue=PAPER, account="other", side="SELL", kind="MARKET", reduce_only=True
        ),
        ["REJECTED"],
        "1",
        "reduce-only SELL 1 rejected: it would increase the position of account 'other' in "
        "BTC-USDT-SPOT on paper (position 0; a reduce-only SELL needs a long position)",
        position="2",
    ),
    Row(
        "reduce_only false: no position check",
        paper_venue,
        order_request("r", venue=PAPER, side="SELL", kind="MARKET", reduce_only=False),
        ["NEW", "FILLED"],
        "1",
        None,
        [("99", "1")],
        "-1",
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_reduce_only_at_arrival(row: Row) -> None:
    v = row.setup()
    out = encode_all(v.submit(row.order, 20))
    assert [e["status"] for e in out.events] == row.statuses
    assert {e["quantity"] for e in out.events} == {D(row.quantity)}
    assert out.events[0]["text"] == row.text
    assert [(f["price"], f["quantity"]) for f in out.fills] == [(D(p), D(q)) for p, q in row.fills]
    assert v.position("acct", INST) == D(row.position)  # acct: the setup's account


def test_resting_reduce_only_is_cut_when_other_fills_shrank_the_position() -> None:
    v = long_two()
    encode_all(
        v.submit(
            order_request("tp", venue=PAPER, side="SELL", price="105", qty="2", reduce_only=True),
            20,
        )
    )
    encode_all(
        v.submit(order_request("manual", venue=PAPER, side="SELL", kind="MARKET", qty="1.5"), 30)
    )
    assert v.position("acct", INST) == D("0.5")
    out = encode_all(v.on_trade(trade("106", "10", ts=40, venue=PAPER)))
    assert [(e["exec_type"], e["status"], e["quantity"]) for e in out.events] == [
        ("RESTATED", "NEW", D("0.5")),
        ("TRADE", "FILLED", D("0.5")),
    ]
    assert out.events[0]["text"] == "reduce-only quantity 2 -> 0.5 (position now 0.5)"
    assert [(f["price"], f["quantity"]) for f in out.fills] == [(D(105), D("0.5"))]
    assert v.position("acct", INST) == 0


def test_resting_reduce_only_is_canceled_when_the_position_is_gone() -> None:
    v = long_two()
    encode_all(
        v.submit(
            order_request("tp", venue=PAPER, side="SELL", price="105", qty="2", reduce_only=True),
            20,
        )
    )
    encode_all(
        v.submit(
            order_request("flat", venue=PAPER, side="SELL", price="98", qty="2", tif="IOC"), 30
        )
    )
    assert v.position("acct", INST) == 0
    out = encode_all(v.on_trade(trade("106", "10", ts=40, venue=PAPER)))
    assert [(e["client_order_id"], e["exec_type"], e["status"]) for e in out.events] == [
        ("tp", "CANCELED", "CANCELED")
    ]
    assert out.events[0]["text"] == "reduce-only: position now 0, nothing to reduce"
    assert out.fills == []
    assert v.position("acct", INST) == 0


def test_triggered_reduce_only_stop_after_the_position_closed_is_canceled() -> None:
    v = long_two()
    stop = order_request(
        "sl", venue=PAPER, side="SELL", kind="STOP", qty="2", stop_price=D(95), reduce_only=True
    )
    assert encode_all(v.submit(stop, 20)).events[-1]["status"] == "NEW"
    encode_all(
        v.submit(order_request("flat", venue=PAPER, side="SELL", kind="MARKET", qty="2"), 30)
    )
    v.on_book(book(PAPER, [("94", "10")], [("96", "10")], ts=35))
    out = encode_all(v.on_trade(trade("94", "1", ts=40, venue=PAPER)))
    assert [(e["exec_type"], e["status"]) for e in out.events] == [
        ("RESTATED", "NEW"),  # triggered
        ("CANCELED", "CANCELED"),
    ]
    assert out.events[-1]["text"].endswith("reduce-only: position now 0, nothing to reduce")
    assert out.fills == []
    assert v.position("acct", INST) == 0


def test_two_reduce_only_orders_never_flip_the_position() -> None:
    v = long_two()
    v.on_book(book(PAPER, [("99", "10")], [("101", "10")], ts=15))
    first = encode_all(
        v.submit(
            order_request("a", venue=PAPER, side="SELL", kind="MARKET", qty="2", reduce_only=True),
            20,
        )
    )
    second = encode_all(
        v.submit(
            order_request("b", venue=PAPER, side="SELL", kind="MARKET", qty="2", reduce_only=True),
            30,
        )
    )
    assert first.events[-1]["status"] == "FILLED"
    assert [e["status"] for e in second.events] == ["REJECTED"]
    assert v.position("acct", INST) == 0
