"""CSV and Parquet exports of orders, fills and positions: exact content from seeded chDB
rows."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
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


def _parquet(client: TestClient, path: str, headers: dict[str, str]) -> pa.Table:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.apache.parquet"
    return pq.read_table(io.BytesIO(response.content))


def test_parquet_exports_have_the_csv_columns_with_exact_types_and_values(
    read_only_api: TestClient, clickhouse: Client
) -> None:
    seed_trading(clickhouse)
    trader = login(read_only_api, "trader")
    fills = _parquet(read_only_api, "/v1/export/fills.parquet", trader)
    header, row = _csv(read_only_api, "/v1/export/fills.csv", trader)
    assert fills.column_names == header
    assert fills.schema.field("price").type == pa.decimal128(38, 18)
    assert fills.schema.field("receive_ts_ns").type == pa.int64()
    (record,) = fills.to_pylist()  # only the trader's account, as in the CSV
    assert record["fill_id"] == "binance:f1"
    assert (record["price"], record["quantity"], record["fee"]) == (
        Decimal("64000.1"),
        Decimal("0.00000812"),
        Decimal("-0.000000001"),
    )
    assert (record["venue_ts_ns"], record["receive_ts_ns"]) == (None, T0 + 5)
    assert [str(record[c] if record[c] is not None else "") for c in header][:2] == row[:2]

    admin = login(read_only_api, "admin")
    orders = _parquet(read_only_api, "/v1/export/orders.parquet", admin).to_pylist()
    by_id = {o["client_order_id"]: o for o in orders}
    assert by_id["o-desk-1"]["leaves_qty"] == Decimal("0.49999188")
    assert by_id["o-other-1"]["limit_price"] is None
    positions = _parquet(read_only_api, "/v1/export/positions.parquet?account=other", admin)
    assert positions.num_rows == 1
    assert positions.to_pylist()[0]["quantity"] == Decimal(-2)
    empty = _parquet(read_only_api, f"/v1/export/fills.parquet?since_ns={2**62}", admin)
    assert empty.num_rows == 0  # a readable file (its columns: see docs/api.md)
    assert read_only_api.get("/v1/export/fills.parquet").status_code == 401
