"""Risk stage memory: fill ids and final orders stay within ``id_window`` over many orders,
positions stay exact under redelivery inside the window and a late open status is ignored."""

from __future__ import annotations

from decimal import Decimal

from tapewire.streams.stages.risk import RiskStage
from tests.factories import INST, T0
from tests.factories.orders import order_event
from tests.factories.stages import CODEC, msgs
from tests.factories.trading import fill, risk_config

WINDOW = 50


def test_fills_and_final_orders_bounded_over_3000_orders_redelivery_inside_window() -> None:
    stage = RiskStage(CODEC, risk_config(), clock=lambda: T0, id_window=WINDOW)
    for i in range(3_000):
        cid = f"o{i}"
        events = [
            order_event(cid, "NEW", 1),
            order_event(cid, "FILLED", 2, exec_type="TRADE", leaves_qty=Decimal(0)),
        ]
        fills = [fill(f"f{i}", "BUY", "100", "1", cid=cid)]
        if i >= WINDOW:  # redelivered inside the window: a fill and a stale NEW
            old = f"o{i - WINDOW + 1}"
            fills.append(fill(f"f{i - WINDOW + 1}", "BUY", "100", "1", cid=old))
            events.append(order_event(old, "NEW", 1))
        assert stage.process(msgs("oms.events", events) + msgs("oms.fills", fills)) == []
        assert stage.open_orders == {}
        assert len(stage._fills) <= WINDOW
        assert len(stage._final) <= WINDOW
    assert stage.positions == {("acct", INST): Decimal(3_000)}
