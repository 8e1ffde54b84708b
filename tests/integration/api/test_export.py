"""CSV export of orders, fills and positions: exact content from seeded chDB rows."""

from __future__ import annotations

import csv
import io

from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient

from tests.integration.api.conftest import login
from tests.integration.api.seed import T0, seed_trading


def _csv(client: TestClient, path: str, headers: dict[str, str]) -> list[list[str]]:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.text)))


def test_fills_export_is_exact_and_holds_only_the_callers_accounts(
    read_only_api: TestClient, clickhouse: Client
) -> None:
    seed_trading(clickhouse)
    trader = login(read_only_api, "trader")
    rows = _csv(read_only_api, "/v1/export/fills.csv", trader)
    assert rows == [
        [
            "fill_id", "client_order_id", "account", "venue", "instrument", "side", "price",
            "quantity", "fee", "fee_currency", "liquidity", "venue_ts_ns", "receive_ts_ns",
        ],
        [
            "binance:f1", "o-desk-1", "desk", "binance", "BTC-USDT-SPOT", "BUY", "64000.1",
            "0.00000812", "-0.000000001", "USDT", "MAKER", "", str(T0 + 5),
        ],
    ]  # fmt: skip


def test_orders_and_positions_exports_for_an_admin(
    read_only_api: TestClient, clickhouse: Client
) -> None:
    seed_trading(clickhouse)
    admin = login(read_only_api, "admin")
    orders = _csv(read_only_api, "/v1/export/orders.csv", admin)
    assert orders[0][:3] == ["client_order_id", "account", "venue"]
    by_id = {row[0]: dict(zip(orders[0], row, strict=True)) for row in orders[1:]}
    assert set(by_id) == {"o-desk-1", "o-other-1"}
    assert by_id["o-desk-1"]["status"] == "PARTIALLY_FILLED"  # the latest event per order
    assert by_id["o-desk-1"]["leaves_qty"] == "0.49999188"
    assert by_id["o-other-1"]["text"] == 'done, "quoted"'  # CSV quoting round-trips
    assert by_id["o-other-1"]["limit_price"] == ""  # NULL
    positions = _csv(read_only_api, "/v1/export/positions.csv?account=other", admin)
    assert positions[1][:5] == ["other", "okx", "ETH-USDT-SPOT", "-2", "3000.25"]
    assert len(positions) == 2
    window = _csv(read_only_api, f"/v1/export/fills.csv?since_ns={T0 + 6}&until_ns={T0 + 8}", admin)
    assert [r[0] for r in window[1:]] == ["okx:f2"]
