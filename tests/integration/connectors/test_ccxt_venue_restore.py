"""``CcxtVenue.restore`` (the public restart API) against the loopback fake Binance.

A first venue object sends the order; a second one — the restarted process, which
knows the order only from ``oms.events`` — takes it on with ``restore`` and reconciles
it by client order id with real ccxt signing and parsing. No order is ever re-sent.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr

from tapewire.connectors.orders.ccxt_venue import CcxtVenue, CcxtVenueConfig, CcxtVenueError
from tapewire.connectors.orders.keys import Credentials
from tapewire.streams.router.recovery import RecoveredOrder
from tapewire.testing.fake_exchange.private import FakeBinancePrivate
from tests.factories.ccxt_venue import KEY, ORDER, SECRET, ccxt_request, kinds, make_venue, run
from tests.factories.market import trade
from tests.factories.orders import recovered_order

D = Decimal


def recovered(
    cid: str,
    *,
    status: str = "PENDING_NEW",
    venue_order_id: str | None = None,
    cum_qty: str = "0",
    avg_price: str | None = None,
    venue_seq: int = 0,
    **request_changes: object,
) -> RecoveredOrder:
    """What ``plan_recovery`` hands the router for ``cid`` after a restart."""
    request = ccxt_request(cid).replace(**request_changes)
    return recovered_order(
        cid,
        account=str(request["account"]),
        venue=str(request["venue"]),
        request=request,
        status=status,
        venue_order_id=venue_order_id,
        cum_qty=cum_qty,
        avg_price=avg_price,
        venue_seq=venue_seq,
        reason="test restart",
    )


def test_restored_send_intent_is_found_by_client_order_id_not_resent() -> None:
    async def scenario(fake: FakeBinancePrivate) -> None:
        async with make_venue(fake) as before:
            await before.submit(ccxt_request("rs-1"))
        async with make_venue(fake) as after:  # the restarted process
            assert after.restore(recovered("rs-1")) is True
            assert after.restore(recovered("rs-1")) is False  # already tracked: unchanged
            out = await after.reconcile(["rs-1"])
        assert fake.count("POST", ORDER) == 1
        assert kinds(out) == [("NEW", "NEW")]
        event = out.events[0]
        assert event["venue_order_id"] == str(fake.orders["rs-1"].order_id)
        assert event["text"] == "reconciled by client order id (reconciliation requested)"
        assert event["event_id"] == "binance:main:rs-1:1"
        lookups = [r for r in fake.requests if r.method == "GET" and r.path == ORDER]
        assert [r.params["origClientOrderId"] for r in lookups] == ["rs-1"]

    run(scenario)


def test_restored_partial_fill_reports_only_the_rest_and_continues_event_ids() -> None:
    async def scenario(fake: FakeBinancePrivate) -> None:
        async with make_venue(fake) as before:
            await before.submit(ccxt_request("rs-2", qty="0.1", price="100.00"))
        held = fake.orders["rs-2"]
        held.executed, held.quote, held.status = D("0.1"), D("10"), "FILLED"
        async with make_venue(fake) as after:
            # 0.04 @ 100 was reported before the restart, in venue events 1 and 2
            order = recovered(
                "rs-2",
                status="PARTIALLY_FILLED",
                venue_order_id=str(held.order_id),
                cum_qty="0.04",
                avg_price="100",
                venue_seq=2,
            )
            assert after.restore(order)
            out = await after.reconcile(["rs-2"])
        assert fake.count("POST", ORDER) == 1
        assert kinds(out) == [("TRADE", "FILLED")]
        assert out.events[0]["event_id"] == "binance:main:rs-2:3"
        assert (out.events[0]["last_qty"], out.events[0]["last_price"]) == (D("0.06"), D(100))
        assert out.events[0]["cum_qty"] == D("0.1")
        assert [(f["quantity"], f["price"]) for f in out.fills] == [(D("0.06"), D(100))]

    run(scenario)


def test_order_quarantined_before_the_restart_is_not_quarantined_again() -> None:
    """Its quarantine is already on ``oms.events``: asking the venue again (the restart,
    a retry) and still not finding it reports nothing; it stays quarantined, never sent."""

    async def scenario(fake: FakeBinancePrivate) -> None:
        before = recovered("ghost-2", status="UNKNOWN", venue_seq=2)
        async with make_venue(fake) as after:
            assert after.restore(replace(before, quarantined=True))
            out = await after.reconcile(["ghost-2"])
            retry = await after.reconcile()
            assert after.quarantined == ["ghost-2"]
            again = await after.submit(ccxt_request("ghost-2"))
        assert fake.count("POST", ORDER) == 0
        assert (out.events, out.alerts, retry.events, retry.alerts) == ([], [], [], [])
        assert kinds(again) == [("ORDER_STATUS", "UNKNOWN")]
        assert again.events[0]["text"] == "order is quarantined; not re-sent"

    run(scenario)


def test_restored_order_the_venue_does_not_know_is_quarantined_never_sent() -> None:
    async def scenario(fake: FakeBinancePrivate) -> None:
        async with make_venue(fake) as after:
            assert after.restore(recovered("ghost-1", status="PENDING_REPLACE"))
            out = await after.reconcile(["ghost-1"])
            assert after.quarantined == ["ghost-1"]
        assert fake.count("POST", ORDER) == 0
        assert kinds(out) == [("ORDER_STATUS", "UNKNOWN")]
        assert "not re-sent" in out.events[0]["text"]
        assert [(a["code"], a["labels"]["client_order_id"]) for a in out.alerts] == [
            ("ORDER_QUARANTINED", "ghost-1")
        ]

    run(scenario)


def offline_venue() -> CcxtVenue:
    """A venue that is never started (``restore`` makes no call)."""
    config = CcxtVenueConfig(venue="binance", account="main", instruments={"X-USDT-SPOT": "X/T"})
    return CcxtVenue(config, Credentials("binance", "main", SecretStr(KEY), SecretStr(SECRET)))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"account": "other"},
            "cannot restore 'o-1': it is an order of account 'other', this venue trades "
            "account 'main'",
        ),
        (
            {"venue": "okx"},
            "cannot restore 'o-1': it is an order of venue 'okx', this venue trades venue "
            "'binance'",
        ),
        (
            {"client_order_id": "o-2"},
            "cannot restore 'o-1': its request has client order id 'o-2'",
        ),
    ],
)
def test_restore_refuses_an_order_of_another_account_or_venue(
    changes: dict[str, Any], message: str
) -> None:
    venue = offline_venue()
    with pytest.raises(CcxtVenueError) as info:
        venue.restore(recovered("o-1", **changes))
    assert str(info.value).startswith(message)
    assert venue.orders == {}


def test_ccxt_symbol_uses_the_configured_map_then_the_canonical_mapping() -> None:
    venue = offline_venue()
    assert venue.ccxt_symbol("X-USDT-SPOT") == "X/T"
    assert venue.ccxt_symbol("BTC-USDT-SPOT") == "BTC/USDT"


def test_restored_emulated_stop_is_rearmed_not_quarantined() -> None:
    """An emulated stop lives in the process that armed it: after a restart the venue does
    not know its client order id, so reconciliation arms it again (no alert) and the
    triggering trade sends it once."""

    async def scenario(fake: FakeBinancePrivate) -> None:
        stop: dict[str, Any] = {"order_type": "STOP", "limit_price": None, "stop_price": D(105)}
        async with make_venue(fake) as before:
            armed = await before.submit(ccxt_request("es-r").replace(**stop))
        assert armed.events[0]["emulated"]  # real Binance symbols: STOP is emulated
        async with make_venue(fake) as after:
            assert after.restore(recovered("es-r", status="NEW", venue_seq=1, **stop))
            out = await after.reconcile(["es-r"])
            await fake.trade_at("BTCUSDT", "105")
            fired = await after.on_trade(
                trade("105", "1", ts=5, venue="binance", instrument="BTC-USDT-SPOT")
            )
            assert after.quarantined == []
        assert kinds(out) == [("ORDER_STATUS", "NEW")]
        assert "emulated stop re-armed locally" in out.events[0]["text"]
        assert out.events[0]["event_id"].endswith(":es-r:2")
        assert out.alerts == []
        assert kinds(fired) == [("RESTATED", "NEW"), ("TRADE", "FILLED")]
        assert [r.params["type"] for r in fake.requests if r.method == "POST"] == ["MARKET"]

    run(scenario)
