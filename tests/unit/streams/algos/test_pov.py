"""POV on the real paper venue: pace of the observed volume, duplicates, cancel, end,
restart."""

from __future__ import annotations

from decimal import Decimal

from tapewire.streams.algos import PovParams
from tapewire.streams.oms import OrdStatus, Side
from tests.factories import T0
from tests.factories.algos import (
    Desk,
    S,
    Step,
    algo_request,
    assert_restart_changes_nothing,
    book_step,
    summary,
)
from tests.factories.market import trade

D = Decimal
ASKS = (("100", "10"),)


def pov_steps(params: PovParams) -> list[Step]:
    return [
        book_step(ASKS, T0),
        lambda d: d.submit(algo_request(params, "1", limit_price="101"), T0),
        lambda d: d.trade("100", "9", T0 - 1, tid="old"),  # before the request: not counted
        lambda d: d.trade("100", "1", T0 + 1, tid="t1"),  # target 0.1 < min_slice 0.2
        lambda d: d.trade("100", "1", T0 + 2, tid="t2"),  # target 0.2: child 0.2
        lambda d: d.trade("100", "1", T0 + 2, tid="t2"),  # a duplicate: not counted
        lambda d: d.trade("100", "5", T0 + 3, tid="t3"),  # target 0.7: child 0.5
        lambda d: d.trade("100", "10", T0 + 4, tid="t4"),  # target 1 (capped): child 0.3
        lambda d: d.trade("100", "10", T0 + 5, tid="t5"),  # filled: nothing
    ]


def test_pov_keeps_pace_with_the_observed_volume() -> None:
    desk = assert_restart_changes_nothing(pov_steps(PovParams(rate=D("0.1"), min_slice=D("0.2"))))
    assert summary(desk.sent) == [
        ("al1:c1", "NEW", "LIMIT", "IOC", "BUY", D("0.2"), D(101), None),
        ("al1:c2", "NEW", "LIMIT", "IOC", "BUY", D("0.5"), D(101), None),
        ("al1:c3", "NEW", "LIMIT", "IOC", "BUY", D("0.3"), D(101), None),
    ]
    assert desk.sent_at == [T0 + 2, T0 + 3, T0 + 4]
    algo = desk.engine.algos["al1"]
    assert algo.observed_volume == D(17)  # t1 + t2 + t3 + t4 (t5 came after the fill)
    assert (algo.status, algo.cum_qty) == (OrdStatus.FILLED, D(1))


def test_pov_counts_only_its_venue_and_instrument() -> None:
    desk = Desk()
    desk.book([("90", "5")], ASKS, T0)
    desk.submit(algo_request(PovParams(rate=D("0.5"))), T0)
    assert desk.engine.on_trade(trade("100", "4", ts=T0 + 1, venue="okx")) == []
    assert desk.engine.on_trade(trade("100", "4", ts=T0 + 1, instrument="ETH-USDT-SPOT")) == []
    assert desk.engine.algos["al1"].observed_volume == 0


def test_pov_cancel_stops_it() -> None:
    steps = [
        *pov_steps(PovParams(rate=D("0.1")))[:4],
        lambda d: d.cancel("al1", T0 + 2),
        lambda d: d.trade("100", "5", T0 + 3, tid="t3"),
    ]
    desk = assert_restart_changes_nothing(steps)
    assert [r.quantity for r in desk.sent] == [D("0.1")]
    algo = desk.engine.algos["al1"]
    assert (algo.status, algo.cum_qty, algo.is_done) == (OrdStatus.CANCELED, D("0.1"), True)


def test_pov_cancels_the_leaves_at_its_end() -> None:
    params = PovParams(rate=D("0.1"), end_ns=T0 + S)
    steps = [
        *pov_steps(params)[:4],
        lambda d: d.trade("100", "5", T0 + S, tid="late"),  # at the end: not counted
        lambda d: d.timer(T0 + S),
    ]
    desk = assert_restart_changes_nothing(steps)
    algo = desk.engine.algos["al1"]
    assert (algo.status, algo.cum_qty, algo.observed_volume) == (OrdStatus.CANCELED, D("0.1"), D(1))
    assert algo.legs["main"].children["al1:c1"].quantity == D("0.1")


def test_a_sell_with_a_slippage_cap_sends_a_limit_below_the_bid_on_the_tick() -> None:
    request = algo_request(PovParams(rate=D("0.5")), "1", side=Side.SELL, max_slippage_bps=D(25))
    steps: list[Step] = [
        book_step((("120", "5"),), T0, bids=(("100.01", "0.2"), ("99", "5"))),
        lambda d: d.submit(request, T0),
        lambda d: d.trade("100", "1", T0 + 1, tid="t1"),  # 100.01 x 0.9975 = 99.759975 -> 99.76
    ]
    desk = assert_restart_changes_nothing(steps)
    assert summary(desk.sent) == [
        ("al1:c1", "NEW", "LIMIT", "IOC", "SELL", D("0.5"), D("99.76"), None)
    ]
    assert desk.engine.algos["al1"].cum_qty == D("0.2")  # 99 is past the cap
