"""The TCA stage over encoded messages: reports on ``tca`` as orders finish, bad records
dead-lettered with the reason, nothing raised."""

from __future__ import annotations

from decimal import Decimal

from tapewire.streams.aggregate import NbboConfig
from tapewire.streams.stages.tca import INPUTS, TcaStage
from tests.factories import T0
from tests.factories.market import nbbo, quote, trade
from tests.factories.orders import approval, order_event, order_request
from tests.factories.stages import CODEC, decoded, msgs
from tests.factories.trading import fill

D = Decimal


def test_an_order_is_reported_once_its_terminal_report_and_fills_are_in() -> None:
    stage = TcaStage(CODEC, mark_id=NbboConfig().consolidated_id)
    request = order_request("o1", side="SELL", qty="2", ts=T0 + 10, strategy_id="s1")
    batch = [
        *msgs("md.nbbo", [nbbo("100", "101", ts=T0)]),
        *msgs("md.quotes", [quote("binance", "99", "102", ts=T0)]),
        *msgs("oms.approved", [approval("o1", request=request)]),
        *msgs("md.trades", [trade("100", "2", ts=T0 + 20), trade("101", "2", ts=T0 + 21)]),
        *msgs("oms.events", [order_event("o1", "NEW", 1, quantity=D(2), side="SELL")]),
    ]
    assert decoded(stage.process(batch), "tca") == []
    done = order_event(
        "o1",
        "FILLED",
        2,
        exec_type="TRADE",
        quantity=D(2),
        side="SELL",
        cum_qty=D(2),
        leaves_qty=D(0),
    )
    out = stage.process(
        [
            *msgs("oms.events", [done]),
            *msgs("oms.fills", [fill("f1", "SELL", "100", "2", fee="0.2", cid="o1")]),
        ]
    )
    (report,) = decoded(out, "tca")
    assert [o.key for o in out] == [b"acct"]
    assert (report["order_id"], report["status"], report["side"]) == ("o1", "FILLED", "SELL")
    assert (report["arrival_mid"], report["arrival_source"]) == (D("100.5"), "NBBO")
    # -1 x (200 - 2 x 100.5) = 1; VWAP 100.5: -1 x (100 - 100.5) / 100.5 x 1e4
    assert (report["execution_cost"], report["interval_vwap"]) == (D(1), D("100.5"))
    assert report["slippage_vwap_bps"] == D("49.751243781094527363")
    assert report["shortfall_bps"] == D("59.701492537313432836")  # (1 + 0.2) / 201 x 1e4
    assert stage.engine.open_orders == 0


def test_bad_records_are_dead_letters_naming_the_topic_and_reason() -> None:
    stage = TcaStage(CODEC, mark_id=NbboConfig().consolidated_id)
    bad_trade = trade("100", "1", instrument="not an id")
    out = stage.process([*msgs("md.trades", [bad_trade]), *msgs("md.quotes", [quote()])])
    (letter,) = decoded(out, "dlq.trading")
    assert (letter["stage"], letter["source_topic"]) == ("tca", "md.trades")
    assert "not an id" in letter["reason"]
    assert [o.topic for o in out] == ["dlq.trading"]


def test_the_stage_reads_the_order_and_market_topics() -> None:
    assert set(INPUTS) == {
        "oms.approved",
        "oms.events",
        "oms.fills",
        "md.nbbo",
        "md.quotes",
        "md.trades",
    }
