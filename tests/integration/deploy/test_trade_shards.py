"""Two ``trade`` processes with disjoint accounts on the real broker: every request is
decided once, by the process that owns its account (a request for a stopped owner waits
for it, never goes to the other), and a SIGKILLed shard comes back with the open paper
orders and the daily loss of its own accounts only."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from tests.factories.market import book, nbbo, trade
from tests.factories.orders import order_request
from tests.integration.deploy.trade_desk import Desk, TradeProcess, account_limits

LOSS = "daily_loss_limit"


def _config(bootstrap: str, prefix: str) -> str:
    return (
        f"""
[kafka]
bootstrap = "{bootstrap}"
topic_prefix = "{prefix}"
partitions = 3

[trading]
paper_venues = ["binance"]

[[trading.shards]]
name = "a"
accounts = ["desk-a"]

[[trading.shards]]
name = "b"
accounts = ["desk-b"]
"""
        + account_limits("desk-a")
        + account_limits("desk-b")
    )


def _decided(desk: Desk) -> Counter[str]:
    return Counter(
        d["client_order_id"] for t in ("oms.approved", "oms.denied") for d in desk.read(t)
    )


def _loss_marked(desk: Desk, account: str) -> bool:
    return any(p["account"] == account and p["unrealized_pnl"] < -5 for p in desk.read("positions"))


def test_two_shards_each_decide_their_own_accounts_once_and_survive_a_kill(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    desk = Desk(kafka_bootstrap, tmp_path, _config)
    a: TradeProcess = desk.trade("trade-a", "--shard", "a")
    b: TradeProcess = desk.trade("trade-b", "--shard", "b")
    now = time.time_ns()
    try:
        a.start()
        b.start()
        desk.send("md.book", book("binance", [("100", "10")], [("101", "10")], ts=now))
        desk.send("md.nbbo", nbbo("100", "101", ts=now, bid_venue="binance"))
        desk.send(
            "oms.requests",
            *(
                order_request(f"{kind}-{s}", account=f"desk-{s}", price=price, tif=tif, ts=now)
                for s in "ab"
                for kind, price, tif in (("rest", "99", "GTC"), ("take", "101", "IOC"))
            ),
            order_request("ghost-1", account="ghost", ts=now),
        )
        a.wait("both IOC buys fill", lambda: all(desk.fills(f"take-{s}") for s in "ab"))
        a.wait("the unowned account is denied", lambda: desk.denied("ghost-1", "account_known"))
        # the market drops: each account's position (1 at 101) marks a loss of 5.5 > 5
        desk.send("md.nbbo", nbbo("95", "96", ts=now + 1, bid_venue="binance"))
        a.wait("both losses marked", lambda: all(_loss_marked(desk, f"desk-{s}") for s in "ab"))

        b.kill()
        desk.send("md.nbbo", nbbo("95", "96", ts=now + 2, bid_venue="binance"))
        desk.send(
            "oms.requests",
            order_request("probe-a", account="desk-a", price="96", qty="0.1", ts=now + 2),
            order_request("probe-b", account="desk-b", price="96", qty="0.1", ts=now + 2),
        )
        a.wait("shard a denies its account for the loss", lambda: desk.denied("probe-a", LOSS))
        assert "probe-b" not in _decided(desk)  # its owner is down: nobody else decides it

        b.start()
        b.wait("shard b decides its request after the restart", lambda: "probe-b" in _decided(desk))
        # risk needs a fresh NBBO after a restart; then b's daily loss survived
        desk.send("md.nbbo", nbbo("95", "96", ts=now + 3, bid_venue="binance"))
        desk.send(
            "oms.requests",
            order_request("probe-b2", account="desk-b", price="96", qty="0.1", ts=now + 3),
        )
        b.wait("b denies for the loss after the restart", lambda: desk.denied("probe-b2", LOSS))
        # both resting buys at 99 are still there, each in its owner's paper venue
        desk.send("md.trades", trade("98.5", "2", ts=now + 4, trade_id="x1"))
        b.wait("both resting orders fill", lambda: all(desk.fills(f"rest-{s}") for s in "ab"))

        assert "restored 1 open paper order(s)" in b.text()  # rest-b, not rest-a
        decided = _decided(desk)
        assert set(decided.values()) == {1}, decided
        expected = {"rest", "take", "probe"}
        assert {c for c in decided if c != "ghost-1"} == {
            f"{k}-{s}" for k in expected for s in "ab"
        } | {"probe-b2"}
        fills = desk.read("oms.fills")
        assert Counter(f["client_order_id"] for f in fills) == {
            "take-a": 1,
            "take-b": 1,
            "rest-a": 1,
            "rest-b": 1,
        }
        assert len({f["fill_id"] for f in fills}) == len(fills)
        events = desk.read("oms.events")
        assert len({e["event_id"] for e in events}) == len(events)
        for event in events:  # handled by the owner's paper venue (its ids carry the shard)
            shard = event["account"].removeprefix("desk-")
            assert event["venue_order_id"].startswith(f"binance-{shard}-"), event
    finally:
        desk.close()
