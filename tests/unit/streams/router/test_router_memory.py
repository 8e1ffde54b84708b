"""Router memory: the sent-id guard keeps the last ``sent_ids`` ids over many approvals, and
a redelivered approval inside that window is still not sent twice."""

from __future__ import annotations

from tapewire.streams.execution.paper import PaperConfig
from tapewire.streams.router.stage import RouterStage
from tapewire.streams.router.venue import PaperVenueAdapter
from tests.factories.orders import approval
from tests.factories.stages import CODEC, decoded, msgs

WINDOW = 20


def test_sent_ids_bounded_over_2000_approvals_redelivery_inside_window_not_sent() -> None:
    venue = PaperVenueAdapter(PaperConfig("binance", retain_final=WINDOW))
    stage = RouterStage(CODEC, [venue], sent_ids=WINDOW)
    for i in range(2_000):
        batch = [approval(f"o{i}")]
        if i >= WINDOW:  # redelivery of an approval inside the window
            batch.append(approval(f"o{i - WINDOW + 1}", decision_id=f"again-{i}"))
        out = stage.process(msgs("oms.approved", batch))
        assert [e["client_order_id"] for e in decoded(out, "oms.events")] == [f"o{i}"]
        if i >= WINDOW:
            assert [a["code"] for a in decoded(out, "alerts")] == ["ROUTER_DUPLICATE"]
        assert len(stage.known) <= WINDOW
    # past the window the router forgets; the venue still refuses the id of an order it holds
    out = stage.process(msgs("oms.approved", [approval("o0", decision_id="late")]))
    assert [e["text"] for e in decoded(out, "oms.events")] == ["duplicate client_order_id"]
