"""A ``trade`` process killed with SIGKILL and started again keeps its open paper orders
and its daily loss: both are rebuilt from what it wrote to Kafka."""

from __future__ import annotations

import time
from pathlib import Path

from tests.factories.market import book, nbbo, trade
from tests.factories.orders import order_request
from tests.integration.deploy.trade_desk import Desk, account_limits

LOSS = "daily_loss_limit"


def _config(bootstrap: str, prefix: str) -> str:
    return f"""
[kafka]
bootstrap = "{bootstrap}"
topic_prefix = "{prefix}"
partitions = 1

[trading]
shell = "hotpath"
paper_venues = ["binance"]
""" + account_limits("acct")


def test_a_killed_trade_process_keeps_open_paper_orders_and_daily_loss(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    desk = Desk(kafka_bootstrap, tmp_path, _config)
    role = desk.trade()
    now = time.time_ns()
    try:
        role.start()
        desk.send("md.book", book("binance", [("100", "10")], [("101", "10")], ts=now))
        desk.send("md.nbbo", nbbo("100", "101", ts=now, bid_venue="binance"))
        desk.send(
            "oms.requests",
            order_request("rest1", price="99", qty="1", tif="GTC", ts=now),
            order_request("take1", price="101", qty="1", tif="IOC", ts=now + 1),
        )
        role.wait("the IOC buy fills", lambda: len(desk.fills("take1")) == 1)
        # the market drops: the position (1 at 101) marks at 95.5, a loss of 5.5 > 5
        desk.send("md.nbbo", nbbo("95", "96", ts=now + 2, bid_venue="binance"))
        role.wait(
            "the loss is marked",
            lambda: any(p["unrealized_pnl"] < -5 for p in desk.read("positions")),
        )
        desk.send("oms.requests", order_request("probe1", price="96", qty="0.1", ts=now + 3))
        role.wait("a buy is denied for the daily loss", lambda: desk.denied("probe1", LOSS))
        rested = [e for e in desk.read("oms.events") if e["client_order_id"] == "rest1"]
        assert [e["status"] for e in rested] == ["NEW"]

        role.kill()
        role.start()

        # risk needs a fresh NBBO after a restart (it never prices against an old one);
        # then the daily loss survived: the same kind of order is denied again
        desk.send("md.nbbo", nbbo("95", "96", ts=now + 4, bid_venue="binance"))
        desk.send("oms.requests", order_request("probe2", price="96", qty="0.1", ts=now + 4))
        role.wait("denied for the loss after the restart", lambda: desk.denied("probe2", LOSS))
        # the resting buy at 99 survived: a trade through it fills it
        desk.send("md.trades", trade("98.5", "2", ts=now + 5, trade_id="x1"))
        role.wait("the resting order fills after the restart", lambda: desk.fills("rest1") != [])
        (filled,) = desk.fills("rest1")
        assert (filled["price"], filled["quantity"]) == (99, 1)
        events = [e for e in desk.read("oms.events") if e["client_order_id"] == "rest1"]
        assert [e["status"] for e in events] == ["NEW", "FILLED"]
        assert len({e["event_id"] for e in desk.read("oms.events")}) == len(desk.read("oms.events"))
        assert "restored 1 open paper order(s)" in role.text()
    finally:
        desk.close()
