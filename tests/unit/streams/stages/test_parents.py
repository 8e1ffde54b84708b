"""The parent stage over the SOR engine: journal before children, fills and denials
folded in, re-route on the next book, restore from the journal; real paper venues."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tapewire.records.orders import ParentOrderEvent, ParentRequest
from tapewire.streams.execution.paper import PaperConfig, PaperVenue
from tapewire.streams.oms.request import OrderRequest
from tapewire.streams.sor import SorConfig
from tapewire.streams.stages.base import OutMsg
from tapewire.streams.stages.parents import ParentStage
from tapewire.streams.stages.sor import SorEngine
from tests.factories import INST, T0
from tests.factories.market import book
from tests.factories.orders import approval
from tests.factories.sor import SIM_TERMS
from tests.factories.stages import CODEC, decoded, msgs
from tests.factories.trading import position

D = Decimal


def _stage() -> ParentStage:
    return ParentStage(CODEC, [SorEngine(SorConfig(SIM_TERMS))], clock=lambda: T0)


def _papers() -> dict[str, PaperVenue]:
    return {
        t.venue: PaperVenue(PaperConfig(t.venue, fees=t.fees, rules=dict(t.rules)))
        for t in SIM_TERMS
    }


def _parent(**changes: Any) -> ParentRequest:
    fields: dict[str, Any] = {
        "parent_id": "p1",
        "account": "acct",
        "instrument": INST,
        "side": "BUY",
        "quantity": D(3),
        "requested_by": "test",
        "request_ts_ns": T0,
    }
    return ParentRequest(**(fields | changes))


def _books(ts: int, binance_ask: str = "100", okx_ask: str = "100.1") -> list[Any]:
    """Binance (tick 0.01) and OKX (tick 0.1) books of :data:`SIM_TERMS`."""
    return [
        book("binance", [("99", "5")], [(binance_ask, "1")], ts=ts),
        book("okx", [("99", "5")], [(okx_ask, "1.5")], ts=ts),
    ]


def _run(stage: ParentStage, topic: str, records: list[Any]) -> list[OutMsg]:
    return stage.process(msgs(topic, records))


def _request(out: list[OutMsg]) -> list[OrderRequest]:
    return [OrderRequest.from_record(CODEC.read(t, v)) for t, _, v, _ in out if t == "oms.requests"]


def _execute(
    stage: ParentStage, papers: dict[str, PaperVenue], out: list[OutMsg], reports: list[Any]
) -> list[OutMsg]:
    """Send every child request of ``out`` to its paper venue; feed the reports back
    (and collect them in ``reports``)."""
    more: list[OutMsg] = []
    for request in _request(out):
        got = papers[request.venue].submit(request.to_record(), T0)
        reports += [CODEC.read("oms.events", CODEC.encode("oms.events", e)) for e in got.events]
        reports += [CODEC.read("oms.fills", CODEC.encode("oms.fills", f)) for f in got.fills]
        more += _run(stage, "oms.events", list(got.events))
        more += _run(stage, "oms.fills", list(got.fills))
    return more


def _feed(papers: dict[str, PaperVenue], updates: list[Any]) -> list[Any]:
    for update in updates:
        papers[update.venue].on_book(update)
    return updates


def _topics(out: list[OutMsg]) -> list[str]:
    return [t for t, _, _, _ in out]


def test_a_parent_is_split_journaled_before_its_children_and_filled_over_two_waves() -> None:
    stage, papers = _stage(), _papers()
    _run(stage, "md.book", _feed(papers, _books(T0)))
    out = _run(stage, "oms.parent_requests", [_parent()])
    assert _topics(out) == [
        "oms.parent_events",
        "oms.parent_events",
        "oms.requests",
        "oms.requests",
    ]
    children = decoded(out, "oms.requests")
    assert {(c["venue"], c["quantity"]) for c in children} == {
        ("binance", D(1)),
        ("okx", D("1.5")),
    }
    assert all(c["time_in_force"] == "IOC" and c["tags"]["sor.parent"] == "p1" for c in children)
    after = _execute(stage, papers, out, [])
    journal = decoded(after, "oms.parent_events")
    assert journal[-1]["status"] == "PARTIALLY_FILLED"
    assert journal[-1]["cum_qty"] == D("2.5")
    assert journal[-1]["open_children"] == 0
    # the remainder waits for the next book, then goes to the best venue left
    assert decoded(_run(stage, "oms.fills", []), "oms.requests") == []
    moved = _feed(papers, _books(T0 + 1, binance_ask="100.02", okx_ask="100.5"))
    wave2 = _run(stage, "md.book", moved)
    (child,) = decoded(wave2, "oms.requests")
    assert (child["venue"], child["quantity"], child["client_order_id"]) == (
        "binance",
        D("0.5"),
        "p1:c3",
    )
    final = decoded(_execute(stage, papers, wave2, []), "oms.parent_events")[-1]
    assert final["status"] == "FILLED"
    assert final["leaves_qty"] == 0
    # (1 x 100 + 1.5 x 100.1 + 0.5 x 100.02) / 3 = 300.16 / 3
    assert final["avg_price"] == D("100.053333333333333333")


def test_a_denied_child_is_rejected_and_its_quantity_routed_again() -> None:
    stage = _stage()
    _run(stage, "md.book", _books(T0))
    out = _run(stage, "oms.parent_requests", [_parent(quantity=D(1))])
    (request,) = _request(out)
    denied = approval(
        request.client_order_id,
        request=request.to_record(),
        decision="DENIED",
        rule="max_quantity",
        reason="too big",
    )
    journal = decoded(_run(stage, "oms.denied", [denied]), "oms.parent_events")
    assert [(j["event_type"], j["status"], j["open_children"]) for j in journal] == [
        ("ChildDone", "NEW", 0)
    ]
    # a duplicate denial (a child sent again after a restart) changes nothing
    dup = approval(
        "p1:c1", request=request.to_record(), decision="DENIED", rule="duplicate_client_order_id"
    )
    assert _run(stage, "oms.denied", [dup]) == []
    (again,) = decoded(_run(stage, "md.book", _books(T0 + 5)), "oms.requests")
    assert again["client_order_id"] == "p1:c2"


def test_bad_parents_are_rejected_with_a_reason_and_a_dead_letter() -> None:
    stage = _stage()
    out = _run(
        stage,
        "oms.parent_requests",
        [
            _parent(algo="TWAP"),
            _parent(parent_id="p2", quantity=D(-1)),
            _parent(parent_id="p3", action="CANCEL"),
            _parent(parent_id="p4", params={"slices": "3"}),
        ],
    )
    rejected = decoded(out, "oms.parent_events")
    assert [(r["parent_id"], r["status"], r["event_type"]) for r in rejected] == [
        ("p1", "REJECTED", "ParentRejected"),
        ("p2", "REJECTED", "ParentRejected"),
        ("p3", "REJECTED", "ParentRejected"),
        ("p4", "REJECTED", "ParentRejected"),
    ]
    assert "TWAP" in rejected[0]["event"]
    assert "quantity" in rejected[1]["event"]
    assert len(decoded(out, "dlq.trading")) == 4
    assert decoded(out, "oms.requests") == []


def test_cancel_of_a_resting_parent_and_a_redelivered_new_is_skipped() -> None:
    stage = _stage()
    out = _run(stage, "oms.parent_requests", [_parent(), _parent()])  # no book yet: no wave
    assert [j["status"] for j in decoded(out, "oms.parent_events")] == ["PENDING_NEW"]
    cancel = _run(stage, "oms.parent_requests", [_parent(action="CANCEL")])
    assert [j["status"] for j in decoded(cancel, "oms.parent_events")] == ["CANCELED"]


def test_sell_balances_come_from_positions() -> None:
    stage = _stage()
    held = position(account="acct", venue="binance", instrument=INST, quantity=D("0.2"))
    _run(stage, "positions", [held])
    _run(stage, "md.book", _books(T0))
    out = _run(stage, "oms.parent_requests", [_parent(side="SELL", quantity=D(2))])
    sizes = {c["venue"]: c["quantity"] for c in decoded(out, "oms.requests")}
    assert sizes["binance"] == D("0.2")  # the better bid after fees, but it holds 0.2 BTC there
    assert sizes["okx"] == D("1.8")  # no position record: no limit


def test_restore_rebuilds_parents_and_resends_only_undecided_children() -> None:
    stage = _stage()
    _run(stage, "md.book", _books(T0))
    out = _run(stage, "oms.parent_requests", [_parent()])
    journal = _journal(out)
    children = decoded(out, "oms.requests")
    fresh = _stage()
    decided = frozenset({("acct", children[0]["client_order_id"])})
    restored = fresh.restore(journal * 2, T0, decided=decided)
    assert [c["client_order_id"] for c in decoded(restored, "oms.requests")] == [
        children[1]["client_order_id"]
    ]
    assert decoded(restored, "oms.parent_events") == []
    # the redelivered request is a duplicate: nothing new
    assert _run(fresh, "oms.parent_requests", [_parent()]) == []


def test_restore_folds_reports_written_after_the_journal() -> None:
    stage, papers = _stage(), _papers()
    _run(stage, "md.book", _feed(papers, _books(T0)))
    out = _run(stage, "oms.parent_requests", [_parent(quantity=D("2.5"))])
    reports: list[Any] = []
    after = _execute(stage, papers, out, reports)
    fresh = _stage()
    restored = fresh.restore(_journal(out), T0, reports=reports)
    last = decoded(restored, "oms.parent_events")[-1]
    assert last == {**decoded(after, "oms.parent_events")[-1], "event_ts_ns": last["event_ts_ns"]}
    assert last["status"] == "FILLED"
    assert decoded(restored, "oms.requests") == []


def _journal(out: list[OutMsg]) -> list[ParentOrderEvent]:
    records = [CODEC.read(t, v) for t, _, v, _ in out if t == "oms.parent_events"]
    return [r for r in records if isinstance(r, ParentOrderEvent)]
