"""Paper venues reconcile on the router's restart path (``Reconciling``): a known order
reports its state, an unknown one is quarantined exactly as on the ccxt venue."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tapewire.records.risk import Alert
from tapewire.streams.execution.common import quarantine_text
from tapewire.streams.execution.paper import PaperConfig
from tapewire.streams.oms.reports import LiveReports
from tapewire.streams.router.recovery import plan_recovery
from tapewire.streams.router.stage import RouterStage
from tapewire.streams.router.venue import PaperVenueAdapter, Reconciling
from tests.factories import INST
from tests.factories.market import book, trade
from tests.factories.orders import order_event, order_request, recovered_order
from tests.factories.paper import encode_all
from tests.factories.stages import CODEC, decoded

D = Decimal


def adapter() -> PaperVenueAdapter:
    venue = PaperVenueAdapter(PaperConfig("binance"))
    venue.on_book(book("binance", [("99", "5")], [("101", "5")], ts=1))
    return venue


def alerts(out: Any) -> list[Alert]:
    assert isinstance(out, LiveReports)
    for a in out.alerts:
        CODEC.encode("alerts", a)
    return out.alerts


def test_paper_adapter_is_reconciling() -> None:
    assert isinstance(adapter(), Reconciling)


def test_known_resting_order_reports_its_state() -> None:
    venue = adapter()
    venue.submit(order_request("rest-1"), 10)
    out = venue.reconcile([recovered_order("rest-1")], 20)
    encode_all(out)
    assert [(e["client_order_id"], e["exec_type"], e["status"]) for e in out.events] == [
        ("rest-1", "ORDER_STATUS", "NEW")
    ]
    assert (
        out.events[0]["text"] == "reconciled by client order id (open at restart (last status NEW))"
    )
    assert (out.events[0]["cum_qty"], out.events[0]["leaves_qty"]) == (0, D(1))
    assert out.fills == []
    assert alerts(out) == []


def test_known_order_re_reports_only_the_fills_not_yet_reported() -> None:
    venue = adapter()
    venue.submit(order_request("rest-2", qty="3"), 10)
    first = venue.on_trade(trade("99", "1", ts=20))
    second = venue.on_trade(trade("99", "1", ts=30))
    assert [f["quantity"] for f in first.fills + second.fills] == [D(1), D(1)]
    # the restart saw the first fill
    out = venue.reconcile([recovered_order("rest-2", cum_qty="1")], 40)
    encode_all(out)
    assert [f["fill_id"] for f in out.fills] == [second.fills[0]["fill_id"]]
    assert out.fills == second.fills  # the same record: downstream de-duplicates by fill_id
    assert [(e["status"], e["cum_qty"], e["leaves_qty"]) for e in out.events] == [
        ("PARTIALLY_FILLED", D(2), D(1))
    ]


def test_unknown_order_is_quarantined_like_the_ccxt_venue_and_never_sent() -> None:
    venue = adapter()
    out = venue.reconcile([recovered_order("ghost-1", venue_seq=2)], 20)
    encode_all(out)
    (ev,) = out.events
    why = "paper venue binance has no order 'ghost-1' of 'acct'"
    assert (ev["exec_type"], ev["status"], ev["leaves_qty"]) == ("ORDER_STATUS", "UNKNOWN", 0)
    assert ev["text"] == quarantine_text(why)
    assert ev["text"].endswith("; not re-sent")
    assert ev["event_id"] == "binance:acct:ghost-1:3"  # continues the venue's own ids
    assert [(a["code"], a["severity"], a["source"], a["labels"]) for a in alerts(out)] == [
        (
            "ORDER_QUARANTINED",
            "CRITICAL",
            "venue:binance",
            {
                "venue": "binance",
                "account": "acct",
                "instrument": INST,
                "client_order_id": "ghost-1",
            },
        )
    ]
    assert alerts(out)[0]["message"] == f"order ghost-1 on binance/acct: {ev['text']}"
    again = venue.submit(order_request("ghost-1"), 30)  # the id is used: never sent as a new order
    assert [(e["status"], e["text"]) for e in again.events] == [
        ("REJECTED", "duplicate client_order_id")
    ]
    assert venue.paper.open_orders() == []


def test_order_quarantined_before_is_not_quarantined_twice() -> None:
    """A second restart: the quarantine is already on ``oms.events``; asking again changes
    nothing, so nothing is reported (no second event or alert), and the id stays used."""
    venue = adapter()
    recovered = recovered_order(
        "ghost-1", status="UNKNOWN", venue_seq=3, reason="quarantined", quarantined=True
    )
    out = venue.reconcile([recovered], 20)
    assert (out.events, out.fills, alerts(out)) == ([], [], [])
    again = venue.submit(order_request("ghost-1"), 30)
    assert [(e["status"], e["text"]) for e in again.events] == [
        ("REJECTED", "duplicate client_order_id")
    ]


def test_order_of_another_account_is_not_reported_but_quarantined() -> None:
    venue = adapter()
    venue.submit(order_request("shared"), 10)
    out = venue.reconcile([recovered_order("shared", account="other")], 20)
    assert [(e["account"], e["status"]) for e in out.events] == [("other", "UNKNOWN")]
    assert [a["labels"]["account"] for a in alerts(out)] == ["other"]


def test_router_restart_path_on_a_paper_venue() -> None:
    venue = adapter()
    venue.submit(order_request("live"), 10)
    events = [order_event("live", "NEW", 1), order_event("lost", "PENDING_NEW", None)]
    stage = RouterStage(CODEC, [venue])
    out = stage.recover(plan_recovery(events, [], {"binance"}), 50)
    got = decoded(out, "oms.events")
    assert [(e["client_order_id"], e["exec_type"], e["status"]) for e in got] == [
        ("live", "ORDER_STATUS", "NEW"),
        ("lost", "ORDER_STATUS", "UNKNOWN"),
    ]
    assert [(a["code"], a["labels"]["client_order_id"]) for a in decoded(out, "alerts")] == [
        ("ORDER_QUARANTINED", "lost")
    ]
    assert ("acct", "lost") in stage.known
