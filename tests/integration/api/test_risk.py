"""Risk limits and trading states over the API, on the real broker and chDB: every role
that may see an account reads them; only risk admins change them, through commands on
``oms.requests`` that the real risk stage applies; the API then shows what the gate
confirmed (its alerts, stored as the sink stores them)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient

from tapewire.api.app import create_app
from tapewire.api.config import ApiConfig
from tapewire.api.server import api_services
from tapewire.runtime.kafka_io import read_to_end
from tapewire.schemas.codec import Codec
from tapewire.sinks.clickhouse.rows import mapping_for_topic
from tapewire.streams.stages.base import TopicMsg
from tapewire.streams.stages.risk import RiskStage
from tests.factories import INST, T0
from tests.factories.market import nbbo
from tests.factories.orders import order_request
from tests.factories.stages import decoded, msgs
from tests.factories.trading import risk_config
from tests.integration.api.conftest import login, wait_for

CONFIG = risk_config(account="desk", max_order_qty=5)
TIGHTER: dict[str, Any] = {
    "instruments": {
        INST: {
            "max_order_qty": "1.5",
            "max_order_notional": "10000",
            "max_position": "10",
            "price_band_bps": "500",
            "qty_increment": None,  # no lot / tick rule: sent and read back as null
            "price_increment": None,
        }
    },
    "max_open_orders": 3,
    "max_orders_per_window": 100,
    "rate_window_ms": 1000,
    "daily_loss_limit": "250.000000000000000001",
    "stale_quote_ms": 60000,
}


@pytest.fixture
def risk_api(
    api_config: ApiConfig, api_db_url: str, kafka_bootstrap: str
) -> Iterator[tuple[TestClient, str]]:
    prefix = f"rk{uuid.uuid4().hex[:8]}."
    with (
        api_services(
            api_config,
            clickhouse_url=api_db_url,
            bootstrap=kafka_bootstrap,
            codec=Codec(),
            topic_name=lambda t: prefix + t,
            partitions=1,
            risk=CONFIG,
        ) as services,
        TestClient(create_app(services)) as client,
    ):
        yield client, prefix + "oms.requests"


def _apply(risk: RiskStage, bootstrap: str, topic: str, clickhouse: Client, seen: int) -> int:
    """Feed the commands after the first ``seen`` to the risk stage and store its alerts
    as the sink does; the number of commands read."""
    records = read_to_end(bootstrap, topic)
    batch = [TopicMsg("oms.requests", 0, r.offset, r.key, r.value) for r in records[seen:]]
    alerts = decoded(risk.process(batch), "alerts")
    mapping = mapping_for_topic("alerts")
    rows = [mapping.row(a, "alerts", 0, seen + i) for i, a in enumerate(alerts)]
    clickhouse.insert(mapping.table, rows, column_names=list(mapping.columns))
    return len(records)


def test_limits_and_states_are_read_by_viewers_and_changed_by_risk_admins_via_the_gate(
    risk_api: tuple[TestClient, str], clickhouse: Client, kafka_bootstrap: str
) -> None:
    client, topic = risk_api
    viewer, trader, admin = (login(client, u) for u in ("viewer", "trader", "admin"))
    (before,) = client.get("/v1/risk", headers=viewer).json()
    assert (before["account"], before["trading_state"], before["limits_source"]) == (
        "desk",
        "ACTIVE",
        "config",
    )
    assert before["limits"]["instruments"][INST]["max_order_qty"] == "5"
    assert client.get("/v1/risk?account=other", headers=viewer).status_code == 403

    for who in (viewer, trader):
        refused = client.put("/v1/risk/desk/limits", headers=who, json=TIGHTER)
        assert refused.status_code == 403
        assert "needs risk_admin" in refused.json()["detail"]
    assert read_to_end(kafka_bootstrap, topic, missing_ok=True) == []  # nothing was sent

    accepted = client.put("/v1/risk/desk/limits", headers=admin, json=TIGHTER)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["action"] == "CANCEL_ALL"

    risk = RiskStage(Codec(), CONFIG, clock=lambda: T0 + 10)
    seen = _apply(risk, kafka_bootstrap, topic, clickhouse, 0)
    limits = risk.gate.config.accounts["desk"]
    assert limits.instruments[INST].max_order_qty == Decimal("1.5")
    assert limits.daily_loss_limit == Decimal("250.000000000000000001")
    market = msgs("md.nbbo", [nbbo("100", "102")])
    order = msgs("oms.requests", [order_request("o1", account="desk", qty=2, price="101")])
    assert [d["rule"] for d in decoded(risk.process(market + order), "oms.denied")] == [
        "max_order_qty"
    ]

    (after,) = client.get("/v1/risk", headers=viewer).json()
    assert after["limits_source"] == "api"
    assert after["limits"] == TIGHTER  # exact, as sent
    assert after["limits_changed_ts_ns"] == T0 + 10

    halted = client.put("/v1/risk/*/trading-state", headers=admin, json={"state": "HALTED"})
    assert halted.status_code == 202, halted.text
    reducing = client.put("/v1/risk/desk/trading-state", headers=admin, json={"state": "REDUCING"})
    assert reducing.status_code == 202, reducing.text
    _apply(risk, kafka_bootstrap, topic, clickhouse, seen)
    assert risk.gate.trading_state("desk").value == "HALTED"
    (state,) = client.get("/v1/risk?account=desk", headers=trader).json()
    assert (state["trading_state"], state["account_state"], state["global_state"]) == (
        "HALTED",
        "REDUCING",
        "HALTED",
    )
    assert state["limits"] == TIGHTER

    def changes() -> list[tuple[Any, ...]]:
        return [
            tuple(r)
            for r in clickhouse.query(
                "SELECT user, method, route, status, detail FROM api_audit "
                "WHERE method = 'PUT' ORDER BY ts"
            ).result_rows
        ]

    wait_for(lambda: len(changes()) == 5)  # audited ~1 s after the request
    refused_1, refused_2, limits_put, state_put, _ = changes()
    assert refused_1[:4] == ("viewer", "PUT", "/v1/risk/{account}/limits", 403)
    assert refused_2[:4] == ("trader", "PUT", "/v1/risk/{account}/limits", 403)
    assert limits_put[:4] == ("admin", "PUT", "/v1/risk/{account}/limits", 202)
    assert str(limits_put[4]).startswith("sent CANCEL_ALL risk-limits-")
    assert state_put[:4] == ("admin", "PUT", "/v1/risk/{account}/trading-state", 202)
    assert str(state_put[4]).startswith("sent CANCEL_ALL state-halted-")


def test_limits_input_errors_name_the_field(risk_api: tuple[TestClient, str]) -> None:
    client, _ = risk_api
    admin = login(client, "admin")
    zero = {**TIGHTER, "daily_loss_limit": "0"}
    refused = client.put("/v1/risk/desk/limits", headers=admin, json=zero)
    assert refused.status_code == 422
    assert "daily_loss_limit" in refused.json()["detail"]
    alias = {**TIGHTER, "instruments": {"BTC-USDT": TIGHTER["instruments"][INST]}}
    refused = client.put("/v1/risk/desk/limits", headers=admin, json=alias)
    assert refused.status_code == 422
    assert "instruments" in refused.json()["detail"]
    number = {**TIGHTER, "daily_loss_limit": 250.5}  # a JSON number: never a float
    assert client.put("/v1/risk/desk/limits", headers=admin, json=number).status_code == 422
    bad_state = client.put("/v1/risk/desk/trading-state", headers=admin, json={"state": "OFF"})
    assert bad_state.status_code == 422
