"""Algo children through the real risk gate: ordinary requests, approved like any other,
and a denial handled as a venue reject."""

from __future__ import annotations

from decimal import Decimal

from tapewire.streams.algos import BracketParams, IcebergParams, OcoLeg, OcoParams, TwapParams
from tapewire.streams.oms import OrderType, OrdStatus, Side
from tapewire.streams.risk import RiskGate
from tests.factories import T0
from tests.factories.algos import Desk, S, algo_request
from tests.factories.trading import risk_config

D = Decimal


def gate(**limits: object) -> RiskGate:
    fields: dict[str, object] = {"max_order_qty": 1, "price_band_bps": 2000}
    return RiskGate(risk_config(**(fields | limits)))  # type: ignore[arg-type]


def test_every_algo_child_passes_the_real_gate() -> None:
    desk = Desk(gate=gate())
    desk.book([("99", "10")], [("100", "10")], T0)
    twap = TwapParams(start_ns=T0, end_ns=T0 + 2 * S, slices=2)
    desk.submit(algo_request(twap, "1", algo_id="tw", limit_price="101"), T0)
    bracket = BracketParams(take_profit_price=D(105), stop_loss_price=D(95))
    desk.submit(algo_request(bracket, "1", algo_id="br", limit_price="100"), T0 + 1)
    oco = OcoParams(
        first=OcoLeg(order_type=OrderType.LIMIT, limit_price=D(110)),
        second=OcoLeg(order_type=OrderType.STOP, stop_price=D(90)),
    )
    desk.submit(algo_request(oco, "1", algo_id="oc", side=Side.SELL), T0 + 2)
    desk.timer(T0 + S)
    desk.trade("111", "5", T0 + S + 1, tid="t1")  # oc:a fills, br:tp1 fills
    assert desk.denied == []
    assert [r.client_order_id for r in desk.sent] == [
        "tw:c1",
        "br:entry:c1",
        "br:tp1:c1",
        "br:sl1:c1",
        "oc:a:c1",
        "oc:b:c1",
        "tw:c2",
        "br:sl1:c1:x",  # tp1 filled first (placed before oc:a)
        "oc:b:c1:x",
    ]
    assert {a: s.status.value for a, s in desk.engine.algos.items()} == {
        "tw": "FILLED",
        "br": "FILLED",
        "oc": "FILLED",
    }


def test_a_child_the_gate_denies_is_a_reject_for_the_algo() -> None:
    desk = Desk(gate=gate(max_order_qty="0.3"))
    desk.book([("90", "10")], [("101", "10")], T0)
    desk.submit(algo_request(IcebergParams(display_qty=D("0.5")), "1", limit_price="100"), T0)
    [decision] = desk.denied
    assert (decision.request.client_order_id, decision.rule) == ("al1:c1", "max_order_qty")
    assert "al1:c1" not in desk.paper.orders  # never reached the venue
    algo = desk.engine.algos["al1"]
    assert algo.status is OrdStatus.CANCELED
    assert algo.legs["main"].children["al1:c1"].final_status is OrdStatus.REJECTED
