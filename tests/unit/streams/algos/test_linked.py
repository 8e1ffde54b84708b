"""OCO and bracket on the real paper venue (its emulated stops): linking, cancel,
restart."""

from __future__ import annotations

from decimal import Decimal

from tapewire.streams.algos import BracketParams, OcoLeg, OcoParams
from tapewire.streams.oms import OrderType, OrdStatus, Side
from tests.factories import T0
from tests.factories.algos import (
    Step,
    algo_request,
    assert_restart_changes_nothing,
    book_step,
    summary,
)

D = Decimal
BOOK = book_step((("120", "10"),), T0, bids=(("80", "10"),))
OCO = OcoParams(
    first=OcoLeg(order_type=OrderType.LIMIT, limit_price=D(110)),
    second=OcoLeg(order_type=OrderType.STOP, stop_price=D(90)),
)


def oco_start() -> list[Step]:
    return [BOOK, lambda d: d.submit(algo_request(OCO, "1", side=Side.SELL), T0)]


def test_oco_sends_both_legs_and_a_part_fill_cancels_the_other() -> None:
    steps = [
        *oco_start(),
        lambda d: d.trade("111", "0.4", T0 + 1, tid="t1"),  # take profit part-fills
        lambda d: d.trade("89", "1", T0 + 2, side="SELL", tid="t2"),  # the stop is gone
        lambda d: d.trade("112", "1", T0 + 3, tid="t3"),  # take profit fills the rest
    ]
    desk = assert_restart_changes_nothing(steps)
    assert summary(desk.sent) == [
        ("al1:a:c1", "NEW", "LIMIT", "GTC", "SELL", D(1), D(110), None),
        ("al1:b:c1", "NEW", "STOP", "GTC", "SELL", D(1), None, D(90)),
        ("al1:b:c1:x", "CANCEL", "LIMIT", "IOC", "SELL", D(1), None, None),
    ]
    assert desk.sent[-1].tags == {"algo.parent": "al1", "algo.kind": "OCO", "algo.leg": "b"}
    algo = desk.engine.algos["al1"]
    assert (algo.status, algo.cum_qty, algo.is_done) == (OrdStatus.FILLED, D(1), True)
    assert algo.legs["b"].status is OrdStatus.CANCELED
    assert desk.paper.orders["al1:b:c1"].status == "CANCELED"


def test_oco_stop_triggering_cancels_the_limit() -> None:
    steps = [*oco_start(), lambda d: d.trade("89", "1", T0 + 1, side="SELL", tid="t1")]
    desk = assert_restart_changes_nothing(steps)
    assert [r.client_order_id for r in desk.sent] == ["al1:a:c1", "al1:b:c1", "al1:a:c1:x"]
    algo = desk.engine.algos["al1"]
    assert (algo.status, algo.cum_qty) == (OrdStatus.FILLED, D(1))
    assert algo.primary is algo.legs["b"]
    assert algo.primary.avg_price == D(80)  # the stop took the bid


def test_oco_cancel_cancels_both_legs() -> None:
    steps = [*oco_start(), lambda d: d.cancel("al1", T0 + 1)]
    desk = assert_restart_changes_nothing(steps)
    assert [r.client_order_id for r in desk.sent][2:] == ["al1:a:c1:x", "al1:b:c1:x"]
    algo = desk.engine.algos["al1"]
    assert (algo.status, algo.cum_qty, algo.is_done) == (OrdStatus.CANCELED, D(0), True)


BRACKET = BracketParams(take_profit_price=D(105), stop_loss_price=D(95))


def bracket_start() -> list[Step]:
    return [
        book_step((("100", "0.6"), ("101", "5")), T0),
        lambda d: d.submit(algo_request(BRACKET, "1", limit_price="100"), T0),  # takes 0.6
    ]


def test_bracket_opens_linked_exits_sized_to_each_entry_fill() -> None:
    steps = [
        *bracket_start(),
        lambda d: d.trade("99", "0.4", T0 + 1, side="SELL", tid="t1"),  # the entry rest fills
        lambda d: d.trade("106", "0.5", T0 + 2, tid="t2"),  # tp1 part-fills: sl1 canceled
        lambda d: d.trade("106", "2", T0 + 3, tid="t3"),  # tp1 rest and tp2 fill: sl2 canceled
    ]
    desk = assert_restart_changes_nothing(steps)
    assert summary(desk.sent) == [
        ("al1:entry:c1", "NEW", "LIMIT", "GTC", "BUY", D(1), D(100), None),
        ("al1:tp1:c1", "NEW", "LIMIT", "GTC", "SELL", D("0.6"), D(105), None),
        ("al1:sl1:c1", "NEW", "STOP", "GTC", "SELL", D("0.6"), None, D(95)),
        ("al1:tp2:c1", "NEW", "LIMIT", "GTC", "SELL", D("0.4"), D(105), None),
        ("al1:sl2:c1", "NEW", "STOP", "GTC", "SELL", D("0.4"), None, D(95)),
        ("al1:sl1:c1:x", "CANCEL", "LIMIT", "IOC", "SELL", D("0.6"), None, None),
        ("al1:sl2:c1:x", "CANCEL", "LIMIT", "IOC", "SELL", D("0.4"), None, None),
    ]
    algo = desk.engine.algos["al1"]
    assert (algo.status, algo.cum_qty, algo.is_done) == (OrdStatus.FILLED, D(1), True)
    assert {leg: s.status.value for leg, s in algo.legs.items()} == {
        "entry": "FILLED",
        "tp1": "FILLED",
        "sl1": "CANCELED",
        "tp2": "FILLED",
        "sl2": "CANCELED",
    }
    assert desk.paper.position("acct", algo.request.instrument) == 0


def test_bracket_stop_loss_with_a_limit_is_a_stop_limit() -> None:
    params = BracketParams(
        take_profit_price=D(105), stop_loss_price=D(95), stop_loss_limit_price=D("94.5")
    )
    steps: list[Step] = [
        book_step((("100", "1"),), T0),
        lambda d: d.submit(algo_request(params, "1", limit_price="100"), T0),
    ]
    desk = assert_restart_changes_nothing(steps)
    assert summary(desk.sent)[-1] == (
        "al1:sl1:c1",
        "NEW",
        "STOP_LIMIT",
        "GTC",
        "SELL",
        D(1),
        D("94.5"),
        D(95),
    )


def test_bracket_cancel_cancels_the_entry_and_the_open_exits() -> None:
    steps = [*bracket_start(), lambda d: d.cancel("al1", T0 + 1)]
    desk = assert_restart_changes_nothing(steps)
    assert [r.client_order_id for r in desk.sent][3:] == [
        "al1:entry:c1:x",
        "al1:sl1:c1:x",
        "al1:tp1:c1:x",
    ]
    algo = desk.engine.algos["al1"]
    assert algo.is_done
    assert {leg: s.status.value for leg, s in algo.legs.items()} == {
        "entry": "CANCELED",
        "tp1": "CANCELED",
        "sl1": "CANCELED",
    }
    assert (algo.status, algo.cum_qty) == (OrdStatus.CANCELED, D("0.6"))
