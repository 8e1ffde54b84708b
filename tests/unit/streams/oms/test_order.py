"""Order state machine: FIX OrdStatus transitions, venue tolerances, event sourcing, Avro."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tapewire.schemas.codec import Codec
from tapewire.streams.oms import (
    ExecType,
    ExecutionReport,
    IllegalTransitionError,
    OrderAction,
    OrderRequest,
    OrderStore,
    OrderType,
    OrderValidationError,
    OrdStatus,
    Outcome,
    OverfillError,
    TimeInForce,
    check_request,
    rebuild,
    validate_request,
)
from tapewire.streams.oms.order import Order
from tests.factories.orders import order_request

CODEC = Codec()
T0 = 1_767_225_600_000_000_000
E = ExecType


REQUEST = OrderRequest.from_record(
    order_request("c1", qty="1.5", price="50000.00000812", requested_by="strategy:test", ts=T0)
)
"""A limit buy of 1.5 BTC; the tests change it."""


def request(**changes: Any) -> OrderRequest:
    return REQUEST.with_(**changes)


def rep(n: int, exec_type: ExecType, **kw: Any) -> ExecutionReport:
    kw.setdefault("client_order_id", "c1")
    return ExecutionReport(event_id=f"e{n}", exec_type=exec_type, event_ts_ns=T0 + n, **kw)


def fill(n: int, qty: str, price: str = "50000", exec_id: str | None = None) -> ExecutionReport:
    return rep(
        n, E.TRADE, last_qty=Decimal(qty), last_price=Decimal(price), exec_id=exec_id or f"x{n}"
    )


def run(*reports: ExecutionReport) -> Order:
    order = Order.from_request(request(), T0)
    for r in reports:
        order = order.apply(r)
    return order


def test_happy_path_new_partial_filled() -> None:
    o = run(rep(1, E.NEW, venue_order_id="v1"), fill(2, "0.5", "100"), fill(3, "1", "103"))
    assert o.status is OrdStatus.FILLED
    assert (o.cum_qty, o.leaves_qty) == (Decimal("1.5"), Decimal(0))
    assert o.avg_price == Decimal("102.000000000000000000")
    assert o.is_final
    assert o.venue_order_id == "v1"


def test_fill_before_ack_then_late_ack() -> None:
    o = run(fill(1, "0.5"))
    assert o.status is OrdStatus.PARTIALLY_FILLED
    o2 = o.apply(rep(2, E.NEW, venue_order_id="v9"))
    assert o2.status is OrdStatus.PARTIALLY_FILLED
    assert o2.venue_order_id == "v9"


def test_duplicate_fill_is_idempotent_by_exec_id() -> None:
    o = run(rep(1, E.NEW), fill(2, "0.5", exec_id="X"))
    again, outcome = o.step(fill(3, "0.5", exec_id="X"))
    assert outcome is Outcome.DUPLICATE
    assert again is o


def test_fill_after_pending_cancel_then_cancel_ack() -> None:
    o = run(rep(1, E.NEW), rep(2, E.PENDING_CANCEL), fill(3, "0.5"))
    assert o.status is OrdStatus.PENDING_CANCEL
    assert o.cum_qty == Decimal("0.5")
    o = o.apply(rep(4, E.CANCELED))
    assert (o.status, o.leaves_qty, o.is_final) == (OrdStatus.CANCELED, Decimal(0), True)


def test_cancel_ack_after_late_fill_completes_is_stale() -> None:
    o = run(rep(1, E.NEW), rep(2, E.PENDING_CANCEL), fill(3, "1.5"))
    assert o.status is OrdStatus.FILLED
    same, outcome = o.step(rep(4, E.CANCELED))
    assert (same, outcome) == (o, Outcome.STALE)


def test_late_fill_after_cancel_is_applied_and_keeps_canceled() -> None:
    o = run(rep(1, E.NEW), rep(2, E.CANCELED), fill(3, "0.5"))
    assert (o.status, o.cum_qty, o.leaves_qty) == (OrdStatus.CANCELED, Decimal("0.5"), Decimal(0))


def test_cancel_reject_restores_working_status() -> None:
    o = run(rep(1, E.NEW), fill(2, "0.5"), rep(3, E.PENDING_CANCEL), rep(4, E.CANCEL_REJECTED))
    assert o.status is OrdStatus.PARTIALLY_FILLED


def test_replace_flow_changes_id_qty_price() -> None:
    o = run(
        rep(1, E.NEW),
        fill(2, "0.5"),
        rep(3, E.PENDING_REPLACE, client_order_id="c2", orig_client_order_id="c1"),
        rep(
            4,
            E.REPLACED,
            client_order_id="c2",
            orig_client_order_id="c1",
            quantity=Decimal(2),
            limit_price=Decimal(49000),
        ),
    )
    assert (o.client_order_id, o.previous_client_order_ids) == ("c2", ("c1",))
    assert (o.status, o.quantity, o.leaves_qty) == (
        OrdStatus.PARTIALLY_FILLED,
        Decimal(2),
        Decimal("1.5"),
    )
    late = o.apply(fill(5, "0.25"))  # late fill under the old id still applies
    assert late.cum_qty == Decimal("0.75")


def test_replace_below_cum_qty_is_overfill() -> None:
    o = run(rep(1, E.NEW), fill(2, "1"))
    with pytest.raises(OverfillError):
        o.apply(rep(3, E.REPLACED, quantity=Decimal("0.5")))


def test_replace_rejected_restores() -> None:
    o = run(rep(1, E.NEW), rep(2, E.PENDING_REPLACE), rep(3, E.REPLACE_REJECTED))
    assert o.status is OrdStatus.NEW


@pytest.mark.parametrize(
    ("reports", "error"),
    [
        ((fill(1, "1"), fill(2, "0.6")), OverfillError),
        ((rep(1, E.REJECTED), fill(2, "0.1")), IllegalTransitionError),
        ((rep(1, E.REJECTED), rep(2, E.NEW)), IllegalTransitionError),
        ((rep(1, E.NEW), rep(2, E.REJECTED)), IllegalTransitionError),
        ((rep(1, E.PENDING_CANCEL), rep(2, E.PENDING_REPLACE)), IllegalTransitionError),
        ((rep(1, E.UNKNOWN),), IllegalTransitionError),
        ((rep(1, E.NEW, client_order_id="other"),), IllegalTransitionError),
        ((rep(1, E.TRADE, exec_id="x"),), IllegalTransitionError),
        ((fill(1, "-1"),), IllegalTransitionError),
    ],
)
def test_illegal_reports_raise_and_leave_order_unchanged(
    reports: tuple[ExecutionReport, ...], error: type[Exception]
) -> None:
    order = run(*reports[:-1])
    with pytest.raises(error) as info:
        order.apply(reports[-1])
    assert "c1" in str(info.value)


@pytest.mark.parametrize(
    ("reports", "status"),
    [
        ((rep(1, E.REJECTED),), OrdStatus.REJECTED),
        ((rep(1, E.NEW), rep(2, E.EXPIRED)), OrdStatus.EXPIRED),
        ((rep(1, E.NEW), rep(2, E.EXPIRED), rep(3, E.CANCELED)), OrdStatus.EXPIRED),
        ((rep(1, E.PENDING_CANCEL), rep(2, E.CANCELED)), OrdStatus.CANCELED),
        ((rep(1, E.NEW), rep(2, E.NEW)), OrdStatus.NEW),
        ((rep(1, E.NEW), rep(2, E.ORDER_STATUS)), OrdStatus.NEW),
        ((rep(1, E.NEW), rep(2, E.CANCEL_REJECTED)), OrdStatus.NEW),
    ],
)
def test_transition_table(reports: tuple[ExecutionReport, ...], status: OrdStatus) -> None:
    assert run(*reports).status is status


def test_store_quarantines_overfill_and_rebuilds_from_avro_events() -> None:
    store = OrderStore()
    events = [store.add(Order.from_request(request(), T0))]
    alerts = []
    for r in (rep(1, E.NEW), fill(2, "1"), fill(3, "1"), fill(2, "1"), fill(4, "0.5")):
        applied = store.on_report("acct", r)
        if applied.event:
            events.append(applied.event)
        alert = applied.alert(T0)
        if alert:
            alerts.append(CODEC.decode("alerts", CODEC.encode("alerts", alert)))
    assert len(store.quarantine) == 1
    assert alerts[0]["code"] == "ORDER_OVERFILL"
    live = store.get("acct", "c1")
    assert live.status is OrdStatus.FILLED
    decoded = [CODEC.decode("oms.events", CODEC.encode("oms.events", e)) for e in events]
    assert rebuild(decoded) == live
    assert store.open_orders() == []


def test_store_duplicate_client_order_id() -> None:
    store = OrderStore()
    store.add(Order.from_request(request(), T0))
    with pytest.raises(Exception, match="taken"):
        store.add(Order.from_request(request(), T0))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"quantity": Decimal("0.0000000000000000001")}, "quantity"),
        ({"limit_price": None}, "limit_price"),
        ({"instrument": "btc-usdt-spot"}, "instrument"),
        ({"time_in_force": TimeInForce.GTD}, "expire_ts_ns"),
        ({"order_type": OrderType.TRAILING_STOP, "limit_price": None}, "trailing_offset"),
        ({"post_only": True, "time_in_force": TimeInForce.IOC}, "post_only"),
        ({"action": OrderAction.CANCEL}, "orig_client_order_id"),
        ({"client_order_id": " c1"}, "client_order_id"),
    ],
)
def test_request_validation_names_field_value_and_fix(changes: dict[str, Any], field: str) -> None:
    r = request(**changes)
    problems = validate_request(r)
    assert problems[0].field == field
    with pytest.raises(OrderValidationError) as info:
        check_request(r)
    assert info.value.field == field
    assert info.value.hint


def test_request_record_round_trips_through_avro() -> None:
    r = request(tags={"signal": "s1"}, reduce_only=True)
    assert validate_request(r) == []
    decoded = CODEC.decode("oms.requests", CODEC.encode("oms.requests", r.to_record()))
    assert OrderRequest.from_record(decoded) == r
