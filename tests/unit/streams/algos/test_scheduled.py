"""TWAP and VWAP on the real paper venue: schedule, catch-up, cancel, restart."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from tapewire.streams.algos import AlgoKind, LegEvent, TwapParams, VwapParams
from tapewire.streams.execution.latency import LatencyModel
from tapewire.streams.execution.paper import PaperConfig, PaperVenue
from tapewire.streams.oms import OrdStatus
from tapewire.streams.sor import CancelRequested
from tests.factories import T0
from tests.factories.algos import (
    VENUE,
    Desk,
    S,
    Step,
    algo_request,
    assert_restart_changes_nothing,
    book_step,
    summary,
)

D = Decimal
ASKS = (("100", "10"),)


def twap(**changes: object) -> TwapParams:
    fields: dict[str, object] = {"start_ns": T0, "end_ns": T0 + 4 * S, "slices": 4}
    return TwapParams(**(fields | changes))  # type: ignore[arg-type]


def twap_steps(params: TwapParams | VwapParams, limit: str | None = "101") -> list[Step]:
    return [
        book_step(ASKS, T0),
        lambda d: d.submit(algo_request(params, "1", limit_price=limit), T0),
        *(lambda d, k=k: d.timer(T0 + k * S // 2) for k in range(1, 10)),
    ]


def test_twap_sends_equal_ioc_slices_at_the_slice_times_and_fills() -> None:
    desk = assert_restart_changes_nothing(twap_steps(twap()))
    assert summary(desk.sent) == [
        (f"al1:c{n}", "NEW", "LIMIT", "IOC", "BUY", D("0.25"), D(101), None) for n in (1, 2, 3, 4)
    ]
    assert desk.sent_at == [T0, T0 + S, T0 + 2 * S, T0 + 3 * S]
    assert all(r.tags["algo.kind"] == "TWAP" and r.requested_by == "algo" for r in desk.sent)
    assert [r.tags["algo.slice"] for r in desk.sent] == ["0", "1", "2", "3"]
    algo = desk.engine.algos["al1"]
    assert (algo.status, algo.cum_qty, algo.primary and algo.primary.avg_price) == (
        OrdStatus.FILLED,
        D(1),
        D(100),
    )
    assert algo.is_done
    assert desk.engine.next_timer_ns() is None
    # each slice's final OrderEvent comes before its Fill: no cancel of a filled remainder
    assert not [
        e for e in desk.journal if isinstance(e, LegEvent) and e.event.__class__ is CancelRequested
    ]


def test_twap_without_a_limit_sends_market_slices() -> None:
    desk = assert_restart_changes_nothing(twap_steps(twap(slices=2), limit=None))
    assert [(r.order_type.value, r.limit_price, r.quantity) for r in desk.sent] == [
        ("MARKET", None, D("0.5")),
        ("MARKET", None, D("0.5")),
    ]


def test_twap_catches_up_what_an_ioc_slice_did_not_fill_and_cancels_the_rest_at_the_end() -> None:
    steps: list[Step] = [
        book_step((("100", "0.1"),), T0),
        lambda d: d.submit(algo_request(twap(), "1", limit_price="101"), T0),
        book_step((("100", "0.3"),), T0 + S - 1),
        lambda d: d.timer(T0 + S),  # target 0.5, held 0.1: sends 0.4, fills 0.3
        lambda d: d.timer(T0 + 2 * S),  # 0.75 - 0.4: sends 0.35 on an emptied book
        book_step((("100", "0.2"),), T0 + 3 * S - 1),
        lambda d: d.timer(T0 + 3 * S),  # last slice: 1 - 0.4 = 0.6, fills 0.2
        lambda d: d.timer(T0 + 9 * S),
    ]
    desk = assert_restart_changes_nothing(steps)
    assert [r.quantity for r in desk.sent] == [D("0.25"), D("0.4"), D("0.35"), D("0.6")]
    algo = desk.engine.algos["al1"]
    main = algo.legs["main"]
    assert (algo.status, algo.cum_qty, main.leaves_qty) == (OrdStatus.CANCELED, D("0.6"), D(0))
    assert algo.is_done


def test_twap_randomisation_stays_in_its_bounds_and_is_the_same_for_the_same_seed() -> None:
    params = twap(slices=8, end_ns=T0 + 8 * S, time_jitter=D("0.5"), size_jitter=D("0.2"), seed=7)
    steps = [
        book_step(ASKS, T0),
        lambda d: d.submit(algo_request(params, "1", limit_price="101"), T0),
        *(lambda d, k=k: d.timer(T0 + k * S // 4) for k in range(1, 40)),
    ]
    desk = assert_restart_changes_nothing(steps)
    sizes = [r.quantity for r in desk.sent]
    assert sum(sizes) == 1
    assert len(sizes) == 8
    assert len(set(sizes)) > 1  # randomised
    for size in sizes[:-1]:  # 1/8 * (1 +- 0.2) / (sum of jittered weights), on the lot
        assert D("0.08") <= size <= D("0.18")
    slice_of = {
        int(r.tags["algo.slice"]): at for r, at in zip(desk.sent, desk.sent_at, strict=True)
    }
    for k, at in slice_of.items():  # sent at the first timer after start + k s + [0, 0.5 s)
        assert T0 + k * S <= at < T0 + k * S + S // 2 + S // 4
    other = Desk()
    other.book([("90", "5")], ASKS, T0)
    other.submit(algo_request(msgspec.structs.replace(params, seed=8), "1", limit_price="101"), T0)
    for k in range(1, 40):
        other.timer(T0 + k * S // 4)
    assert [r.quantity for r in other.sent] != sizes


VWAP4 = VwapParams(start_ns=T0, end_ns=T0 + 4 * S, profile=(D(1), D(1), D(1), D(1)))


@pytest.mark.parametrize("params", [twap(), VWAP4], ids=["TWAP", "VWAP"])
def test_cancel_stops_the_schedule(params: TwapParams | VwapParams) -> None:
    steps: list[Step] = [
        *twap_steps(params)[:4],  # two slices sent
        lambda d: d.cancel("al1", T0 + S + 1),
        lambda d: d.timer(T0 + 5 * S),
    ]
    desk = assert_restart_changes_nothing(steps)
    assert [r.quantity for r in desk.sent] == [D("0.25"), D("0.25")]
    algo = desk.engine.algos["al1"]
    assert (algo.status, algo.cum_qty, algo.canceled, algo.is_done) == (
        OrdStatus.CANCELED,
        D("0.5"),
        True,
        True,
    )
    assert desk.engine.next_timer_ns() is None


def test_cancel_with_a_slice_in_flight_cancels_it() -> None:
    desk = Desk(paper=PaperVenue(PaperConfig(VENUE, latency=LatencyModel(ack_ns=S // 2))))
    desk.book([("90", "5")], ASKS, T0)
    desk.submit(algo_request(twap(), "1", limit_price="101"), T0)
    desk.cancel("al1", T0 + 1)  # the slice reaches the venue at T0 + 0.5 s, its cancel after
    assert [(r.client_order_id, r.action.value) for r in desk.sent] == [
        ("al1:c1", "NEW"),
        ("al1:c1:x", "CANCEL"),
    ]
    assert desk.engine.algos["al1"].status is OrdStatus.PENDING_CANCEL
    desk.timer(T0 + S)
    algo = desk.engine.algos["al1"]
    assert (algo.status, algo.cum_qty, len(desk.sent)) == (OrdStatus.CANCELED, D("0.25"), 2)


def test_vwap_sizes_slices_by_the_profile() -> None:
    params = VwapParams(start_ns=T0, end_ns=T0 + 3 * S, profile=(D("0.5"), D("0.2"), D("0.3")))
    steps = [
        book_step(ASKS, T0),
        lambda d: d.submit(algo_request(params, "2", limit_price="101"), T0),
        *(lambda d, k=k: d.timer(T0 + k * S) for k in range(1, 4)),
    ]
    desk = assert_restart_changes_nothing(steps)
    assert [r.quantity for r in desk.sent] == [D(1), D("0.4"), D("0.6")]
    assert desk.sent_at == [T0, T0 + S, T0 + 2 * S]
    algo = desk.engine.algos["al1"]
    assert (algo.kind, algo.status, algo.cum_qty) == (AlgoKind.VWAP, OrdStatus.FILLED, D(2))


def test_a_late_timer_sends_one_child_for_every_slice_due() -> None:
    desk = Desk()
    desk.book([("90", "5")], ASKS, T0)
    desk.submit(algo_request(twap(start_ns=T0 + S), "1", limit_price="101"), T0)
    assert desk.sent == []
    assert desk.engine.next_timer_ns() == T0 + S
    desk.timer(T0 + 3 * S)  # slices 0, 1, 2 due at once
    assert [r.quantity for r in desk.sent] == [D("0.75")]
    assert desk.engine.algos["al1"].slices_due == 3


def test_a_slippage_cap_prices_each_slice_off_the_touch_within_the_limit() -> None:
    request = algo_request(twap(), "1", limit_price="101.5", max_slippage_bps=D(60))
    steps: list[Step] = [
        book_step((("100", "0.1"), ("100.5", "1"), ("102", "5")), T0),
        lambda d: d.submit(request, T0),  # touch 100: limit 100.60, takes 0.1 + 0.15
        book_step((("101", "2"),), T0 + S - 1),
        lambda d: d.timer(T0 + S),  # touch 101: 101.606 -> 101.60, the limit 101.5 is lower
        lambda d: d.timer(T0 + 2 * S),
        book_step((), T0 + 3 * S - 1),  # no ask: the last slice waits for none
        lambda d: d.timer(T0 + 3 * S),
    ]
    desk = assert_restart_changes_nothing(steps)
    assert summary(desk.sent) == [
        ("al1:c1", "NEW", "LIMIT", "IOC", "BUY", D("0.25"), D("100.6"), None),
        ("al1:c2", "NEW", "LIMIT", "IOC", "BUY", D("0.25"), D("101.5"), None),
        ("al1:c3", "NEW", "LIMIT", "IOC", "BUY", D("0.25"), D("101.5"), None),
    ]
    algo = desk.engine.algos["al1"]
    assert (algo.status, algo.cum_qty, algo.slices_due) == (OrdStatus.CANCELED, D("0.75"), 4)
    assert algo.primary is not None
    # (0.1 x 100 + 0.15 x 100.5 + 0.5 x 101) / 0.75 = 75.575 / 0.75
    assert algo.primary.avg_price == D("100.766666666666666667")
