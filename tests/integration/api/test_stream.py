"""The WebSocket receives a fill from ``oms.fills`` on the real broker: only the caller's
accounts, exact decimals."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tapewire.api.app import create_app
from tapewire.api.config import ApiConfig
from tapewire.api.server import api_services
from tapewire.records.orders import Fill
from tapewire.runtime.kafka_io import produce_all
from tapewire.schemas.codec import Codec
from tests.integration.api.conftest import login


@pytest.fixture
def stream_api(
    api_config: ApiConfig, api_db_url: str, kafka_bootstrap: str
) -> Iterator[tuple[TestClient, str]]:
    prefix = f"ws{uuid.uuid4().hex[:8]}."
    with (
        api_services(
            api_config,
            clickhouse_url=api_db_url,
            bootstrap=kafka_bootstrap,
            codec=Codec(),
            topic_name=lambda t: prefix + t,
            partitions=2,
        ) as services,
        TestClient(create_app(services)) as client,
    ):
        yield client, prefix


def _fill(account: str, fill_id: str) -> Fill:
    return Fill(
        fill_id=fill_id,
        client_order_id=f"o-{fill_id}",
        account=account,
        venue="binance",
        instrument="BTC-USDT-SPOT",
        side="BUY",
        price=Decimal("64000.10"),
        quantity=Decimal("0.00000812"),
        fee=Decimal("-0.000000001"),
        fee_currency="USDT",
        liquidity="MAKER",
        receive_ts_ns=1_700_000_000_123_456_789,
    )


def test_websocket_receives_the_callers_fill_and_not_another_accounts(
    stream_api: tuple[TestClient, str], kafka_bootstrap: str
) -> None:
    client, prefix = stream_api
    trader = login(client, "trader")
    codec = Codec()
    with client.websocket_connect("/v1/stream?types=fill", headers=trader) as socket:
        hello = socket.receive_json()
        assert hello == {"type": "subscribed", "accounts": ["desk"], "types": ["fill"]}
        records = [_fill("other", "binance:f-other"), _fill("desk", "binance:f-desk")]
        produce_all(
            kafka_bootstrap,
            prefix + "oms.fills",
            [(codec.key("oms.fills", r), codec.encode("oms.fills", r)) for r in records],
        )
        message = socket.receive_json()  # TestClient waits; the hub reads within ~0.2 s
    assert message["type"] == "fill"
    data = message["data"]
    assert data["fill_id"] == "binance:f-desk"  # the other account's fill was not sent
    assert (data["price"], data["quantity"], data["fee"]) == (
        "64000.1",
        "0.00000812",
        "-0.000000001",
    )
    assert data["receive_ts_ns"] == 1_700_000_000_123_456_789


def test_websocket_refuses_no_token_and_another_account(
    stream_api: tuple[TestClient, str],
) -> None:
    client, _ = stream_api
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/v1/stream"):
        pass
    assert refused.value.code == 4401
    trader = login(client, "trader")
    with (
        pytest.raises(WebSocketDisconnect) as other,
        client.websocket_connect("/v1/stream?accounts=other", headers=trader),
    ):
        pass
    assert other.value.code == 4403
