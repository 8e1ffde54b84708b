"""Paper venues in the trade role's router, live (ccxt) venues in a router process each:
every approval is executed by exactly one router, and one for a venue no router has is
rejected with an alert (fail closed, never silent)."""

from __future__ import annotations

from tapewire.records.risk import RiskDecision
from tapewire.streams.execution.paper import PaperConfig
from tapewire.streams.hotpath import build_hot_path
from tapewire.streams.risk import RiskConfig
from tapewire.streams.router.stage import RouterStage
from tapewire.streams.router.venue import PaperVenueAdapter
from tapewire.streams.stages.config import StreamsConfig
from tapewire.streams.trading.config import TradingConfig
from tapewire.streams.trading.shard import shards_of
from tests.factories.orders import approval, order_request
from tests.factories.stages import CODEC, decoded, msgs
from tests.factories.trading import fill

LIVE = frozenset({"binance"})


def _approvals(*venues: str) -> list[RiskDecision]:
    return [
        approval(f"o-{venue}", request=order_request(f"o-{venue}", venue=venue, price="100"))
        for venue in venues
    ]


def test_the_trade_router_leaves_live_venues_to_their_router_and_rejects_unknown_ones() -> None:
    trade = RouterStage(
        CODEC, [PaperVenueAdapter(PaperConfig("okx"))], routed_elsewhere=LIVE.__contains__
    )
    out = trade.process(msgs("oms.approved", _approvals("okx", "binance", "kraken")))
    events = decoded(out, "oms.events")
    assert {e["client_order_id"] for e in events} == {"o-okx", "o-kraken"}  # not o-binance
    assert [(e["client_order_id"], e["status"]) for e in events if e["status"] == "REJECTED"] == [
        ("o-kraken", "REJECTED")
    ]
    (alert,) = decoded(out, "alerts")
    assert (alert["code"], alert["severity"], alert["labels"]["venue"]) == (
        "ROUTER_NO_VENUE",
        "ERROR",
        "kraken",
    )


def test_a_live_router_acts_on_its_venue_only() -> None:
    paper_binance = PaperVenueAdapter(PaperConfig("binance"))  # stands for the ccxt venue
    live = RouterStage(CODEC, [paper_binance], routed_elsewhere=lambda v: v != "binance")
    out = live.process(msgs("oms.approved", _approvals("okx", "binance", "kraken")))
    assert {e["client_order_id"] for e in decoded(out, "oms.events")} == {"o-binance"}
    assert decoded(out, "alerts") == []  # kraken: the trade role's router rejects it


def test_the_trade_graph_reads_back_the_reports_of_live_venues_only() -> None:
    limits = RiskConfig(accounts={})
    trading = TradingConfig(risk=limits, paper_venues=(PaperConfig("okx"),), remote_venues=LIVE)
    hot = build_hot_path(CODEC, StreamsConfig(trading=trading), stages=("risk", "router"))
    assert {"oms.events", "oms.fills"} <= hot.external
    accept = hot.accept["oms.fills"]
    live, paper = fill("f1", venue="binance"), fill("f2", venue="okx")
    assert accept(b"acct", CODEC.encode("oms.fills", live))
    assert not accept(b"acct", CODEC.encode("oms.fills", paper))  # routed in-process
    assert not accept(b"acct", b"\x00garbage")
    # without live venues nothing is read back (the router's reports stay in-process)
    plain = build_hot_path(
        CODEC,
        StreamsConfig(trading=TradingConfig(risk=limits, paper_venues=(PaperConfig("okx"),))),
        stages=("risk", "router"),
    )
    assert not {"oms.events", "oms.fills"} & plain.external
    assert plain.accept == {}


def test_a_sharded_trade_process_reads_back_its_own_accounts_only() -> None:
    shard = shards_of([("a", ["desk-a"]), ("b", ["desk-b"])])[1]
    trading = TradingConfig(risk=RiskConfig(accounts={}), remote_venues=LIVE, shard=shard)
    hot = build_hot_path(CODEC, StreamsConfig(trading=trading), stages=("risk", "router"))
    accept = hot.accept["oms.fills"]
    assert accept(b"desk-b", CODEC.encode("oms.fills", fill("f1", account="desk-b")))
    assert not accept(b"desk-a", CODEC.encode("oms.fills", fill("f2", account="desk-a")))
