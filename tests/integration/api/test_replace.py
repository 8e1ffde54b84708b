"""Order replace and the trailing-stop / GTD order types through the API, on the real
broker and chDB: the requests the API puts on ``oms.requests`` are read back, stored as the
sink stores them, and accepted by the paper venue (REPLACED with the new terms)."""

from __future__ import annotations

import time
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
from tapewire.streams.execution.paper import PaperConfig, PaperVenue
from tests.integration.api.conftest import login

BOOK_TS = 1_700_000_000_000_000_000


@pytest.fixture
def order_api(
    api_config: ApiConfig, api_db_url: str, kafka_bootstrap: str
) -> Iterator[tuple[TestClient, str]]:
    prefix = f"rp{uuid.uuid4().hex[:8]}."
    with (
        api_services(
            api_config,
            clickhouse_url=api_db_url,
            bootstrap=kafka_bootstrap,
            codec=Codec(),
            topic_name=lambda t: prefix + t,
            partitions=1,
        ) as services,
        TestClient(create_app(services)) as client,
    ):
        yield client, prefix + "oms.requests"


def _requests(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    codec = Codec()
    records = read_to_end(bootstrap, topic)
    return [codec.decode("oms.requests", r.value) for r in records if r.value is not None]


def _store(clickhouse: Client, topic: str, records: list[dict[str, Any]]) -> None:
    """Insert ``records`` into ``order_requests`` as the sink does."""
    mapping = mapping_for_topic("oms.requests")
    rows = [mapping.row(r, topic, 0, i) for i, r in enumerate(records)]
    clickhouse.insert(mapping.table, rows, column_names=list(mapping.columns))


def test_replace_sends_a_replace_with_the_new_terms_that_the_paper_venue_applies(
    order_api: tuple[TestClient, str], clickhouse: Client, kafka_bootstrap: str
) -> None:
    client, topic = order_api
    trader = login(client, "trader")
    expire = time.time_ns() + 3_600 * 10**9
    placed = client.post(
        "/v1/orders",
        headers=trader,
        json={
            "account": "desk",
            "venue": "binance",
            "instrument": "BTC-USDT-SPOT",
            "side": "buy",
            "order_type": "limit",
            "quantity": "0.5",
            "limit_price": "60000",
            "time_in_force": "GTD",
            "expire_ts_ns": expire,
            "client_order_id": "o-rp-1",
        },
    )
    assert placed.status_code == 202, placed.text
    (new,) = _requests(kafka_bootstrap, topic)
    assert (new["time_in_force"], new["expire_ts_ns"]) == ("GTD", expire)
    _store(clickhouse, topic, [new])

    replaced = client.patch(
        "/v1/orders/o-rp-1?account=desk",
        headers=trader,
        json={"quantity": "0.75", "limit_price": "60100.5", "client_order_id": "o-rp-2"},
    )
    assert replaced.status_code == 202, replaced.text
    assert replaced.json()["client_order_id"] == "o-rp-2"
    assert replaced.json()["action"] == "REPLACE"
    _, replace = _requests(kafka_bootstrap, topic)
    assert replace["action"] == "REPLACE"
    assert replace["orig_client_order_id"] == "o-rp-1"
    assert (replace["quantity"], replace["limit_price"]) == (Decimal("0.75"), Decimal("60100.5"))
    # the terms not named stay: side, type, GTD and its expiry
    assert (replace["side"], replace["order_type"], replace["time_in_force"]) == (
        "BUY",
        "LIMIT",
        "GTD",
    )
    assert replace["expire_ts_ns"] == expire
    assert replace["requested_by"] == "api:trader"

    venue = PaperVenue(PaperConfig("binance"))
    now = time.time_ns()
    assert [e.exec_type for e in venue.submit(new, now).events] == ["NEW"]
    events = venue.submit(replace, now + 1).events
    assert [e.exec_type for e in events] == ["REPLACED"], events
    assert (events[0].client_order_id, events[0].orig_client_order_id) == ("o-rp-2", "o-rp-1")
    assert (events[0].quantity, events[0].limit_price) == (Decimal("0.75"), Decimal("60100.5"))

    # the replaced order continues under its new id, whose terms are the REPLACE's
    _store(clickhouse, topic, [new, replace])
    again = client.patch(
        "/v1/orders/o-rp-2?account=desk", headers=trader, json={"time_in_force": "GTC"}
    )
    assert again.status_code == 202, again.text
    last = _requests(kafka_bootstrap, topic)[-1]
    assert (last["orig_client_order_id"], last["quantity"]) == ("o-rp-2", Decimal("0.75"))
    assert (last["time_in_force"], last["expire_ts_ns"]) == ("GTC", None)


def test_replace_refuses_unknown_orders_empty_bodies_and_other_accounts(
    order_api: tuple[TestClient, str], clickhouse: Client, kafka_bootstrap: str
) -> None:
    client, topic = order_api
    trader = login(client, "trader")
    unknown = client.patch("/v1/orders/nope?account=desk", headers=trader, json={"quantity": "1"})
    assert unknown.status_code == 404
    assert "no order 'nope'" in unknown.json()["detail"]
    other = client.patch("/v1/orders/x?account=other", headers=trader, json={"quantity": "1"})
    assert other.status_code == 403
    viewer = client.patch(
        "/v1/orders/x?account=desk", headers=login(client, "viewer"), json={"quantity": "1"}
    )
    assert viewer.status_code == 403
    client.post(
        "/v1/orders",
        headers=trader,
        json={
            "account": "desk",
            "venue": "binance",
            "instrument": "BTC-USDT-SPOT",
            "side": "sell",
            "order_type": "limit",
            "quantity": "1",
            "limit_price": "70000",
            "client_order_id": "o-rp-3",
        },
    )
    _store(clickhouse, topic, _requests(kafka_bootstrap, topic))
    empty = client.patch("/v1/orders/o-rp-3?account=desk", headers=trader, json={})
    assert empty.status_code == 422
    assert "nothing to replace" in empty.json()["detail"]
    gtd = client.patch(
        "/v1/orders/o-rp-3?account=desk", headers=trader, json={"time_in_force": "GTD"}
    )
    assert gtd.status_code == 422
    assert "expire_ts_ns" in gtd.json()["detail"]


def test_trailing_stop_reaches_the_topic_and_the_paper_venue_arms_it(
    order_api: tuple[TestClient, str], kafka_bootstrap: str
) -> None:
    client, topic = order_api
    trader = login(client, "trader")
    order = {
        "account": "desk",
        "venue": "binance",
        "instrument": "BTC-USDT-SPOT",
        "side": "sell",
        "order_type": "trailing_stop",
        "quantity": "0.1",
        "trailing_offset": "50",
        "trailing_offset_type": "basis_points",
        "client_order_id": "o-ts-1",
    }
    missing = client.post("/v1/orders", headers=trader, json={**order, "trailing_offset": None})
    assert missing.status_code == 422
    assert "trailing_offset" in missing.json()["detail"]
    placed = client.post("/v1/orders", headers=trader, json=order)
    assert placed.status_code == 202, placed.text
    (request,) = _requests(kafka_bootstrap, topic)
    assert (request["order_type"], request["trailing_offset"]) == ("TRAILING_STOP", Decimal(50))
    assert request["trailing_offset_type"] == "BASIS_POINTS"
    events = PaperVenue(PaperConfig("binance")).submit(request, time.time_ns()).events
    assert [(e.exec_type, e.status) for e in events] == [("NEW", "NEW")]
    assert "emulated trailing-stop" in (events[0].text or "")
