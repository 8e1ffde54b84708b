"""Parent orders through the API on the real broker and chDB: the ``ParentRequest`` the API
puts on ``oms.parent_requests`` is read back exactly (params unchanged, keyed by account),
its state comes from ``parent_events`` as the sink stores it, its cancel names its algo;
other accounts and bad common fields are refused; every request is audited."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
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
from tapewire.streams.algos import AlgoConfig
from tapewire.streams.sor import SorConfig
from tapewire.streams.stages.algos import AlgoStageEngine
from tapewire.streams.stages.base import TopicMsg
from tapewire.streams.stages.parents import ParentStage
from tapewire.streams.stages.sor import SorEngine
from tests.factories.sor import SIM_TERMS
from tests.integration.api.conftest import login, wait_for

NOW = 1_764_800_000_123_456_789


@pytest.fixture
def parent_api(
    api_config: ApiConfig, api_db_url: str, kafka_bootstrap: str
) -> Iterator[tuple[TestClient, str]]:
    prefix = f"pa{uuid.uuid4().hex[:8]}."
    with api_services(
        api_config,
        clickhouse_url=api_db_url,
        bootstrap=kafka_bootstrap,
        codec=Codec(),
        topic_name=lambda t: prefix + t,
        partitions=1,
    ) as services:
        services.clock_ns = lambda: NOW
        with TestClient(create_app(services)) as client:
            yield client, prefix + "oms.parent_requests"


def _produced(bootstrap: str, topic: str) -> list[tuple[bytes | None, dict[str, Any]]]:
    codec = Codec()
    return [
        (r.key, codec.decode("oms.parent_requests", r.value))
        for r in read_to_end(bootstrap, topic)
        if r.value is not None
    ]


def _store(clickhouse: Client, canonical: str, topic: str, records: list[dict[str, Any]]) -> None:
    """Insert ``records`` of ``canonical`` as the sink does."""
    mapping = mapping_for_topic(canonical)
    rows = [mapping.row(r, topic, 0, i) for i, r in enumerate(records)]
    clickhouse.insert(mapping.table, rows, column_names=list(mapping.columns))


def test_a_parent_is_placed_exactly_followed_in_parent_events_and_canceled(
    parent_api: tuple[TestClient, str], clickhouse: Client, kafka_bootstrap: str
) -> None:
    client, topic = parent_api
    trader = login(client, "trader")
    params = {"duration_s": "600", "slices": "12", "note": "  kept as is: 1e3 "}
    placed = client.post(
        "/v1/parents",
        headers=trader,
        json={
            "account": "desk",
            "instrument": "BTC-USDT-SPOT",
            "side": "sell",
            "quantity": "1.250000000000000001",
            "algo": "TWAP",
            "limit_price": "60000.5",
            "venues": ["binance", "okx"],
            "params": params,
            "parent_id": "p-twap-1",
        },
    )
    assert placed.status_code == 202, placed.text
    ((key, record),) = _produced(kafka_bootstrap, topic)
    assert placed.json() == {
        "parent_id": "p-twap-1",
        "action": "NEW",
        "algo": "TWAP",
        "topic": topic,
        "partition": 0,
        "offset": 0,
    }
    assert key == b"desk"
    assert record == {
        "parent_id": "p-twap-1",
        "account": "desk",
        "action": "NEW",
        "algo": "TWAP",
        "instrument": "BTC-USDT-SPOT",
        "side": "SELL",
        "quantity": Decimal("1.250000000000000001"),
        "limit_price": Decimal("60000.5"),
        "venues": ["binance", "okx"],
        "params": params,
        "strategy_id": None,
        "requested_by": "api:trader",
        "request_ts_ns": NOW,
    }

    # stored by the sink, no parent event yet: the request is the state
    _store(clickhouse, "oms.parent_requests", topic, [record])
    pending = client.get("/v1/parents/p-twap-1?account=desk", headers=trader)
    assert pending.status_code == 200, pending.text
    assert pending.json()["step"] == "request"
    assert pending.json()["algo"] == "TWAP"
    assert pending.json()["detail"] == "NEW by api:trader (no parent event yet)"
    assert pending.json()["ts_ns"] == NOW

    event = {
        "event_id": "p-twap-1:2",
        "parent_id": "p-twap-1",
        "account": "desk",
        "algo": "TWAP",
        "instrument": "BTC-USDT-SPOT",
        "side": "SELL",
        "event_type": "ChildFilled",
        "event": "{}",
        "status": "PARTIALLY_FILLED",
        "quantity": Decimal("1.250000000000000001"),
        "limit_price": Decimal("60000.5"),
        "cum_qty": Decimal("0.5"),
        "leaves_qty": Decimal("0.750000000000000001"),
        "avg_price": Decimal("60010.25"),
        "avg_price_with_fees": Decimal("59980.245"),
        "children": 2,
        "open_children": 1,
        "waves": 2,
        "strategy_id": None,
        "event_ts_ns": NOW + 2,
    }
    first = event | {
        "event_id": "p-twap-1:1",
        "event_type": "ParentNew",
        "status": "NEW",
        "cum_qty": Decimal(0),
        "leaves_qty": event["quantity"],
        "avg_price": None,
        "avg_price_with_fees": None,
        "children": 0,
        "open_children": 0,
        "waves": 0,
        "event_ts_ns": NOW + 1,
    }
    _store(clickhouse, "oms.parent_events", "oms.parent_events", [first, event])
    state = client.get("/v1/parents/p-twap-1?account=desk", headers=trader)
    assert state.status_code == 200, state.text
    body = state.json()
    assert (body["step"], body["status"], body["detail"]) == (
        "algo",
        "PARTIALLY_FILLED",
        "ChildFilled",
    )
    assert body["ts_ns"] == NOW + 2
    assert body["parent"]["cum_qty"] == "0.5"
    assert body["parent"]["leaves_qty"] == "0.750000000000000001"
    assert body["parent"]["avg_price_with_fees"] == "59980.245"
    assert (body["parent"]["children"], body["parent"]["open_children"]) == (2, 1)

    canceled = client.delete("/v1/parents/p-twap-1?account=desk", headers=trader)
    assert canceled.status_code == 202, canceled.text
    assert (canceled.json()["action"], canceled.json()["algo"]) == ("CANCEL", "TWAP")
    (_, _), (cancel_key, cancel) = _produced(kafka_bootstrap, topic)
    assert cancel_key == b"desk"
    assert cancel == {
        "parent_id": "p-twap-1",
        "account": "desk",
        "action": "CANCEL",
        "algo": "TWAP",
        "instrument": "",
        "side": "BUY",
        "quantity": Decimal(0),
        "limit_price": None,
        "venues": [],
        "params": {},
        "strategy_id": None,
        "requested_by": "api:trader",
        "request_ts_ns": NOW,
    }

    def audited() -> list[Sequence[Any]]:
        return list(
            clickhouse.query(
                "SELECT method, route, status, detail FROM api_audit "
                "WHERE route LIKE '/v1/parents%' ORDER BY ts"
            ).result_rows
        )

    wait_for(lambda: len(audited()) == 4)
    assert [row[:3] for row in audited()] == [
        ("POST", "/v1/parents", 202),
        ("GET", "/v1/parents/{parent_id}", 200),
        ("GET", "/v1/parents/{parent_id}", 200),
        ("DELETE", "/v1/parents/{parent_id}", 202),
    ]
    assert audited()[0][3] == "sent NEW TWAP parent p-twap-1"
    assert audited()[3][3] == "sent CANCEL TWAP parent p-twap-1"


def test_bad_algo_params_pass_through_and_the_parent_stage_rejection_is_the_status(
    parent_api: tuple[TestClient, str], clickhouse: Client, kafka_bootstrap: str
) -> None:
    client, topic = parent_api
    trader = login(client, "trader")
    body = {
        "account": "desk",
        "instrument": "BTC-USDT-SPOT",
        "side": "buy",
        "quantity": "1",
        "algo": "TWAP",
        "limit_price": "101",
        "venues": ["binance"],
        "params": {"slices": "0", "duration": "50s"},
        "parent_id": "p-bad-twap",
    }
    placed = client.post("/v1/parents", headers=trader, json=body)
    assert placed.status_code == 202, placed.text
    (consumed,) = read_to_end(kafka_bootstrap, topic)

    # the real parent stage (SOR and algos) takes the very bytes the API produced
    stage = ParentStage(
        Codec(),
        [SorEngine(SorConfig(SIM_TERMS)), AlgoStageEngine(AlgoConfig((SIM_TERMS[0],)))],
        clock=lambda: NOW,
    )
    out = stage.process([TopicMsg("oms.parent_requests", 0, 0, consumed.key, consumed.value)])
    codec = Codec()
    events = [codec.decode(t, v) for t, _, v, _ in out if t == "oms.parent_events"]
    assert [e["status"] for e in events] == ["REJECTED"]
    assert "params.slices" in events[0]["event"]
    _store(clickhouse, "oms.parent_events", "oms.parent_events", events)

    state = client.get("/v1/parents/p-bad-twap?account=desk", headers=trader)
    assert state.status_code == 200, state.text
    assert (state.json()["step"], state.json()["status"], state.json()["algo"]) == (
        "algo",
        "REJECTED",
        "TWAP",
    )
    assert state.json()["detail"] == events[0]["event_type"]


def _parent(**changes: Any) -> dict[str, Any]:
    return {
        "account": "desk",
        "instrument": "BTC-USDT-SPOT",
        "side": "buy",
        "quantity": "1",
    } | changes


def test_other_accounts_bad_fields_and_unknown_parents_are_refused(
    parent_api: tuple[TestClient, str], kafka_bootstrap: str
) -> None:
    client, topic = parent_api
    trader = login(client, "trader")

    theirs = client.post("/v1/parents", headers=trader, json=_parent(account="other"))
    assert theirs.status_code == 403
    assert "'other' is not one of user 'trader'" in theirs.json()["detail"]
    for call in (client.get, client.delete):
        other = call("/v1/parents/p-1?account=other", headers=trader)
        assert other.status_code == 403, other.text
    for call in (client.get, client.delete):
        unknown = call("/v1/parents/p-nope?account=desk", headers=trader)
        assert unknown.status_code == 404, unknown.text
        assert "no parent order 'p-nope' in account 'desk'" in unknown.json()["detail"]
    viewer = client.post("/v1/parents", headers=login(client, "viewer"), json=_parent())
    assert viewer.status_code == 403

    def refused(body: dict[str, Any], field: str) -> str:
        response = client.post("/v1/parents", headers=trader, json=body)
        assert response.status_code == 422, response.text
        detail: str = response.json()["detail"]
        assert field in detail, detail
        return detail

    assert "quantity=Decimal('0')" in refused(_parent(quantity="0"), "quantity")
    refused(_parent(quantity="1e3"), "body.quantity")
    refused(_parent(quantity="-1"), "body.quantity")
    refused(_parent(limit_price="0.0"), "limit_price")
    assert "not canonical" in refused(_parent(instrument="btc-usdt-spot"), "instrument")
    assert "twice" in refused(_parent(venues=["okx", "okx"]), "venues")
    refused(_parent(algo="DARK"), "body.algo")
    refused(_parent(params={"slices": 12}), "body.params.slices")
    refused(_parent(side="BUY"), "body.side")
    refused(_parent(extra="x"), "body.extra")
    # nothing refused reached the topic
    assert read_to_end(kafka_bootstrap, topic) == []
