"""The WebSocket on the real broker: a fill from ``oms.fills`` (only the caller's accounts,
exact decimals); quotes, NBBO and bars of the instruments asked for; refusals."""

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
from tapewire.records.market import Bar
from tapewire.records.orders import Fill
from tapewire.runtime.kafka_io import produce_all
from tapewire.schemas.codec import Codec
from tests.factories import INST, T0
from tests.factories.market import nbbo, quote
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
        assert hello == {
            "type": "subscribed",
            "accounts": ["desk"],
            "instruments": [],
            "types": ["fill"],
        }
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


def _bar(instrument: str) -> Bar:
    return Bar(
        venue="binance",
        instrument=instrument,
        interval="1m",
        interval_ns=60 * 10**9,
        start_ts_ns=T0,
        end_ts_ns=T0 + 60 * 10**9,
        open=Decimal("100"),
        high=Decimal("101.5"),
        low=Decimal("99.25"),
        close=Decimal("100.00000812"),
        volume=Decimal("3"),
        quote_volume=Decimal("300.1"),
        trade_count=7,
        buy_volume=Decimal("2"),
        sell_volume=Decimal("1"),
        process_ts_ns=T0 + 60 * 10**9,
    )


def test_websocket_streams_quotes_nbbo_and_bars_of_the_instruments_asked_for(
    stream_api: tuple[TestClient, str], kafka_bootstrap: str
) -> None:
    client, prefix = stream_api
    viewer = login(client, "viewer")
    codec = Codec()
    url = f"/v1/stream?types=quote,nbbo,bar&instruments={INST}"
    with client.websocket_connect(url, headers=viewer) as socket:
        hello = socket.receive_json()
        assert (hello["instruments"], hello["types"]) == ([INST], ["bar", "nbbo", "quote"])
        other = "ETH-USDT-SPOT"
        for topic, records in (
            ("md.quotes", [quote("okx", "1", "2", instrument=other), quote("okx", "99", "100")]),
            ("md.nbbo", [nbbo("5", "6", instrument=other), nbbo("99.5", "100.00000812")]),
            ("md.bars.1m", [_bar(other), _bar(INST)]),
        ):
            produce_all(
                kafka_bootstrap,
                prefix + topic,
                [(codec.key(topic, r), codec.encode(topic, r)) for r in records],
            )
        got = {m["type"]: m["data"] for m in (socket.receive_json() for _ in range(3))}
    assert set(got) == {"quote", "nbbo", "bar"}  # and nothing of ETH-USDT-SPOT
    assert all(d["instrument"] == INST for d in got.values())
    assert (got["quote"]["venue"], got["quote"]["bid_price"]) == ("okx", "99")
    assert got["nbbo"]["ask_price"] == "100.00000812"
    assert (got["bar"]["interval"], got["bar"]["close"]) == ("1m", "100.00000812")


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ("types=quote", "need instruments="),
        ("types=quote&instruments=BTC USDT", "is not an instrument id"),
        ("types=fill,trades", "expected some of"),
    ],
)
def test_websocket_refuses_market_data_without_valid_instruments(
    stream_api: tuple[TestClient, str], query: str, why: str
) -> None:
    client, _ = stream_api
    viewer = login(client, "viewer")
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect(f"/v1/stream?{query}", headers=viewer),
    ):
        pass
    assert refused.value.code == 4400
    assert why in refused.value.reason
