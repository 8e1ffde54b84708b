"""Market data over the API: the latest book per venue rebuilt from stored snapshots and
deltas (chDB, rows as the sink stores them)."""

from __future__ import annotations

from typing import Any

from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient

from tapewire.schemas.codec import Codec
from tapewire.sinks.clickhouse.rows import mapping_for_topic
from tests.factories import INST, T0
from tests.factories.market import book
from tests.integration.api.conftest import login


def store(clickhouse: Client, topic: str, records: list[Any], *, partition: int = 0) -> None:
    """Insert ``records`` (typed records of ``topic``) as the sink does: through the Avro
    codec, then the topic's table mapping, at offsets 0, 1, ..."""
    codec = Codec()
    mapping = mapping_for_topic(topic)
    rows = [
        mapping.row(codec.decode(topic, codec.encode(topic, r)), topic, partition, offset)
        for offset, r in enumerate(records)
    ]
    clickhouse.insert(mapping.table, rows, column_names=list(mapping.columns))


def test_book_is_the_last_snapshot_plus_later_deltas_per_venue(
    read_only_api: TestClient, clickhouse: Client
) -> None:
    updates = [
        # an old snapshot that a newer one replaces entirely
        book("binance", [("99", "9")], [("103", "9")], ts=T0),
        book("binance", [("100", "1"), ("99.5", "2")], [("101", "1.5")], ts=T0 + 1),
        book("binance", [("100", "0"), ("99.9", "0.00000812")], [], kind="DELTA", ts=T0 + 2),
        book("binance", [], [("100.5", "3"), ("102", "4")], kind="DELTA", ts=T0 + 3),
        book("okx", [("100.1", "5")], [("100.2", "6")], ts=T0 + 4),
        book("okx", [("100.1", "7")], [], kind="DELTA", ts=T0 + 5),  # the last update wins
        book("okx", [("1", "1")], [], instrument="ETH-USDT-SPOT", ts=T0 + 6),
    ]
    store(clickhouse, "md.book", updates)
    viewer = login(read_only_api, "viewer")
    response = read_only_api.get(f"/v1/market/book/{INST}?levels=2", headers=viewer)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "instrument": INST,
        "venues": [
            {
                "venue": "binance",
                "bids": [
                    {"price": "99.9", "size": "0.00000812"},
                    {"price": "99.5", "size": "2"},
                ],
                "asks": [{"price": "100.5", "size": "3"}, {"price": "101", "size": "1.5"}],
                "update_ts_ns": T0 + 3,
            },
            {
                "venue": "okx",
                "bids": [{"price": "100.1", "size": "7"}],
                "asks": [{"price": "100.2", "size": "6"}],
                "update_ts_ns": T0 + 5,
            },
        ],
    }
    one = read_only_api.get(f"/v1/market/book/{INST}?venue=okx&levels=1", headers=viewer)
    assert [v["venue"] for v in one.json()["venues"]] == ["okx"]
    missing = read_only_api.get("/v1/market/book/SOL-USDT-SPOT", headers=viewer)
    assert missing.status_code == 404
    assert "no book stored for 'SOL-USDT-SPOT'" in missing.json()["detail"]
    assert read_only_api.get(f"/v1/market/book/{INST}?levels=0", headers=viewer).status_code == 422
    assert read_only_api.get(f"/v1/market/book/{INST}").status_code == 401
