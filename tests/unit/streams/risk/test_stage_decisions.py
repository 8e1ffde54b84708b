"""The risk stage decides on every request: malformed ones are denied with a rule and a
reason on ``oms.denied``, never only dead-lettered."""

from __future__ import annotations

import pytest

from tapewire.streams.stages.risk import RiskStage
from tests.factories.orders import order_request
from tests.factories.stages import CODEC, decoded, msgs
from tests.factories.trading import risk_config

NOW = 1_700_049_600_000_000_000


@pytest.mark.parametrize("instrument", ["not an instrument", "BTC-USDT", "btc/usdt:spot"])
def test_a_request_for_an_unparseable_instrument_is_denied_not_dead_lettered(
    instrument: str,
) -> None:
    """Every request gets a decision: the context lookup of a non-canonical instrument id
    used to raise and end in dlq.trading with nothing on oms.denied."""
    stage = RiskStage(CODEC, risk_config(), lambda: NOW)
    out = stage.process(msgs("oms.requests", [order_request("bad", instrument=instrument, ts=NOW)]))
    (denied,) = decoded(out, "oms.denied")
    assert denied["client_order_id"] == "bad"
    assert denied["rule"] in ("request_valid", "unknown_instrument")
    assert instrument in denied["reason"]
    assert decoded(out, "dlq.trading") == []
    assert decoded(out, "oms.approved") == []


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"client_order_id": "bad id#1"}, "client_order_id_format"),
        ({"client_order_id": "x" * 65}, "request_valid"),
        ({"qty": "0.0105"}, "quantity_increment"),
        ({"price": "100.005"}, "price_increment"),
    ],
)
def test_field_limits_are_denials_on_oms_denied(changes: dict[str, str], rule: str) -> None:
    config = risk_config(qty_increment="0.001", price_increment="0.01")
    stage = RiskStage(CODEC, config, lambda: NOW)
    fields = {"qty": "0.01", "price": "100", **changes}
    cid = fields.pop("client_order_id", "ok-id")
    out = stage.process(msgs("oms.requests", [order_request(cid, ts=NOW, **fields)]))
    (denied,) = decoded(out, "oms.denied")
    assert denied["rule"] == rule
    assert denied["reason"]
    assert decoded(out, "dlq.trading") == []
    assert decoded(out, "oms.approved") == []
