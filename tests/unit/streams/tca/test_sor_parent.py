"""A real SOR parent through TCA: the smart order router splits it over two paper venues
(with their taker fees), its children's approvals, reports and fills go to the TCA core,
and the parent's report has the parent's quantity (its children's ``sor.parent_qty`` tag),
fill ratio, venue mix and costs, exactly."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from tapewire.records.tca import TcaReport
from tapewire.streams.execution.paper import PaperConfig, PaperVenue
from tapewire.streams.oms import Side
from tapewire.streams.sor import ParentRequest, SmartOrderRouter, SorConfig
from tapewire.streams.tca import TcaEngine
from tests.factories import INST
from tests.factories.market import book, nbbo
from tests.factories.orders import approval
from tests.factories.sor import rules, terms

D = Decimal
VENUES = (
    terms("a", taker_bps=10, venue_rules=rules("a", lot="0.001", min_notional=5)),
    terms("b", taker_bps=5, venue_rules=rules("b", lot="0.01", min_notional=5)),
)


def test_a_sor_parent_split_over_two_paper_venues_is_reported_over_its_children() -> None:
    router = SmartOrderRouter(SorConfig(VENUES))
    papers = {
        t.venue: PaperVenue(PaperConfig(t.venue, fees=t.fees, rules=dict(t.rules))) for t in VENUES
    }
    tca = TcaEngine()
    for venue, asks in (("a", [("100", "1"), ("102", "5")]), ("b", [("101", "5")])):
        update = book(venue, [("90", "1")], asks, ts=1)
        router.on_book(update)
        papers[venue].on_book(update)
    tca.on_nbbo(nbbo("90", "100", ts=1))  # A = 95
    parent = ParentRequest(
        parent_id="p1",
        account="acct",
        instrument=INST,
        side=Side.BUY,
        quantity=D(3),
        request_ts_ns=10,
        strategy_id="algo",
    )
    reports: list[TcaReport] = []
    fills = []
    children = router.submit(parent, now_ns=10)
    # the order the hot path's deferred TCA node reads them in: the gate's approvals of a
    # wave, then the router's reports (approving a child only after the previous one is
    # done would report the parent after each child: revisions 1 and 2)
    for child in children:
        reports += tca.on_approved(approval(child.client_order_id, request=child.to_record()))
    for child in children:
        out = papers[child.venue].submit(child.to_record(), 10)
        for event in out.events:
            router.on_order_event(event)
            reports += tca.on_event(event)
        for f in out.fills:
            router.on_fill(f)
            fills.append(f)
            reports += tca.on_fill(f)
    orders = [r for r in reports if r.kind == "ORDER"]
    (p,) = [r for r in reports if r.kind == "PARENT"]
    assert sorted((o.order_id, o.venue, o.filled_qty) for o in orders) == [
        ("p1:c1", "a", D(1)),
        ("p1:c2", "b", D(2)),
    ]
    assert {o.parent_id for o in orders} == {"p1"}
    assert (p.order_id, p.status, p.revision, p.children) == ("p1", "FILLED", 1, 2)
    assert (p.quantity, p.filled_qty, p.fill_ratio, p.notional) == (D(3), D(3), D(1), D(302))
    assert p.venue_mix == {"a": D("0.333333333333333333"), "b": D("0.666666666666666667")}
    assert (p.arrival_mid, p.arrival_source, p.strategy_id) == (D(95), "NBBO", "algo")
    # s (N - F A) = 302 - 285; slippage 17 / 285 x 1e4
    assert p.execution_cost == D(17)
    assert p.slippage_arrival_bps == D("596.491228070175438596")
    fees = sum((Fraction(f.fee) for f in fills), Fraction(0))
    assert {f.fee_currency for f in fills} == {"USDT"}
    assert Fraction(p.fees_quote) == fees > 0
    assert p.shortfall_bps == D(round((17 + fees) * 10_000 / 285 * 10**18)).scaleb(-18)
