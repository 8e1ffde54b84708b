"""The parent order: FIX-like status, cum qty, leaves and average price, event-sourced."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tapewire.streams.oms import OrdStatus, Side
from tapewire.streams.sor import (
    CancelRequested,
    ChildDone,
    ChildFilled,
    ChildrenRouted,
    ParentEvent,
    ParentEventError,
    ParentNew,
    ParentOrder,
    RoutedChild,
    child_done,
    child_filled,
    decode_events,
    encode_events,
    rebuild,
)
from tests.factories import INST
from tests.factories.orders import order_event
from tests.factories.trading import fill

D = Decimal
NEW = ParentNew(parent_id="p1", account="acct", instrument=INST, side="BUY", quantity=D(3), ts_ns=1)


def wave(n: int, *children: tuple[str, str, str], ts: int = 2) -> ChildrenRouted:
    return ChildrenRouted(
        parent_id="p1",
        wave=n,
        children=tuple(
            RoutedChild(client_order_id=cid, venue=venue, quantity=D(qty), limit_price=D(100))
            for cid, venue, qty in children
        ),
        ts_ns=ts,
    )


def filled(cid: str, fid: str, qty: str, price: str, fee: str = "0", ts: int = 3) -> ChildFilled:
    return ChildFilled(
        parent_id="p1",
        client_order_id=cid,
        fill_id=fid,
        quantity=D(qty),
        price=D(price),
        fee=D(fee),
        fee_currency="USDT",
        ts_ns=ts,
    )


def done(cid: str, cum: str, status: str = "CANCELED", ts: int = 4) -> ChildDone:
    return ChildDone(parent_id="p1", client_order_id=cid, status=status, cum_qty=D(cum), ts_ns=ts)


HISTORY: list[ParentEvent] = [
    NEW,
    wave(1, ("p1:c1", "a", "2"), ("p1:c2", "b", "1")),
    filled("p1:c1", "f1", "2", "100", fee="0.2"),
    done("p1:c1", "2", "FILLED"),
    filled("p1:c2", "f2", "0.5", "101", fee="0.05"),
    done("p1:c2", "0.5"),
    wave(2, ("p1:c3", "b", "0.5"), ts=5),
    filled("p1:c3", "f3", "0.5", "102", ts=6),
    done("p1:c3", "0.5", "FILLED", ts=6),
]


def live(events: list[ParentEvent]) -> ParentOrder:
    assert isinstance(events[0], ParentNew)
    parent = ParentOrder.from_event(events[0])
    for event in events[1:]:
        parent = parent.apply(event)
    return parent


def test_status_cum_leaves_and_average_price_follow_the_children() -> None:
    parent = ParentOrder.from_event(NEW)
    assert (parent.status, parent.leaves_qty, parent.routable_qty) == (
        OrdStatus.PENDING_NEW,
        D(3),
        D(3),
    )
    parent = parent.apply(HISTORY[1])
    assert (parent.status, parent.routable_qty) == (OrdStatus.NEW, D(0))
    parent = parent.apply(HISTORY[2]).apply(HISTORY[3])
    assert (parent.status, parent.cum_qty, parent.leaves_qty) == (
        OrdStatus.PARTIALLY_FILLED,
        D(2),
        D(1),
    )
    parent = parent.apply(HISTORY[4]).apply(HISTORY[5])
    assert parent.routable_qty == D("0.5")  # c2 ended with 0.5 of its 1 unfilled
    assert parent.open_children == []
    parent = live(HISTORY)
    assert (parent.status, parent.cum_qty, parent.leaves_qty, parent.waves) == (
        OrdStatus.FILLED,
        D(3),
        D(0),
        2,
    )
    assert parent.avg_price == D("100.5")  # (200 + 50.5 + 51) / 3
    assert parent.avg_price_with_fees() == D("100.583333333333333333")  # + 0.25 of fees
    assert parent.updated_ts_ns == 6


def test_rebuilt_from_events_equals_the_live_state_also_through_json() -> None:
    assert rebuild(HISTORY) == live(HISTORY)
    assert rebuild(decode_events(encode_events(HISTORY))) == live(HISTORY)
    for n in range(1, len(HISTORY) + 1):
        assert rebuild(HISTORY[:n]) == live(HISTORY[:n])


def test_a_repeated_fill_or_done_event_changes_nothing() -> None:
    parent = live(HISTORY[:3])
    assert parent.apply(HISTORY[2]) is parent
    finished = live(HISTORY[:4])
    assert finished.apply(done("p1:c1", "2", "FILLED", ts=9)) is finished


def test_a_fill_done_before_its_fill_record_arrives_keeps_the_remainder_right() -> None:
    parent = live(HISTORY[:2]).apply(done("p1:c2", "0.5"))  # oms.events before oms.fills
    assert parent.routable_qty == D("0.5")  # c2 filled 0.5 even if its fill is not here
    assert [c.client_order_id for c in parent.open_children] == ["p1:c1"]
    parent = parent.apply(filled("p1:c1", "f1", "2", "100")).apply(done("p1:c1", "2", "FILLED"))
    assert (parent.cum_qty, parent.routable_qty) == (D(2), D("0.5"))
    parent = parent.apply(filled("p1:c2", "f2", "0.5", "101"))
    assert (parent.cum_qty, parent.routable_qty) == (D("2.5"), D("0.5"))


@pytest.mark.parametrize(
    ("events", "bad", "why"),
    [
        (HISTORY[:2], filled("p1:c9", "f9", "1", "100"), "no child"),
        (HISTORY[:2], filled("p1:c2", "f9", "2", "100"), "overfills"),
        (HISTORY[:2], wave(1, ("p1:c9", "a", "1")), "wave 1 after wave 1"),
        (HISTORY[:2], wave(2, ("p1:c9", "a", "1")), "routable"),
        (HISTORY, CancelRequested(parent_id="p1", ts_ns=9), "cancel of a FILLED parent"),
        ([NEW], NEW, "second ParentNew"),
        ([NEW], CancelRequested(parent_id="p2", ts_ns=9), "event for parent 'p2'"),
    ],
)
def test_an_event_that_cannot_apply_is_refused_and_changes_nothing(
    events: list[ParentEvent], bad: ParentEvent, why: str
) -> None:
    parent = live(events)
    with pytest.raises(ParentEventError, match=why) as info:
        parent.apply(bad)
    assert info.value.parent_id == "p1"


def test_cancel_waits_for_open_children_then_cancels_and_takes_late_fills() -> None:
    parent = live(HISTORY[:2]).apply(CancelRequested(parent_id="p1", reason="user", ts_ns=3))
    assert (parent.status, parent.routable_qty) == (OrdStatus.PENDING_CANCEL, D(0))
    parent = parent.apply(done("p1:c1", "0")).apply(done("p1:c2", "1", "FILLED"))
    assert parent.status is OrdStatus.CANCELED
    assert parent.leaves_qty == 0
    parent = parent.apply(filled("p1:c2", "f2", "1", "100"))  # its fill record comes after
    assert (parent.status, parent.cum_qty) == (OrdStatus.CANCELED, D(1))
    with pytest.raises(ParentEventError, match="routed to a CANCELED parent"):
        parent.apply(wave(2, ("p1:c3", "a", "1")))


def test_cancel_with_nothing_open_is_canceled_at_once() -> None:
    parent = live([NEW]).apply(CancelRequested(parent_id="p1", ts_ns=2))
    assert parent.status is OrdStatus.CANCELED


def test_child_events_come_from_fill_and_order_event_records() -> None:
    record = fill("f7", cid="p1:c1", qty="0.5", price="100", fee="0.05")
    got = child_filled("p1", record)
    assert (got.client_order_id, got.quantity, got.price, got.fee) == (
        "p1:c1",
        D("0.5"),
        D(100),
        D("0.05"),
    )
    assert got.fill_id == record.fill_id
    final = order_event("p1:c1", "CANCELED", cum_qty=D("0.5"))
    assert child_done("p1", final) == ChildDone(
        parent_id="p1",
        client_order_id="p1:c1",
        status="CANCELED",
        cum_qty=D("0.5"),
        ts_ns=final.event_ts_ns,
    )
    assert child_done("p1", order_event("p1:c1", "NEW")) is None


def test_a_history_must_start_with_its_parent_new() -> None:
    with pytest.raises(ParentEventError, match="starts with ChildrenRouted"):
        rebuild(HISTORY[1:])
    assert ParentOrder.from_event(NEW).side is Side.BUY
