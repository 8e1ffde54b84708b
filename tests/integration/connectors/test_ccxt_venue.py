"""The ccxt venue against the loopback fake Binance (real ccxt signing and parsing).

Timing assertions are lower bounds only (a retry never comes before ``Retry-After``);
every wait is bounded by the client timeout or the penalty of the test.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from tapewire.connectors.live.limiter import VenueRateLimiter
from tapewire.connectors.orders.ccxt_venue import LiveReports, _Live
from tapewire.streams.execution.rules import VenueFeatures
from tapewire.testing.fake_exchange.private import FakeBinancePrivate, PrivateFault
from tests.factories.ccxt_venue import ORDER, ccxt_request, kinds, make_venue, run

OPEN = "/api/v3/openOrders"


def test_new_order_ack_is_new_event() -> None:
    async def scenario(fake: FakeBinancePrivate) -> None:
        async with make_venue(fake) as venue:
            out = await venue.submit(ccxt_request("ack-1", qty="0.123456789"))
        assert kinds(out) == [("NEW", "NEW")]
        event = out.events[0]
        assert event["venue_order_id"] == str(fake.orders["ack-1"].order_id)
        assert event["quantity"] == Decimal("0.12345")  # rounded down to the 0.00001 lot
        assert "quantity 0.123456789 -> 0.12345" in event["text"]
        assert fake.orders["ack-1"].quantity == Decimal("0.12345")
        assert fake.count("POST", ORDER) == 1

    run(scenario)


def test_429_waits_for_retry_after_then_succeeds_with_same_client_id() -> None:
    async def scenario(fake: FakeBinancePrivate) -> None:
        fake.faults.append(PrivateFault("status", status=429, retry_after="1"))
        async with make_venue(fake) as venue:
            out = await venue.submit(ccxt_request("rl-1"))
            assert venue.key_limiter.penalties == [(429, 1.0)]
            assert venue.venue_limiter.penalties == []
        posts = [r for r in fake.requests if r.path == ORDER and r.method == "POST"]
        assert [r.status for r in posts] == [429, 200]
        assert {r.params["newClientOrderId"] for r in posts} == {"rl-1"}
        assert posts[1].mono - posts[0].mono >= 0.95
        assert kinds(out) == [("NEW", "NEW")]

    run(scenario)


def test_418_makes_every_call_of_the_venue_wait() -> None:
    async def scenario(fake: FakeBinancePrivate) -> None:
        shared = VenueRateLimiter("binance")
        fake.faults.append(PrivateFault("status", status=418, retry_after="1"))
        async with (
            make_venue(fake, account="a", venue_limiter=shared) as first,
            make_venue(fake, account="b", venue_limiter=shared) as second,
        ):

            async def other_account() -> LiveReports:
                # once the limiter has seen the 418 (the fake records it a moment earlier,
                # before the answer reaches the client: waiting on that raced under load)
                while not shared.penalties:
                    await asyncio.sleep(0.01)
                return await second.submit(ccxt_request("ban-b"))

            out_a, out_b = await asyncio.gather(
                first.submit(ccxt_request("ban-a")), other_account()
            )
        banned = next(r for r in fake.requests if r.status == 418)
        after = [r for r in fake.requests if r.mono > banned.mono]
        assert len(after) == 2  # a's retry and b's order
        assert all(r.mono - banned.mono >= 0.95 for r in after)
        assert shared.penalties == [(418, 1.0)]
        assert kinds(out_a) == [("NEW", "NEW")]
        assert kinds(out_b) == [("NEW", "NEW")]

    run(scenario)


def test_timeout_after_accept_reconciles_by_client_id_without_resend() -> None:
    async def scenario(fake: FakeBinancePrivate) -> None:
        fake.fill_on_accept = True
        fake.faults.append(PrivateFault("hang_after_accept", hang_s=2))
        async with make_venue(fake) as venue:
            out = await venue.submit(ccxt_request("to-1"))
        assert fake.count("POST", ORDER) == 1
        lookups = [r for r in fake.requests if r.method == "GET" and r.path == ORDER]
        assert lookups[0].params["origClientOrderId"] == "to-1"
        assert kinds(out) == [("ORDER_STATUS", "UNKNOWN"), ("NEW", "NEW"), ("TRADE", "FILLED")]
        assert "timed out" in out.events[0]["text"]
        assert "reconciled by client order id" in out.events[1]["text"]
        assert out.events[2]["cum_qty"] == Decimal("0.1")
        assert [(f["quantity"], f["price"]) for f in out.fills] == [(Decimal("0.1"), Decimal(100))]
        assert out.alerts == []

    run(scenario)


def test_5xx_after_send_reconciles_like_a_timeout() -> None:
    async def scenario(fake: FakeBinancePrivate) -> None:
        fake.faults.append(PrivateFault("status_after_accept", status=502))
        async with make_venue(fake) as venue:
            out = await venue.submit(ccxt_request("5xx-1"))
        assert fake.count("POST", ORDER) == 1
        assert kinds(out) == [("ORDER_STATUS", "UNKNOWN"), ("NEW", "NEW")]
        assert "HTTP 502" in out.events[0]["text"]
        assert out.events[1]["venue_order_id"] == str(fake.orders["5xx-1"].order_id)

    run(scenario)


def test_order_unknown_after_timeout_is_quarantined_never_resent() -> None:
    async def scenario(fake: FakeBinancePrivate) -> None:
        fake.faults.append(PrivateFault("hang_before_accept", hang_s=2))
        async with make_venue(fake) as venue:
            out = await venue.submit(ccxt_request("lost-1"))
            again = await venue.submit(ccxt_request("lost-1"))
            assert venue.quarantined == ["lost-1"]
        assert fake.count("POST", ORDER) == 1
        assert "lost-1" not in fake.orders
        assert kinds(out) == [("ORDER_STATUS", "UNKNOWN"), ("ORDER_STATUS", "UNKNOWN")]
        assert [(a["code"], a["severity"]) for a in out.alerts] == [
            ("ORDER_QUARANTINED", "CRITICAL")
        ]
        assert out.alerts[0]["labels"]["client_order_id"] == "lost-1"
        assert "not re-sent" in out.events[-1]["text"]
        assert kinds(again) == [("ORDER_STATUS", "UNKNOWN")]
        assert again.events[0]["text"] == "order is quarantined; not re-sent"

    run(scenario)


def test_cancel_all_without_native_support_iterates_open_orders() -> None:
    async def scenario(fake: FakeBinancePrivate) -> None:
        features = VenueFeatures(cancel_all=False)
        async with make_venue(fake, features=features) as venue:
            for cid in ("ca-1", "ca-2", "ca-3"):
                await venue.submit(ccxt_request(cid))
            out = await venue.cancel_all(["BTC-USDT-SPOT"])
        assert fake.count("DELETE", OPEN) == 0
        assert fake.count("GET", OPEN) == 1
        assert fake.count("DELETE", ORDER) == 3
        assert {o.status for o in fake.orders.values()} == {"CANCELED"}
        assert sorted((e["client_order_id"], e["exec_type"]) for e in out.events) == [
            ("ca-1", "CANCELED"),
            ("ca-2", "CANCELED"),
            ("ca-3", "CANCELED"),
        ]
        assert all("one by one" in e["text"] for e in out.events)

    run(scenario, native_cancel_all=False)


def test_native_cancel_all_and_single_cancel() -> None:
    async def scenario(fake: FakeBinancePrivate) -> None:
        async with make_venue(fake) as venue:
            assert venue.features.cancel_all  # from ccxt's binance.has
            for cid in ("n-1", "n-2", "n-3"):
                await venue.submit(ccxt_request(cid))
            one = await venue.cancel("n-1")
            rest = await venue.cancel_all()
            twice = await venue.cancel("n-1")
        assert kinds(one) == [("CANCELED", "CANCELED")]
        assert fake.count("DELETE", OPEN) == 1
        assert sorted(e["client_order_id"] for e in rest.events) == ["n-2", "n-3"]
        assert kinds(twice) == [("CANCEL_REJECTED", "CANCELED")]

    run(scenario)


def test_fill_price_from_order_state_is_exact_for_a_tiny_increment() -> None:
    """A fill derived from two order states is priced (notional after - notional before) /
    filled delta in exact decimals; Python's default 28-digit context gave 66234.25 here."""

    async def scenario(fake: FakeBinancePrivate) -> None:
        async with make_venue(fake) as venue:
            venue.fetch_trades = False  # as on a venue without a trades API
            order = _Live(
                req=ccxt_request("tiny-1", qty="2000", price="70000"),
                symbol="BTC/USDT",
                status="NEW",
            )
            out = LiveReports()
            for filled, average in (
                ("1234.123456789012345677", "65000.123456789012345678"),
                ("1234.123456789012345678", "65000.123456789012345679"),
            ):
                row = {"id": "1", "status": "open", "filled": filled, "average": average}
                await venue._apply(order, row, out, text="poll")
        assert [f["quantity"] for f in out.fills] == [
            Decimal("1234.123456789012345677"),
            Decimal("0.000000000000000001"),
        ]
        assert [f["price"] for f in out.fills] == [
            Decimal("65000.123456789012345678"),
            Decimal("66234.246913578024691356"),
        ]

    run(scenario)
