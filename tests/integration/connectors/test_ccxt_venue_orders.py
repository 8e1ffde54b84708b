"""The ccxt venue's order types against the loopback fake Binance (ccxt signs, sends and
parses everything): native stops with their trigger price, replace (edit_order and
cancel/new), fees from the venue's trades, emulated stops triggered by market data."""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal
from typing import Any

from tapewire.cli.router_main import CcxtRouterVenue, VenueLoop
from tapewire.connectors.orders.ccxt_venue import CcxtVenue, LiveReports
from tapewire.records.market import Trade
from tapewire.streams.execution.rules import VenueFeatures
from tapewire.streams.router.venue import MarketFed
from tapewire.testing.fake_exchange.private import FakeBinancePrivate
from tests.factories.ccxt_venue import KEY, ORDER, SECRET, ccxt_request, kinds, make_venue, run
from tests.factories.market import trade

D = Decimal
SYMBOL = "BTCUSDT"
INST = "BTC-USDT-SPOT"
NO_STOPS = VenueFeatures(order_types=frozenset({"MARKET", "LIMIT"}))
MARKET_STOPS = ("LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT")
"""A symbol that allows market stops (real Binance spot symbols list no ``STOP_LOSS``)."""


def posts(fake: FakeBinancePrivate) -> list[dict[str, str]]:
    """Parameters of every order the fake received (signature removed)."""
    return [r.params for r in fake.requests if r.method == "POST" and r.path == ORDER]


def md_trade(price: str, ts: int) -> Trade:
    """A public trade of BTC-USDT-SPOT on binance, as the router is fed ``md.trades``."""
    return trade(price, "1", ts=ts, venue="binance", instrument=INST)


# ---- native stops: the trigger price reaches the venue ------------------------------------


def test_stop_is_sent_with_its_trigger_price_and_fills_when_triggered() -> None:
    async def scenario(fake: FakeBinancePrivate) -> None:
        async with make_venue(fake) as venue:
            assert "STOP" in venue.rules[INST].features.order_types  # the symbol lists it
            request = ccxt_request("stop-1", side="SELL", kind="STOP", price=None)
            new = await venue.submit(request.replace(stop_price=D("95.005")))
            await fake.trade_at(SYMBOL, "95.50")
            assert fake.orders["stop-1"].status == "NEW"  # above the stop: armed
            await fake.trade_at(SYMBOL, "94.90")
            filled = await venue.poll()
        [sent] = posts(fake)
        assert sent["type"] == "STOP_LOSS"  # ccxt: triggerPrice + market -> STOP_LOSS
        assert sent["stopPrice"] == "95"  # sell stop rounded down to the tick (0.01 grid)
        assert "price" not in sent
        assert "triggerPrice" not in sent
        assert sent["side"] == "SELL"
        assert sent["newClientOrderId"] == "stop-1"
        assert kinds(new) == [("NEW", "NEW")]
        assert new.events[0]["stop_price"] == D(95)
        assert not new.events[0]["emulated"]
        assert kinds(filled) == [("TRADE", "FILLED")]
        assert [(f["price"], f["quantity"], f["liquidity"]) for f in filled.fills] == [
            (D("94.9"), D("0.1"), "TAKER")
        ]

    run(scenario, order_types=MARKET_STOPS)


def test_stop_limit_sends_trigger_limit_and_time_in_force() -> None:
    async def scenario(fake: FakeBinancePrivate) -> None:
        async with make_venue(fake) as venue:
            assert "STOP_LIMIT" in venue.rules[INST].features.order_types  # real symbols too
            request = ccxt_request("sl-1", kind="STOP_LIMIT", price="106.00")
            out = await venue.submit(request.replace(stop_price=D("105.00")))
            await fake.trade_at(SYMBOL, "105.5")  # triggers; the limit 106 takes 105.5
            filled = await venue.poll()
        [sent] = posts(fake)
        assert (sent["type"], sent["stopPrice"], sent["price"], sent["timeInForce"]) == (
            "STOP_LOSS_LIMIT",
            "105",
            "106",
            "GTC",
        )
        assert kinds(out) == [("NEW", "NEW")]
        assert [(f["price"], f["quantity"]) for f in filled.fills] == [(D("105.5"), D("0.1"))]

    run(scenario)


# ---- fees: each venue trade is one Fill with its commission ------------------------------


def test_fills_carry_the_venue_trades_fee_currency_and_liquidity() -> None:
    async def scenario(fake: FakeBinancePrivate) -> None:
        async with make_venue(fake) as venue:
            await venue.submit(ccxt_request("fee-1", qty="0.3", price="100.00"))
            await fake.fill("fee-1", "0.1", "100", maker=True)
            await fake.fill("fee-1", "0.05", "100", maker=True)
            first = await venue.poll()
            fake.fill_on_accept = True  # the FULL answer of the next order lists its trade
            sell = await venue.submit(
                ccxt_request("fee-2", side="SELL", qty="0.123", price="101.37")
            )
        assert fake.count("GET", "/api/v3/myTrades") == 1  # fee-2's trades came with the ack
        trades = fake.orders["fee-1"].trades
        vid = fake.orders["fee-1"].order_id
        assert [
            (f["fill_id"], f["quantity"], f["fee"], f["fee_currency"]) for f in first.fills
        ] == [
            (f"binance:{vid}:t{trades[0].trade_id}", D("0.1"), D("0.0001"), "BTC"),
            (f"binance:{vid}:t{trades[1].trade_id}", D("0.05"), D("0.00005"), "BTC"),
        ]
        assert {f["liquidity"] for f in first.fills} == {"MAKER"}
        assert kinds(first) == [("TRADE", "PARTIALLY_FILLED"), ("TRADE", "PARTIALLY_FILLED")]
        assert first.events[-1]["cum_qty"] == D("0.15")
        # 0.123 x 101.37 x 0.001 = 0.01246851 USDT, exact; Binance's FULL answer does
        # not say maker or taker (ccxt: takerOrMaker None), so neither does the Fill
        assert [(f["fee"], f["fee_currency"], f["liquidity"]) for f in sell.fills] == [
            (D("0.01246851"), "USDT", "UNKNOWN")
        ]
        assert kinds(sell) == [("NEW", "NEW"), ("TRADE", "FILLED")]

    run(scenario)


# ---- replace ------------------------------------------------------------------------------


def test_replace_with_edit_order_reports_pending_replace_then_replaced() -> None:
    async def scenario(fake: FakeBinancePrivate) -> None:
        async with make_venue(fake) as venue:
            assert venue.features.edit_order  # binance.has['editOrder']
            await venue.submit(ccxt_request("r-1", qty="0.1", price="100.00"))
            await fake.fill("r-1", "0.04", "100")
            await venue.poll()
            request = ccxt_request(
                "r-2", qty="0.3", price="99.50", action="REPLACE", orig_client_order_id="r-1"
            )
            out = await venue.submit(request)
            await fake.fill("r-2", "0.26", "99.5")
            done = await venue.poll()
        [call] = [r for r in fake.requests if r.path == "/api/v3/order/cancelReplace"]
        assert call.params["cancelOrderId"] == str(fake.orders["r-1"].order_id)
        assert call.params["newClientOrderId"] == "r-2"
        assert call.params["cancelReplaceMode"] == "STOP_ON_FAILURE"
        assert (call.params["quantity"], call.params["price"]) == ("0.26", "99.5")  # rest
        assert fake.orders["r-1"].status == "CANCELED"
        assert kinds(out) == [
            ("PENDING_REPLACE", "PENDING_REPLACE"),
            ("REPLACED", "PARTIALLY_FILLED"),
        ]
        pending, replaced = out.events
        assert (pending["client_order_id"], pending["orig_client_order_id"]) == ("r-2", "r-1")
        assert (replaced["client_order_id"], replaced["orig_client_order_id"]) == ("r-2", "r-1")
        assert (replaced["quantity"], replaced["limit_price"]) == (D("0.3"), D("99.5"))
        assert (replaced["cum_qty"], replaced["leaves_qty"]) == (D("0.04"), D("0.26"))
        assert replaced["venue_order_id"] == str(fake.orders["r-2"].order_id)
        assert kinds(done) == [("TRADE", "FILLED")]
        assert done.events[0]["cum_qty"] == D("0.3")
        # (0.04 x 100 + 0.26 x 99.5) / 0.3 = 29.87 / 0.3, 18 places
        assert done.events[0]["avg_price"] == D("99.566666666666666667")

    run(scenario)


def test_replace_without_edit_order_cancels_then_sends_the_rest() -> None:
    async def scenario(fake: FakeBinancePrivate) -> None:
        features = VenueFeatures(edit_order=False)
        async with make_venue(fake, features=features) as venue:
            await venue.submit(ccxt_request("cn-1", qty="0.1", price="100.00"))
            request = ccxt_request(
                "cn-2", qty="0.2", price="100.00", action="REPLACE", orig_client_order_id="cn-1"
            )
            out = await venue.submit(request)
            again = await venue.submit(
                ccxt_request(
                    "cn-3", qty="0.2", price="100.00", action="REPLACE",
                    orig_client_order_id="cn-1",
                )
            )  # fmt: skip
        assert [r.method for r in fake.requests if r.path == ORDER] == ["POST", "DELETE", "POST"]
        assert fake.count("POST", "/api/v3/order/cancelReplace") == 0
        assert fake.orders["cn-1"].status == "CANCELED"
        assert (fake.orders["cn-2"].status, fake.orders["cn-2"].quantity) == ("NEW", D("0.2"))
        assert kinds(out) == [("PENDING_REPLACE", "PENDING_REPLACE"), ("REPLACED", "NEW")]
        assert out.events[1]["venue_order_id"] == str(fake.orders["cn-2"].order_id)
        assert kinds(again) == [("REPLACE_REJECTED", "REJECTED")]  # cn-1 is gone
        assert "unknown order" in again.events[0]["text"]

    run(scenario)


def test_replace_refused_by_the_venue_keeps_the_order() -> None:
    async def scenario(fake: FakeBinancePrivate) -> None:
        async with make_venue(fake) as venue:
            await venue.submit(ccxt_request("rr-1", qty="0.1", price="100.00"))
            fake.orders["rr-1"].status = "CANCELED"  # canceled at the venue meanwhile
            out = await venue.submit(
                ccxt_request(
                    "rr-2", qty="0.2", price="100.00", action="REPLACE",
                    orig_client_order_id="rr-1",
                )
            )  # fmt: skip
        assert kinds(out) == [("PENDING_REPLACE", "PENDING_REPLACE"), ("REPLACE_REJECTED", "NEW")]
        assert "cancel-replace failed" in out.events[1]["text"].lower()
        assert out.events[1]["client_order_id"] == "rr-1"
        assert "rr-2" not in fake.orders

    run(scenario)


# ---- emulation: what the venue lacks, triggered by the market data the router sees -------


def test_emulated_stop_is_armed_locally_and_sent_as_market_on_the_trigger() -> None:
    async def scenario(fake: FakeBinancePrivate) -> None:
        async with make_venue(fake) as venue:
            # real Binance spot symbols allow STOP_LOSS_LIMIT but no STOP_LOSS: emulated
            assert "STOP" not in venue.rules[INST].features.order_types
            request = ccxt_request("es-1", kind="STOP", price=None)
            new = await venue.submit(request.replace(stop_price=D("105")))
            assert posts(fake) == []  # armed here, nothing at the venue
            below = await venue.on_trade(md_trade("104.99", 10))
            other = await venue.on_trade(
                trade("200", "1", ts=11, venue="binance", instrument="ETH-USDT-SPOT")
            )
            await fake.trade_at(SYMBOL, "105")  # the venue's market: fills market orders
            fired = await venue.on_trade(md_trade("105", 12))
        assert kinds(new) == [("NEW", "NEW")]
        assert new.events[0]["emulated"]
        assert "emulated stop" in new.events[0]["text"]
        assert below.events == []
        assert other.events == []
        [sent] = posts(fake)
        assert (sent["type"], sent["newClientOrderId"]) == ("MARKET", "es-1")
        assert "stopPrice" not in sent
        assert kinds(fired) == [("RESTATED", "NEW"), ("TRADE", "FILLED")]
        assert "triggered at 105" in fired.events[0]["text"]
        assert fired.events[1]["venue_order_id"] == str(fake.orders["es-1"].order_id)
        assert all(e["emulated"] for e in fired.events)
        assert [(f["price"], f["fee"], f["fee_currency"]) for f in fired.fills] == [
            (D(105), D("0.0001"), "BTC")
        ]

    run(scenario)


def test_emulated_trailing_stop_follows_the_high_water_mark() -> None:
    async def scenario(fake: FakeBinancePrivate) -> None:
        async with make_venue(fake) as venue:
            assert "TRAILING_STOP" not in venue.features.order_types  # binance spot
            request = ccxt_request("ts-1", side="SELL", kind="TRAILING_STOP", price=None)
            await venue.on_trade(md_trade("100", 10))  # reference price for min notional
            await venue.submit(request.replace(trailing_offset=D(2), trailing_offset_type="PRICE"))
            fired_at = []
            for i, price in enumerate(["100", "103", "101.5", "101.01", "101", "99"]):
                await fake.trade_at(SYMBOL, price)
                if (await venue.on_trade(md_trade(price, 20 + i))).fills:
                    fired_at.append(price)
        assert fired_at == ["101"]  # 103 - 2
        assert [p["type"] for p in posts(fake)] == ["MARKET"]

    run(scenario)


def test_emulated_stop_cancel_and_replace_stay_local() -> None:
    async def scenario(fake: FakeBinancePrivate) -> None:
        async with make_venue(fake, features=NO_STOPS) as venue:
            request = ccxt_request("el-1", kind="STOP_LIMIT", price="106.00")
            await venue.submit(request.replace(stop_price=D("105")))
            replace = ccxt_request(
                "el-2", kind="STOP_LIMIT", price="108.00", action="REPLACE",
                orig_client_order_id="el-1",
            ).replace(stop_price=D("107"))  # fmt: skip
            replaced = await venue.submit(replace)
            quiet = await venue.on_trade(md_trade("106", 10))  # the old stop would fire
            canceled = await venue.cancel("el-2")
            after = await venue.on_trade(md_trade("110", 11))
        assert fake.requests == []
        assert kinds(replaced) == [("PENDING_REPLACE", "PENDING_REPLACE"), ("REPLACED", "NEW")]
        assert replaced.events[1]["stop_price"] == D(107)
        assert quiet.events == []
        assert kinds(canceled) == [("CANCELED", "CANCELED")]
        assert after.events == []

    run(scenario)


# ---- execution reports pushed by the venue (ccxt.pro watch_orders), polling as fallback --


async def collect(venue: CcxtVenue, fills: int, **kw: Any) -> list[LiveReports]:
    """Run ``venue.watch_reports`` until ``fills`` fills arrived (at most 10 s)."""
    got: list[LiveReports] = []
    done = asyncio.Event()

    async def sink(out: LiveReports) -> None:
        got.append(out)
        if sum(len(o.fills) for o in got) >= fills:
            done.set()

    task = asyncio.create_task(venue.watch_reports(sink, **kw))
    try:
        await asyncio.wait_for(done.wait(), timeout=10)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return got


def test_watch_orders_reports_fills_the_venue_pushes_without_polling() -> None:
    async def scenario(fake: FakeBinancePrivate) -> None:
        async with make_venue(fake, ws_base_url=fake.ws_url) as venue:
            assert venue.can_watch_orders  # ccxt.pro binance.has['watchOrders']
            await venue.submit(ccxt_request("w-1", qty="0.3"))

            async def fills_when_subscribed() -> None:
                # after the subscription and the one poll that covers its handshake
                while not fake.ws_requests or not fake.count("GET", ORDER):
                    await asyncio.sleep(0.01)
                await fake.fill("w-1", "0.1", "100")
                await fake.fill("w-1", "0.2", "99.99", maker=False)

            got, _ = await asyncio.gather(
                collect(venue, 2, poll_interval_s=0.1), fills_when_subscribed()
            )
        [subscribe] = fake.ws_requests
        assert subscribe["method"] == "userDataStream.subscribe.signature"
        assert fake.count("GET", ORDER) == 1  # only the poll after subscribing
        events = [e for out in got for e in out.events]
        fills = [f for out in got for f in out.fills]
        assert [(e["exec_type"], e["status"]) for e in events] == [
            ("TRADE", "PARTIALLY_FILLED"),
            ("TRADE", "FILLED"),
        ]
        assert [(f["quantity"], f["price"], f["fee"], f["liquidity"]) for f in fills] == [
            (D("0.1"), D(100), D("0.0001"), "MAKER"),
            (D("0.2"), D("99.99"), D("0.0002"), "TAKER"),
        ]

    run(scenario)


def test_polling_is_the_fallback_when_orders_cannot_be_watched() -> None:
    async def scenario(fake: FakeBinancePrivate) -> None:
        async with (
            make_venue(fake, watch_orders=False) as polled,
            make_venue(fake, account="other", ws_base_url="ws://127.0.0.1:9") as broken,
        ):
            assert not polled.can_watch_orders
            await polled.submit(ccxt_request("p-1"))
            await broken.submit(ccxt_request("p-2"))
            await fake.fill("p-1", "0.1", "100")
            await fake.fill("p-2", "0.1", "100")
            by_poll = await collect(polled, 1, poll_interval_s=0.01)
            after_error = await collect(broken, 1, poll_interval_s=0.01)  # ws refused: poll
        assert [f["client_order_id"] for out in by_poll for f in out.fills] == ["p-1"]
        assert [f["client_order_id"] for out in after_error for f in out.fills] == ["p-2"]
        assert fake.ws_requests == []

    run(scenario)


def test_router_venue_triggers_emulated_stops_from_md_trades() -> None:
    """``CcxtRouterVenue`` (the router process's synchronous venue) is fed ``md.trades``:
    a trade hops to the venue's loop only while a stop of its instrument is armed."""
    loop = VenueLoop()
    fake = FakeBinancePrivate(api_key=KEY, secret=SECRET)
    try:
        loop.run(fake.start(), 10)
        venue = make_venue(fake)
        loop.run(venue.start(), 10)
        router = CcxtRouterVenue(venue, loop, call_timeout_s=10)
        assert isinstance(router, MarketFed)
        quiet = router.on_trade(md_trade("104", 1))  # nothing armed: no hop, no call
        request = ccxt_request("rv-1", kind="STOP", price=None).replace(stop_price=D(105))
        new = router.submit(request, 2)
        loop.run(fake.trade_at(SYMBOL, "105"), 10)
        fired = router.on_trade(md_trade("105", 3))
        loop.run(venue.close(), 10)
    finally:
        loop.run(fake.stop(), 10)
        loop.stop()
    assert quiet.events == []
    assert venue.last_price[INST] == D(105)
    assert [(e["exec_type"], e["status"]) for e in new.events] == [("NEW", "NEW")]
    assert [(e["exec_type"], e["status"]) for e in fired.events] == [
        ("RESTATED", "NEW"),
        ("TRADE", "FILLED"),
    ]
    assert [p["type"] for p in posts(fake)] == ["MARKET"]
