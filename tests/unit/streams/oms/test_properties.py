"""Hypothesis: random execution-report sequences (duplicates, out of order, overfills,
replaces) never produce an illegal state or an overfill; rebuilt state equals live state."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tapewire.schemas.codec import Codec
from tapewire.streams.oms import (
    TERMINAL,
    ExecType,
    ExecutionReport,
    OrderRequest,
    OrderStore,
    OrdStatus,
    UnknownOrderError,
    rebuild,
)
from tapewire.streams.oms.order import Order
from tests.factories.orders import order_request

CODEC = Codec()
T0 = 1_767_225_600_000_000_000
QTY = Decimal(10)
IDS = ("c1", "c2", "c3")

quantities = st.integers(min_value=1, max_value=60).map(lambda n: Decimal(n) / 4)


@st.composite
def reports(draw: st.DrawFn) -> list[ExecutionReport]:
    n = draw(st.integers(min_value=0, max_value=40))
    out = []
    for i in range(n):
        kind = draw(st.sampled_from(list(ExecType)))
        cid = draw(st.sampled_from(IDS))
        kw: dict[str, Any] = {"orig_client_order_id": draw(st.sampled_from((None, *IDS)))}
        if kind is ExecType.TRADE:
            kw |= {
                "last_qty": draw(quantities),
                "last_price": Decimal(draw(st.integers(1, 10**6))) / 100,
                "exec_id": f"x{draw(st.integers(0, 8))}",  # small pool: duplicates
            }
        if kind is ExecType.REPLACED:
            kw["quantity"] = draw(quantities)
            kw["limit_price"] = Decimal(draw(st.integers(1, 10**6))) / 100
        if draw(st.booleans()):
            kw["venue_order_id"] = f"v{draw(st.integers(0, 2))}"
        out.append(
            ExecutionReport(
                event_id=f"e{i}", client_order_id=cid, exec_type=kind, event_ts_ns=T0 + i, **kw
            )
        )
    return out


def new_order() -> Order:
    req = OrderRequest.from_record(
        order_request("c1", account="a", side="SELL", qty=QTY, price="100.5", ts=T0)
    )
    return Order.from_request(req, T0)


def check_invariants(o: Order, before: Order) -> None:
    assert o.status is not OrdStatus.UNKNOWN
    assert Decimal(0) <= o.cum_qty <= o.quantity
    assert o.cum_qty >= before.cum_qty  # monotone
    assert (o.status is OrdStatus.FILLED) == (o.cum_qty == o.quantity)
    if o.status in TERMINAL:
        assert o.leaves_qty == 0
        assert o.is_final
    else:
        assert o.leaves_qty == o.quantity - o.cum_qty > 0
    if before.status in TERMINAL:  # terminal stays terminal; only late fills may fill it
        assert o.status in TERMINAL
    if before.status is OrdStatus.REJECTED:
        assert o == before
    if o.status is OrdStatus.REJECTED:
        assert o.cum_qty == 0


@settings(max_examples=400, deadline=None)
@given(reports())
def test_random_reports_keep_invariants_and_rebuild_equals_live(
    sequence: list[ExecutionReport],
) -> None:
    store = OrderStore()
    events = [store.add(new_order())]
    fills: dict[str, Decimal] = {}
    for report in sequence:
        current = store.get("a", "c1")
        try:
            applied = store.on_report("a", report)
        except UnknownOrderError:
            continue  # a report for no known id: the router dead-letters it
        after = applied.order
        check_invariants(after, current)
        if applied.error is not None:
            assert after == current  # quarantined: never applied
        if applied.event is not None:
            events.append(applied.event)
            if report.exec_type is ExecType.TRADE and report.exec_id not in fills:
                assert report.last_qty is not None
                fills[report.exec_id or ""] = report.last_qty
    live = store.get("a", "c1")
    assert live.cum_qty == sum(fills.values(), Decimal(0))
    decoded = [CODEC.decode("oms.events", CODEC.encode("oms.events", e)) for e in events]
    assert rebuild(decoded) == live


@settings(max_examples=200, deadline=None)
@given(st.lists(quantities, max_size=30), st.randoms(use_true_random=False))
def test_duplicated_and_shuffled_fills_never_overfill(sizes: list[Decimal], rnd: Any) -> None:
    fills = [
        ExecutionReport(
            event_id=f"f{i}",
            client_order_id="c1",
            exec_type=ExecType.TRADE,
            event_ts_ns=T0 + i,
            last_qty=q,
            last_price=Decimal("100.25"),
            exec_id=f"x{i}",
        )
        for i, q in enumerate(sizes)
    ]
    stream = fills + fills[: len(fills) // 2]  # duplicates
    rnd.shuffle(stream)
    store = OrderStore()
    store.add(new_order())
    for f in stream:
        store.on_report("a", f)
    o = store.get("a", "c1")
    assert o.cum_qty <= QTY
    applied = {r.exec_id for r, _ in store.quarantine}
    assert all(e not in o.exec_ids for e in applied)
