"""The execution algos in the parent stage (``AlgoStageEngine`` beside the SOR): a TWAP
parent sliced over the stage's time, cancel, restore mid-way from the journal, POV from
``md.trades``, denials, bad params; children executed on a real paper venue."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tapewire.records.orders import ParentOrderEvent, ParentRequest
from tapewire.streams.algos import AlgoConfig
from tapewire.streams.execution.paper import PaperConfig, PaperVenue
from tapewire.streams.oms.request import OrderRequest
from tapewire.streams.sor import SorConfig
from tapewire.streams.stages.algo_params import duration_ns
from tapewire.streams.stages.algos import AlgoStageEngine
from tapewire.streams.stages.base import OutMsg
from tapewire.streams.stages.parents import ParentStage
from tapewire.streams.stages.sor import SorEngine
from tests.factories import INST, T0
from tests.factories.market import book, trade
from tests.factories.orders import approval
from tests.factories.sor import SIM_TERMS
from tests.factories.stages import CODEC, decoded, msgs

D = Decimal
S = 1_000_000_000
VENUE = "binance"


@dataclass
class Desk:
    """A parent stage (SOR and algos) and a real paper venue: each child request goes to
    the venue at the stage's time; its reports go back to the stage."""

    now: int = T0
    stage: ParentStage = field(init=False)
    paper: PaperVenue = field(init=False)
    out: list[OutMsg] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stage = _stage(lambda: self.now)
        terms = SIM_TERMS[0]
        self.paper = PaperVenue(PaperConfig(VENUE, fees=terms.fees, rules=dict(terms.rules)))

    def run(self, at: int, topic: str, records: list[Any]) -> list[OutMsg]:
        """``records`` of ``topic`` at ``at``; children executed; everything emitted."""
        self.now = at
        if topic == "md.book":
            for update in records:
                self._reports(self.paper.on_book(update))
        return self._take(self.stage.process(msgs(topic, records)))

    def restart(self) -> None:
        """A new stage rebuilt from the journal so far (the open children resent if
        undecided: here every child was decided)."""
        fresh = _stage(lambda: self.now)
        decided = frozenset((c.account, c.client_order_id) for c in _requests(self.out))
        resent = fresh.restore(_journal(self.out), self.now, decided=decided)
        assert decoded(resent, "oms.requests") == []
        self.stage = fresh

    def _take(self, out: list[OutMsg]) -> list[OutMsg]:
        self.out += out
        emitted = list(out)
        for request in _requests(out):
            emitted += self._reports(self.paper.submit(request.to_record(), self.now))
        return emitted

    def _reports(self, got: Any) -> list[OutMsg]:
        emitted: list[OutMsg] = []
        for event in got.events:
            emitted += self._take(self.stage.process(msgs("oms.events", [event])))
        for fill in got.fills:
            emitted += self._take(self.stage.process(msgs("oms.fills", [fill])))
        return emitted


def _stage(clock: Any) -> ParentStage:
    algos = AlgoStageEngine(AlgoConfig((SIM_TERMS[0],)))
    return ParentStage(CODEC, [SorEngine(SorConfig(SIM_TERMS)), algos], clock=clock)


def _parent(algo: str = "TWAP", **changes: Any) -> ParentRequest:
    fields: dict[str, Any] = {
        "parent_id": "tw1",
        "account": "acct",
        "algo": algo,
        "instrument": INST,
        "side": "BUY",
        "quantity": D(1),
        "limit_price": D(101),  # LIMIT IOC slices (the paper venue prices MARKET's notional)
        "venues": [VENUE],
        "params": {"slices": "5", "duration": "50s"},
        "requested_by": "test",
        "request_ts_ns": T0,
    }
    return ParentRequest(**(fields | changes))


def _book(ts: int, ask: str = "100") -> Any:
    return book(VENUE, [("99", "5")], [(ask, "10")], ts=ts)


def _requests(out: list[OutMsg]) -> list[OrderRequest]:
    return [OrderRequest.from_record(CODEC.read(t, v)) for t, _, v, _ in out if t == "oms.requests"]


def _journal(out: list[OutMsg]) -> list[ParentOrderEvent]:
    records = [CODEC.read(t, v) for t, _, v, _ in out if t == "oms.parent_events"]
    return [r for r in records if isinstance(r, ParentOrderEvent)]


def _twap_steps(desk: Desk, steps: range) -> None:
    """Step ``k``: the parent at 0, then a book every 5 s (the stage's timer)."""
    for k in steps:
        if k == 0:
            desk.run(T0, "md.book", [_book(T0)])
            desk.run(T0, "oms.parent_requests", [_parent()])
        else:
            desk.run(T0 + 5 * S * k, "md.book", [_book(T0 + 5 * S * k)])


def test_a_twap_parent_is_sliced_over_the_stage_time_and_filled() -> None:
    desk = Desk()
    desk.run(T0, "md.book", [_book(T0)])
    first = desk.run(T0, "oms.parent_requests", [_parent()])
    topics = [t for t, _, _, _ in first]
    # journal (AlgoNew, leg opened, slice due, child sent) before the first slice
    assert topics[:5] == ["oms.parent_events"] * 4 + ["oms.requests"]
    assert [r.event_type for r in _journal(first)[:4]] == [
        "AlgoNew",
        "LegEvent",
        "SliceDue",
        "LegEvent",
    ]
    _twap_steps(desk, range(1, 11))
    children = _requests(desk.out)
    assert [(c.client_order_id, c.quantity, c.order_type.value) for c in children] == [
        (f"tw1:c{n}", D("0.2"), "LIMIT") for n in range(1, 6)
    ]
    assert [c.request_ts_ns for c in children] == [T0 + 10 * S * k for k in range(5)]
    assert all(c.tags["algo.parent"] == "tw1" and c.tags["algo.kind"] == "TWAP" for c in children)
    last = _journal(desk.out)[-1]
    assert (last.algo, last.status, last.cum_qty, last.leaves_qty) == ("TWAP", "FILLED", D(1), D(0))
    assert last.avg_price == D(100)
    assert (last.children, last.open_children) == (5, 0)


def test_cancel_stops_the_slices_and_cancels_a_resting_child() -> None:
    desk = Desk()
    _twap_steps(desk, range(3))  # slices 0 and 1 sent
    desk.run(T0 + 11 * S, "oms.parent_requests", [_parent(action="CANCEL")])
    _twap_steps(desk, range(3, 11))
    assert len(_requests(desk.out)) == 2
    assert _journal(desk.out)[-1].status == "CANCELED"
    assert _journal(desk.out)[-1].cum_qty == D("0.4")
    # an iceberg's shown part rests: the cancel of the parent cancels it at the venue
    params = {"display_qty": "0.3"}
    iceberg = _parent("ICEBERG", parent_id="ice1", limit_price=D(95), params=params)
    shown = _requests(desk.run(T0 + 60 * S, "oms.parent_requests", [iceberg]))
    assert [(r.client_order_id, r.order_type.value, r.time_in_force.value) for r in shown] == [
        ("ice1:c1", "LIMIT", "GTC")
    ]
    cancel = _parent("SOR", parent_id="ice1", action="CANCEL")  # the engine that has it
    out = desk.run(T0 + 61 * S, "oms.parent_requests", [cancel])
    assert [(r.action.value, r.client_order_id) for r in _requests(out)] == [
        ("CANCEL", "ice1:c1:x")
    ]
    final = _journal(out)[-1]
    assert (final.parent_id, final.algo, final.status) == ("ice1", "ICEBERG", "CANCELED")


def test_restore_from_the_journal_mid_way_continues_identically() -> None:
    whole = Desk()
    _twap_steps(whole, range(11))
    for cut in (1, 2, 4, 7):
        desk = Desk()
        _twap_steps(desk, range(cut))
        desk.restart()
        _twap_steps(desk, range(cut, 11))
        assert [r.to_record() for r in _requests(desk.out)] == [
            r.to_record() for r in _requests(whole.out)
        ]
        assert _journal(desk.out) == _journal(whole.out)


def test_sor_and_algo_records_share_the_journal_and_restore_apart() -> None:
    desk = Desk()
    _twap_steps(desk, range(3))
    sor = _parent("SOR", parent_id="s1", venues=[], params={})
    desk.run(T0 + 11 * S, "oms.parent_requests", [sor])
    journal = _journal(desk.out)
    assert {r.algo for r in journal} == {"SOR", "TWAP"}
    fresh = _stage(lambda: T0 + 11 * S)
    fresh.restore(journal, T0 + 11 * S)
    sor_engine, algo_engine = fresh.distinct
    assert [sor_engine.knows("s1"), sor_engine.knows("tw1")] == [True, False]
    assert [algo_engine.knows("tw1"), algo_engine.knows("s1")] == [True, False]


def test_pov_follows_md_trades_and_a_denied_child_is_done() -> None:
    desk = Desk()
    desk.run(T0, "md.book", [_book(T0)])
    pov = _parent("POV", parent_id="pv1", params={"rate": "0.1", "duration": "1h"})
    assert _requests(desk.run(T0, "oms.parent_requests", [pov])) == []
    tape = [trade("100", "2", ts=T0 + S, venue=VENUE, trade_id="t1")]
    (child,) = _requests(desk.run(T0 + S, "md.trades", tape))
    assert (child.client_order_id, child.quantity) == ("pv1:c1", D("0.2"))
    assert _journal(desk.out)[-1].cum_qty == D("0.2")
    # the gate denies the next slice: it ends REJECTED, nothing filled, the algo goes on
    more = [trade("100", "3", ts=T0 + 2 * S, venue=VENUE, trade_id="t2")]
    out = desk.stage.process(msgs("md.trades", more))
    (second,) = _requests(out)
    desk.out += out
    no = approval(
        second.client_order_id,
        request=second.to_record(),
        decision="DENIED",
        rule="max_quantity",
        reason="too big",
    )
    after = desk.stage.process(msgs("oms.denied", [no]))
    last = _journal(after)[-1]
    assert (last.event_type, last.open_children, last.cum_qty) == ("LegEvent", 0, D("0.2"))
    assert '"REJECTED"' in last.event


def test_bad_algo_params_are_rejected_naming_the_field() -> None:
    desk = Desk()
    cases = {
        "params.slices": {"slices": "0", "duration": "50s"},
        "params.duration": {"slices": "5", "duration": "soon"},
        "params.bogus": {"slices": "5", "duration": "50s", "bogus": "1"},
        "params.end_ns": {"slices": "5"},
    }
    for n, (field_name, params) in enumerate(cases.items()):
        out = desk.run(T0, "oms.parent_requests", [_parent(parent_id=f"b{n}", params=params)])
        (rejected,) = decoded(out, "oms.parent_events")
        assert rejected["status"] == "REJECTED", field_name
        assert field_name in rejected["event"], (field_name, rejected["event"])
        (dead,) = decoded(out, "dlq.trading")
        assert field_name in dead["reason"], dead
    two = _parent(parent_id="b9", venues=["binance", "okx"])
    (rejected,) = decoded(desk.run(T0, "oms.parent_requests", [two]), "oms.parent_events")
    assert "venues" in rejected["event"]
    assert _requests(desk.out) == []


def test_vwap_without_a_profile_is_uniform_and_durations_parse() -> None:
    desk = Desk()
    desk.run(T0, "md.book", [_book(T0)])
    vwap = _parent("VWAP", parent_id="vw1", params={"slices": "4", "duration": "40s"})
    desk.run(T0, "oms.parent_requests", [vwap])
    for k in range(1, 9):
        desk.run(T0 + 5 * S * k, "md.book", [_book(T0 + 5 * S * k)])
    assert [c.quantity for c in _requests(desk.out)] == [D("0.25")] * 4
    assert [duration_ns("d", t) for t in ("90", "90s", "500ms", "1.5m", "1h")] == [
        90 * S,
        90 * S,
        S // 2,
        90 * S,
        3_600 * S,
    ]


def test_restore_resends_open_children_the_gate_never_decided_as_they_were() -> None:
    desk = Desk()
    desk.run(T0, "md.book", [_book(T0)])
    oco = {
        "first.order_type": "LIMIT",
        "first.limit_price": "98",
        "second.order_type": "STOP",
        "second.stop_price": "105",
    }
    iceberg = _parent("ICEBERG", parent_id="ice1", limit_price=D(95), params={"display_qty": "0.3"})
    parents = [iceberg, _parent("OCO", parent_id="oco1", limit_price=None, params=oco)]
    sent = _requests(desk.run(T0, "oms.parent_requests", parents))
    assert [(r.client_order_id, r.order_type.value) for r in sent] == [
        ("ice1:c1", "LIMIT"),
        ("oco1:a:c1", "LIMIT"),
        ("oco1:b:c1", "STOP"),
    ]
    fresh = _stage(lambda: T0)
    later = T0 + S
    resent = _requests(fresh.restore(_journal(desk.out), later))
    assert [r.to_record() for r in resent] == [
        r.with_(request_ts_ns=later).to_record() for r in sent
    ]


def test_restore_folds_reports_after_the_journal_and_sends_what_they_cause_once() -> None:
    desk = Desk()
    desk.run(T0, "md.book", [_book(T0, ask="101")])
    iceberg = _parent(
        "ICEBERG", parent_id="ice1", limit_price=D(100), params={"display_qty": "0.5"}
    )
    out = desk.run(T0, "oms.parent_requests", [iceberg])
    journal = _journal(out)  # the process stops here: the part's fill is not folded in
    sold = trade("99.5", "2", ts=T0 + S, venue=VENUE, side="SELL", trade_id="t9")
    got = desk.paper.on_trade(sold)  # the shown part fills
    reports: list[Any] = [*got.events, *got.fills]
    assert [e.status for e in got.events][-1] == "FILLED"
    fresh = _stage(lambda: T0 + S)
    restored = fresh.restore(
        journal, T0 + S, reports=reports, decided=frozenset({("acct", "ice1:c1")})
    )
    assert [(r.client_order_id, r.quantity) for r in _requests(restored)] == [("ice1:c2", D("0.5"))]
    assert _journal(restored)[-1].cum_qty == D("0.5")
    # nothing left over for the next input
    assert _requests(fresh.process(msgs("md.book", [_book(T0 + 2 * S, ask="101")]))) == []
