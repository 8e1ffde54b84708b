"""The engine with several algo orders at once, and a property: whatever the venue
fills, no algo ever has more working or filled than its quantity."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tapewire.streams.algos import (
    IcebergParams,
    OcoLeg,
    OcoParams,
    PovParams,
    TwapParams,
    UnknownAlgoError,
)
from tapewire.streams.oms import OrderAction, OrderType, OrdStatus, Side
from tests.factories import T0
from tests.factories.algos import Desk, S, Step, algo_request, assert_restart_changes_nothing

D = Decimal
TWAP = TwapParams(start_ns=T0, end_ns=T0 + 4 * S, slices=4)
POV = PovParams(rate=D("0.5"))
ICE = IcebergParams(display_qty=D("0.4"))
OCO = OcoParams(
    first=OcoLeg(order_type=OrderType.LIMIT, limit_price=D(130)),
    second=OcoLeg(order_type=OrderType.STOP, stop_price=D(70)),
)


def test_several_algos_share_one_engine_and_restart_together() -> None:
    steps: list[Step] = [
        lambda d: d.book([("90", "10")], [("100", "10")], T0),
        lambda d: d.submit(algo_request(TWAP, "1", algo_id="tw", limit_price="101"), T0),
        lambda d: d.submit(algo_request(POV, "1", algo_id="pv", limit_price="101"), T0),
        lambda d: d.submit(algo_request(ICE, "1", algo_id="ic", limit_price="95"), T0),
        lambda d: d.submit(algo_request(OCO, "2", algo_id="oc", side=Side.SELL), T0),
        lambda d: d.trade("94", "0.4", T0 + 1, side="SELL", tid="t1"),
        lambda d: d.timer(T0 + S),
        lambda d: d.trade("131", "3", T0 + S + 1, tid="t2"),
        lambda d: d.cancel("ic", T0 + S + 2),
        *(lambda d, k=k: d.timer(T0 + k * S) for k in (2, 3, 4)),
    ]
    desk = assert_restart_changes_nothing(steps)
    by_algo: dict[str, list[str]] = {}
    for r in desk.sent:
        by_algo.setdefault(r.tags["algo.parent"], []).append(r.client_order_id)
    assert by_algo == {
        "tw": ["tw:c1", "tw:c2", "tw:c3", "tw:c4"],
        "pv": ["pv:c1", "pv:c2"],
        "ic": ["ic:c1", "ic:c2", "ic:c2:x"],
        "oc": ["oc:a:c1", "oc:b:c1", "oc:b:c1:x"],
    }
    status = {a: (s.status.value, s.cum_qty) for a, s in desk.engine.algos.items()}
    assert status == {
        "tw": ("FILLED", D(1)),
        "pv": ("FILLED", D(1)),  # 0.2 after t1 (0.4 x 0.5), the rest after t2
        "ic": ("CANCELED", D("0.4")),
        "oc": ("FILLED", D(2)),
    }
    assert desk.engine.next_timer_ns() is None


@settings(max_examples=60, deadline=None)
@given(
    liquidity=st.lists(st.decimals(D(0), D("0.7"), places=3), min_size=10, max_size=10),
    slices=st.integers(1, 6),
    jitter=st.decimals(D(0), D("0.9"), places=1),
    cancel_at=st.one_of(st.none(), st.integers(0, 9)),
)
def test_an_algo_never_holds_more_than_its_quantity(
    liquidity: list[Decimal], slices: int, jitter: Decimal, cancel_at: int | None
) -> None:
    params = TwapParams(
        start_ns=T0, end_ns=T0 + 8 * S, slices=slices, size_jitter=jitter, time_jitter=jitter
    )
    desk = Desk()
    desk.book([("90", "5")], [("100", liquidity[0])] if liquidity[0] else [], T0)
    desk.submit(algo_request(params, "1.5", limit_price="101"), T0)
    for k, size in enumerate(liquidity[1:], start=1):
        at = T0 + k * S
        desk.book([("90", "5")], [("100", size)] if size else [], at - 1)
        if k == cancel_at:
            desk.cancel("al1", at - 1)
        desk.timer(at)
        algo = desk.engine.algos["al1"]
        main = algo.legs["main"]
        assert algo.held() <= D("1.5")
        assert main.cum_qty <= D("1.5")
    news = [r for r in desk.sent if r.action is OrderAction.NEW]
    assert all(r.quantity > 0 for r in news)
    algo = desk.engine.algos["al1"]
    assert algo.is_done
    assert algo.status in (OrdStatus.FILLED, OrdStatus.CANCELED)
    if algo.status is OrdStatus.FILLED:
        assert sum(r.quantity for r in news) >= D("1.5")


def test_cancel_of_a_done_or_unknown_algo() -> None:
    desk = Desk()
    desk.book([("90", "5")], [("100", "5")], T0)
    one_slice = TwapParams(start_ns=T0, end_ns=T0 + 1, slices=1)
    desk.submit(algo_request(one_slice, "1", limit_price="101"), T0)
    assert desk.engine.algos["al1"].status is OrdStatus.FILLED
    desk.engine.take_events()
    assert desk.engine.cancel("al1", T0 + 2) == []
    assert desk.engine.take_events() == []
    with pytest.raises(UnknownAlgoError, match="no algo order 'nope'"):
        desk.engine.cancel("nope", T0 + 2)
