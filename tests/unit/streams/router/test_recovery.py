"""Router restart decisions (``tapewire.streams.router.recovery``) and the router stage's use of
them: send intent before the venue call, duplicates never re-sent, reconcile on recover."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest

from tapewire.core.records import Record
from tapewire.records.orders import OrderEvent
from tapewire.streams.oms.reports import Reports
from tapewire.streams.router.recovery import (
    SEND_INTENT_TEXT,
    RecoveredOrder,
    SeenApproval,
    plan_recovery,
)
from tapewire.streams.router.stage import RouterStage
from tapewire.streams.stages.base import OutMsg
from tests.factories.orders import approval, order_event, order_request
from tests.factories.stages import CODEC, decoded, msgs

D = Decimal
VENUES = {"binance"}


def test_intent_without_ack_is_reconciled_and_never_resent() -> None:
    plan = plan_recovery([order_event("a", "PENDING_NEW", None)], [], VENUES)
    assert [(o.client_order_id, o.status, o.venue_seq) for o in plan.reconcile] == [
        ("a", "PENDING_NEW", 0)
    ]
    assert "send intent recorded" in plan.reconcile[0].reason
    assert plan.known == {("acct", "a")}


def test_open_order_reconciled_with_its_state_final_one_not() -> None:
    events = [
        order_event("open", "PENDING_NEW", None),
        order_event("open", "NEW", 1),
        order_event("open", "PARTIALLY_FILLED", 2, cum_qty=D("0.4"), avg_price=D(100)),
        order_event("done", "PENDING_NEW", None),
        order_event("done", "NEW", 1),
        order_event("done", "FILLED", 2, cum_qty=D(1)),
        order_event("done", "FILLED", 3, exec_type="ORDER_STATUS", cum_qty=D(1)),
    ]
    plan = plan_recovery(events, [], VENUES)
    (order,) = plan.reconcile
    assert (order.client_order_id, order.status, order.venue_order_id) == (
        "open",
        "PARTIALLY_FILLED",
        "1001",
    )
    assert (order.cum_qty, order.avg_price, order.venue_seq) == (D("0.4"), D(100), 2)
    assert order.request["quantity"] == D(1)
    assert plan.final == 1
    assert plan.known == {("acct", "open"), ("acct", "done")}


def test_unknown_and_quarantined_orders_are_reconciled_again() -> None:
    events = [
        order_event("q", "PENDING_NEW", None),
        order_event("q", "UNKNOWN", 1, exec_type="ORDER_STATUS", text="quarantined: ..."),
    ]
    (order,) = plan_recovery(events, [], VENUES).reconcile
    assert (order.status, order.venue_seq) == ("UNKNOWN", 1)
    assert "last status UNKNOWN" in order.reason
    assert order.quarantined  # the venue reports nothing if it still does not know it


def test_only_a_quarantine_not_released_since_marks_an_order_quarantined() -> None:
    quarantine = {"exec_type": "ORDER_STATUS", "text": "quarantined: state unknown ..."}
    events = [
        order_event("unknown", "PENDING_NEW", None),
        order_event("unknown", "UNKNOWN", 1, exec_type="ORDER_STATUS", text="send unknown"),
        order_event("again", "UNKNOWN", 1, **quarantine),
        order_event("again", "UNKNOWN", 2, exec_type="ORDER_STATUS", text="not re-sent"),
        order_event("released", "UNKNOWN", 1, **quarantine),
        order_event("released", "NEW", 2),
    ]
    plan = plan_recovery(events, [], VENUES)
    assert {o.client_order_id: o.quarantined for o in plan.reconcile} == {
        "unknown": False,
        "again": True,
        "released": False,
    }


def test_other_venues_are_not_this_routers() -> None:
    plan = plan_recovery([order_event("x", "NEW", 1, venue="okx")], [], VENUES)
    assert plan.reconcile == ()
    assert plan.known == frozenset()


def test_processed_approval_without_event_is_reconciled_redelivered_one_is_not() -> None:
    approvals = [
        SeenApproval(approval("lost"), consumed=True),
        SeenApproval(approval("fresh"), consumed=False),
        SeenApproval(approval("dup"), consumed=False),
        SeenApproval(approval("cxl", request=order_request("cxl", action="CANCEL")), consumed=True),
        SeenApproval(approval("other", request=order_request("other", venue="okx")), consumed=True),
        SeenApproval(approval("den", decision="DENIED"), consumed=True),
    ]
    plan = plan_recovery([order_event("dup", "NEW", 1)], approvals, VENUES)
    assert [(o.client_order_id, o.status) for o in plan.reconcile] == [
        ("dup", "NEW"),
        ("lost", "UNKNOWN"),
    ]
    assert "no event recorded" in plan.reconcile[1].reason
    assert plan.known == {("acct", "dup"), ("acct", "lost")}  # "fresh" is simply processed


class FakeVenue:
    """Records calls; a NEW is acknowledged; reconcile answers NEW for every order."""

    name = "binance"

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.reconciled: list[str] = []

    def submit(self, request: Record, now_ns: int) -> Reports:
        self.sent.append(request["client_order_id"])
        return Reports([OrderEvent(**order_event(request["client_order_id"], "NEW", 1))], [])

    def cancel(self, request: Record, now_ns: int) -> Reports:
        return Reports([], [])

    def cancel_all(self, request: Record, now_ns: int) -> Reports:
        return Reports([], [])

    def reconcile(self, orders: Sequence[RecoveredOrder], now_ns: int) -> Reports:
        self.reconciled += [o.client_order_id for o in orders]
        return Reports(
            [
                OrderEvent(**order_event(o.client_order_id, "NEW", 1, text="reconciled"))
                for o in orders
            ],
            [],
        )


def test_stage_journals_intent_before_venue_call_and_skips_duplicates() -> None:
    venue = FakeVenue()
    journaled: list[tuple[list[str], list[str]]] = []

    def journal(out: Sequence[OutMsg]) -> None:
        journaled.append(([e["text"] for e in decoded(out, "oms.events")], list(venue.sent)))

    stage = RouterStage(CODEC, [venue], journal=journal)
    out = stage.process(msgs("oms.approved", [approval("a"), approval("a", decision_id="again")]))
    assert venue.sent == ["a"]
    assert journaled == [([SEND_INTENT_TEXT], [])]  # written before the venue saw it
    assert [e["status"] for e in decoded(out, "oms.events")] == ["NEW"]
    alerts = decoded(out, "alerts")
    assert [(a["code"], a["labels"]["client_order_id"]) for a in alerts] == [
        ("ROUTER_DUPLICATE", "a")
    ]


def test_stage_journal_failure_sends_nothing() -> None:
    venue = FakeVenue()

    def journal(out: Sequence[OutMsg]) -> None:
        raise RuntimeError("broker down")

    stage = RouterStage(CODEC, [venue], journal=journal)
    out = stage.process(msgs("oms.approved", [approval("a")]))
    assert venue.sent == []
    assert len(decoded(out, "dlq.trading")) == 1
    assert ("acct", "a") not in stage.known


def test_stage_recover_reconciles_and_blocks_redelivery() -> None:
    venue = FakeVenue()
    stage = RouterStage(CODEC, [venue])
    plan = plan_recovery([order_event("a", "PENDING_NEW", None)], [], VENUES)
    out = stage.recover(plan, 5)
    assert venue.reconciled == ["a"]
    assert [e["text"] for e in decoded(out, "oms.events")] == ["reconciled"]
    again = stage.process(msgs("oms.approved", [approval("a"), approval("b")]))
    assert venue.sent == ["b"]
    assert [a["code"] for a in decoded(again, "alerts")] == ["ROUTER_DUPLICATE"]


@pytest.mark.parametrize("status", ["FILLED", "CANCELED", "REJECTED", "EXPIRED"])
def test_any_final_event_makes_the_order_final(status: str) -> None:
    events = [order_event("f", "PENDING_NEW", None), order_event("f", status, 1)]
    plan = plan_recovery(events, [], VENUES)
    assert (plan.reconcile, plan.final) == ((), 1)
