"""route, cancel and the SmartOrderRouter: child requests, re-routes, restart."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tapewire.schemas.codec import Codec
from tapewire.streams.execution.paper import PaperConfig, PaperVenue
from tapewire.streams.oms import (
    OrderAction,
    OrderType,
    OrderValidationError,
    OrdStatus,
    Side,
    TimeInForce,
    validate_request,
)
from tapewire.streams.oms.request import OrderRequest
from tapewire.streams.sor import (
    ParentRequest,
    SmartOrderRouter,
    SorConfig,
    SorError,
    child_id,
    rebuild,
    route,
)
from tests.factories import INST
from tests.factories.market import book
from tests.factories.sor import levels, rules, terms

D = Decimal
CODEC = Codec()
VENUES = (
    terms("a", taker_bps=10, venue_rules=rules("a", lot="0.001", min_notional=5)),
    terms("b", taker_bps=5, venue_rules=rules("b", lot="0.01", min_notional=5)),
)


def parent_request(quantity: str = "3", **changes: object) -> ParentRequest:
    fields: dict[str, object] = {
        "parent_id": "p1",
        "account": "acct",
        "instrument": INST,
        "side": Side.BUY,
        "quantity": D(quantity),
        "request_ts_ns": 10,
        "strategy_id": "algo",
    }
    return ParentRequest(**(fields | changes))  # type: ignore[arg-type]


class Desk:
    """A router and two paper venues fed the same books; children go straight to the
    venues (as if the risk gate approved them) and the reports come back."""

    def __init__(self) -> None:
        self.router = SmartOrderRouter(SorConfig(VENUES))
        self.papers = {
            t.venue: PaperVenue(PaperConfig(t.venue, fees=t.fees, rules=dict(t.rules)))
            for t in VENUES
        }
        self.sent: list[OrderRequest] = []

    def book(self, venue: str, asks: list[tuple[str, str]], ts: int) -> None:
        update = book(venue, [("90", "1")], asks, ts=ts)
        self.router.on_book(update)
        self.papers[venue].on_book(update)

    def send(self, requests: list[OrderRequest], now: int) -> None:
        for request in requests:
            assert validate_request(request) == []  # what the risk gate checks first
            CODEC.encode("oms.requests", request.to_record())
            self.sent.append(request)
            reports = self.papers[request.venue].submit(request.to_record(), now)
            for event in reports.events:
                self.router.on_order_event(event)
            for fill in reports.fills:
                self.router.on_fill(fill)


def test_children_are_ordinary_ioc_limit_requests_linked_to_the_parent() -> None:
    router = SmartOrderRouter(SorConfig(VENUES))
    router.on_book(book("a", [], [("100", "1"), ("102", "5")], ts=1))
    router.on_book(book("b", [], [("101", "5")], ts=1))
    requests = router.submit(parent_request("3"), now_ns=10)
    assert [(r.client_order_id, r.venue, r.quantity, r.limit_price) for r in requests] == [
        ("p1:c1", "a", D(1), D(100)),
        ("p1:c2", "b", D(2), D(101)),
    ]
    for r in requests:
        assert (r.action, r.order_type, r.time_in_force) == (
            OrderAction.NEW,
            OrderType.LIMIT,
            TimeInForce.IOC,
        )
        assert (r.account, r.instrument, r.side, r.strategy_id) == ("acct", INST, Side.BUY, "algo")
        assert r.tags == {"sor.parent": "p1", "sor.wave": "1", "sor.parent_qty": "3"}
        assert (r.requested_by, r.request_ts_ns) == ("sor", 10)
        assert validate_request(r) == []
    assert router.child_parent == {"p1:c1": "p1", "p1:c2": "p1"}
    assert router.parents["p1"].status is OrdStatus.NEW


def test_child_ids_stay_within_the_id_limit_and_are_deterministic() -> None:
    long_parent = "x" * 70
    assert len(child_id(long_parent, 12)) <= 64
    assert child_id(long_parent, 12) == child_id(long_parent, 12) != child_id(long_parent, 13)
    assert child_id("p1", 3) == "p1:c3"


def test_the_remainder_is_rerouted_on_the_book_after_the_children_end() -> None:
    desk = Desk()
    desk.book("a", [("100", "1")], ts=1)
    desk.book("b", [("101", "1")], ts=1)
    desk.send(desk.router.submit(parent_request("3"), 10), 10)
    parent = desk.router.parents["p1"]
    assert (parent.cum_qty, parent.routable_qty, parent.status) == (
        D(2),
        D(1),
        OrdStatus.PARTIALLY_FILLED,
    )
    assert desk.router.reroute(11) == []  # same book: nothing new to take
    desk.book("a", [("102", "5")], ts=20)  # a's book after our fill
    desk.book("b", [("100.5", "4")], ts=20)  # b refills, better
    second = desk.router.reroute(21)
    assert [(r.client_order_id, r.venue, r.quantity, r.tags["sor.wave"]) for r in second] == [
        ("p1:c3", "b", D(1), "2")
    ]
    desk.send(second, 21)
    parent = desk.router.parents["p1"]
    assert (parent.status, parent.cum_qty, parent.leaves_qty, parent.waves) == (
        OrdStatus.FILLED,
        D(3),
        D(0),
        2,
    )
    assert parent.avg_price == D("100.5")  # (100 + 101 + 100.5) / 3
    assert [r.venue for r in desk.sent] == ["a", "b", "b"]
    assert desk.router.reroute(22) == []


def test_no_new_wave_while_a_child_is_open() -> None:
    router = SmartOrderRouter(SorConfig(VENUES))
    router.on_book(book("a", [], [("100", "1")], ts=1))
    router.submit(parent_request("3"), 10)
    router.on_book(book("b", [], [("100", "9")], ts=2))
    assert router.reroute(11) == []  # p1:c1 has no final event yet
    parent = router.parents["p1"]
    assert route(parent, levels("b", ("100", "9")), router.terms, 11) is None


def test_a_parent_is_restricted_to_its_venues_and_its_limit() -> None:
    router = SmartOrderRouter(SorConfig(VENUES))
    router.on_book(book("a", [], [("100", "5")], ts=1))
    router.on_book(book("b", [], [("99", "1"), ("105", "5")], ts=1))
    requests = router.submit(parent_request("3", venues=("b",), limit_price=D(104)), 10)
    assert [(r.venue, r.quantity, r.limit_price) for r in requests] == [("b", D(1), D(99))]


def test_cancel_sends_cancels_for_open_children_and_ends_canceled() -> None:
    desk = Desk()
    desk.book("a", [("100", "1")], ts=1)
    requests = desk.router.submit(parent_request("3"), 10)  # not sent: c1 stays open
    cancels = desk.router.cancel("p1", 12, reason="user")
    assert [(c.action, c.orig_client_order_id, c.client_order_id) for c in cancels] == [
        (OrderAction.CANCEL, "p1:c1", "p1:c1:x")
    ]
    assert all(validate_request(c) == [] for c in cancels)
    assert desk.router.parents["p1"].status is OrdStatus.PENDING_CANCEL
    desk.send(requests, 13)  # the IOC child executes and ends
    parent = desk.router.parents["p1"]
    assert (parent.status, parent.cum_qty, parent.leaves_qty) == (OrdStatus.CANCELED, D(1), D(0))
    desk.book("a", [("100", "5")], ts=30)
    assert desk.router.reroute(31) == []


def test_the_router_restored_from_its_journal_equals_the_live_one() -> None:
    desk = Desk()
    desk.book("a", [("100", "1")], ts=1)
    desk.book("b", [("101", "1")], ts=1)
    desk.send(desk.router.submit(parent_request("3"), 10), 10)
    journal = desk.router.take_events()
    restored = SmartOrderRouter(SorConfig(VENUES))
    restored.restore(journal)
    assert restored.parents == desk.router.parents
    assert restored.child_parent == desk.router.child_parent
    assert rebuild(journal) == desk.router.parents["p1"]
    assert restored.take_events() == []
    # after the restart, the remainder is routed on the rebuilt book with the next ids
    restored.on_book(book("b", [], [("100.5", "4")], ts=20))
    assert [r.client_order_id for r in restored.reroute(21)] == ["p1:c3"]


def test_a_duplicate_or_bad_parent_is_refused() -> None:
    router = SmartOrderRouter(SorConfig(VENUES))
    router.submit(parent_request("1"), 10)
    with pytest.raises(SorError, match="taken"):
        router.submit(parent_request("1"), 11)
    with pytest.raises(OrderValidationError, match="venues") as info:
        router.submit(parent_request("1", parent_id="p2", venues=("nowhere",)), 11)
    assert info.value.field == "venues"
    with pytest.raises(OrderValidationError, match="quantity"):
        router.submit(parent_request("0", parent_id="p3"), 11)
    with pytest.raises(OrderValidationError, match="canonical"):
        router.submit(parent_request("1", parent_id="p4", instrument="btc-usdt-spot"), 11)


def test_a_parent_with_no_book_yet_waits_for_one() -> None:
    router = SmartOrderRouter(SorConfig(VENUES))
    assert router.submit(parent_request("1"), 10) == []
    assert router.parents["p1"].status is OrdStatus.PENDING_NEW
    router.on_book(book("a", [], [("100", "1")], ts=11))
    assert [r.venue for r in router.reroute(12)] == ["a"]
