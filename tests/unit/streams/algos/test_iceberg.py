"""Iceberg on the real paper venue: display size, refresh on fill, randomised size,
cancel, a child ended by the venue, restart."""

from __future__ import annotations

from decimal import Decimal

from tapewire.streams.algos import IcebergParams
from tapewire.streams.execution.paper import PaperConfig, PaperVenue
from tapewire.streams.oms import OrdStatus
from tests.factories import INST, T0
from tests.factories.algos import (
    VENUE,
    Desk,
    Step,
    algo_request,
    assert_restart_changes_nothing,
    book_step,
    summary,
)
from tests.factories.sor import rules

D = Decimal
ASKS = (("101", "10"),)  # above the limit: the children rest


def iceberg_steps(params: IcebergParams) -> list[Step]:
    return [
        book_step(ASKS, T0),
        lambda d: d.submit(algo_request(params, "1", limit_price="100"), T0),
        # sell trades through the limit fill the shown child (maker)
        *(lambda d, k=k: d.trade("99", "0.3", T0 + k, side="SELL", tid=f"t{k}") for k in (1, 2)),
        lambda d: d.trade("99", "0.2", T0 + 3, side="SELL", tid="t3"),  # part of the third
        lambda d: d.trade("99", "1", T0 + 4, side="SELL", tid="t4"),
        lambda d: d.trade("99", "1", T0 + 5, side="SELL", tid="t5"),
    ]


def test_iceberg_shows_the_display_size_and_refreshes_when_it_fills() -> None:
    desk = assert_restart_changes_nothing(iceberg_steps(IcebergParams(display_qty=D("0.3"))))
    assert summary(desk.sent) == [
        (f"al1:c{n}", "NEW", "LIMIT", "GTC", "BUY", D(q), D(100), None)
        for n, q in ((1, "0.3"), (2, "0.3"), (3, "0.3"), (4, "0.1"))
    ]
    assert desk.sent_at == [T0, T0 + 1, T0 + 2, T0 + 4]
    algo = desk.engine.algos["al1"]
    assert (algo.status, algo.cum_qty, algo.primary and algo.primary.avg_price) == (
        OrdStatus.FILLED,
        D(1),
        D(100),
    )
    opened = [c for c in desk.paper.orders.values() if c.is_open]
    assert opened == []


def test_iceberg_size_randomisation_stays_within_its_bounds() -> None:
    params = IcebergParams(display_qty=D("0.1"), size_jitter=D("0.5"), seed=3)
    steps: list[Step] = [
        book_step(ASKS, T0),
        lambda d: d.submit(algo_request(params, "1", limit_price="100"), T0),
        *(
            lambda d, k=k: d.trade("99", "1", T0 + k, side="SELL", tid=f"t{k}")
            for k in range(1, 20)
        ),
    ]
    desk = assert_restart_changes_nothing(steps)
    sizes = [r.quantity for r in desk.sent]
    assert sum(sizes) == 1
    assert len(set(sizes)) > 1
    assert all(D("0.05") <= q <= D("0.15") for q in sizes[:-1])
    assert desk.engine.algos["al1"].status is OrdStatus.FILLED


def test_iceberg_cancel_cancels_the_shown_child_and_shows_no_more() -> None:
    steps = [
        *iceberg_steps(IcebergParams(display_qty=D("0.3")))[:3],
        lambda d: d.cancel("al1", T0 + 2),
        lambda d: d.trade("99", "1", T0 + 3, side="SELL", tid="t3"),
    ]
    desk = assert_restart_changes_nothing(steps)
    assert summary(desk.sent)[-1] == (
        "al1:c2:x",
        "CANCEL",
        "LIMIT",
        "IOC",
        "BUY",
        D("0.3"),
        D(100),
        None,
    )
    assert [r.client_order_id for r in desk.sent] == ["al1:c1", "al1:c2", "al1:c2:x"]
    algo = desk.engine.algos["al1"]
    assert (algo.status, algo.cum_qty, algo.is_done) == (OrdStatus.CANCELED, D("0.3"), True)
    assert desk.paper.orders["al1:c2"].status == "CANCELED"


def test_a_child_the_venue_rejects_stops_the_iceberg() -> None:
    rules_ = {INST: rules(VENUE, min_notional=50)}  # a shown 0.3 at 100 is 30: too small
    desk = Desk(paper=PaperVenue(PaperConfig(VENUE, rules=rules_)))
    desk.book([("90", "5")], ASKS, T0)
    desk.submit(algo_request(IcebergParams(display_qty=D("0.3")), limit_price="100"), T0)
    assert [r.client_order_id for r in desk.sent] == ["al1:c1"]
    algo = desk.engine.algos["al1"]
    assert algo.status is OrdStatus.CANCELED
    assert algo.legs["main"].children["al1:c1"].final_status is OrdStatus.REJECTED
    assert algo.legs["main"].cancel_requested
