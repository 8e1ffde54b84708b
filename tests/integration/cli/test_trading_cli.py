"""``tapewire order|positions|kill-switch`` run as a user would (subprocesses), through the
real broker (the published ``OrderRequest`` is read back and decoded) and ClickHouse (rows
seeded, then read by the CLI: through the demo's query server and directly)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from tapewire.core.kafka import client_config
from tapewire.runtime.kafka_io import delete_topics
from tapewire.schemas.codec import Codec
from tapewire.sinks.clickhouse.migrations import migrate_url
from tapewire.sinks.clickhouse.query import run_sql
from tapewire.sinks.clickhouse.query_server import QueryServer
from tapewire.streams.oms import OrderRequest, validate_request

SENT = re.compile(r"client order id (\S+) -> (\S+) partition (\d+) offset (\d+)")
CODEC = Codec()


def _tapewire(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in {"KAFKA_BOOTSTRAP_SERVERS"}}
    return subprocess.run(
        [sys.executable, "-m", "tapewire.cli", *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _read_back(bootstrap: str, topic: str, partition: int, offset: int) -> tuple[bytes, Any]:
    consumer = Consumer(
        client_config(bootstrap)
        | {"group.id": f"cli-test-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False}
    )
    try:
        consumer.assign([TopicPartition(topic, partition, offset)])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None or msg.error() is not None:
                continue
            value, key = msg.value(), msg.key()
            assert value is not None
            assert key is not None
            return key, CODEC.decode(topic, value)
    finally:
        consumer.close()
    raise AssertionError(f"nothing at {topic}[{partition}]@{offset}")


def _sent(done: subprocess.CompletedProcess[str]) -> tuple[str, str, int, int]:
    assert done.returncode == 0, done.stdout + done.stderr
    match = SENT.search(done.stdout)
    assert match, done.stdout
    return match[1], match[2], int(match[3]), int(match[4])


@pytest.fixture(scope="module", autouse=True)
def _drop_the_requests_topic(kafka_bootstrap: str) -> Iterator[None]:
    """The CLI writes the canonical ``oms.requests`` (no prefix): drop it afterwards, or a
    later ``tapewire demo`` on the session's broker would read the kill switch and halt."""
    yield
    delete_topics(kafka_bootstrap, ["oms.requests"])
    admin = AdminClient(client_config(kafka_bootstrap))
    deadline = time.monotonic() + 30
    while "oms.requests" in admin.list_topics(timeout=10).topics:
        assert time.monotonic() < deadline, "oms.requests was not deleted"
        time.sleep(0.2)


@pytest.fixture
def env(kafka_bootstrap: str, tmp_path: Path) -> dict[str, str]:
    return {"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "TAPEWIRE_DATA_DIR": str(tmp_path)}


@pytest.mark.timeout(180)
def test_order_new_publishes_a_valid_order_request(
    kafka_bootstrap: str, env: dict[str, str]
) -> None:
    started = time.monotonic()
    done = _tapewire(
        "order", "new", "--account", "A", "--venue", "binance", "--instrument",
        "BTC-USDT-SPOT", "--side", "buy", "--type", "limit", "--qty", "0.01",
        "--price", "65000.000000000000000001", "--tif", "IOC",
        env=env,
    )  # fmt: skip
    cid, topic, partition, offset = _sent(done)
    assert topic == "oms.requests"
    assert cid.startswith("cli-")
    key, record = _read_back(kafka_bootstrap, topic, partition, offset)
    assert key == CODEC.key(topic, record)
    request = OrderRequest.from_record(record)
    assert validate_request(request) == []
    assert (
        request.client_order_id,
        request.account,
        request.venue,
        request.instrument,
        request.action,
        request.side,
        request.order_type,
        request.time_in_force,
        request.quantity,
        request.limit_price,
    ) == (
        cid, "A", "binance", "BTC-USDT-SPOT", "NEW", "BUY", "LIMIT", "IOC",
        Decimal("0.01"), Decimal("65000.000000000000000001"),
    )  # fmt: skip
    assert request.requested_by.startswith("cli:")
    assert abs(request.request_ts_ns - time.time_ns()) < 120 * 10**9

    again = _tapewire(
        "order", "new", "--account", "A", "--venue", "okx", "--instrument", "BTC-USDT-SPOT",
        "--side", "sell", "--type", "market", "--qty", "2", "--client-order-id", "my-id-1",
        env=env,
    )  # fmt: skip
    cid, topic, partition, offset = _sent(again)
    assert cid == "my-id-1"
    _, record = _read_back(kafka_bootstrap, topic, partition, offset)
    assert (record["client_order_id"], record["side"], record["order_type"]) == (
        "my-id-1",
        "SELL",
        "MARKET",
    )
    assert record["limit_price"] is None
    print(f"\norder new x2 incl. read-back: {time.monotonic() - started:.1f}s")


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--qty", "0.0.1", "--qty='0.0.1': not a decimal number"),
        ("--qty", "-1", "--qty='-1': must be positive"),
        ("--side", "hold", "--side='hold': expected one of buy, sell"),
        ("--tif", "forever", "--tif='forever': expected one of"),
        ("--instrument", "BTC/USDT", "--instrument='BTC/USDT'"),
        ("--price", "", "--price=''"),
    ],
)
def test_a_bad_option_is_one_clear_line_and_exit_2(
    env: dict[str, str], option: str, value: str, expected: str
) -> None:
    args = {
        "--account": "A",
        "--venue": "binance",
        "--instrument": "BTC-USDT-SPOT",
        "--side": "buy",
        "--qty": "0.01",
        "--price": "65000",
        "--tif": "GTC",
    } | {option: value}
    done = _tapewire("order", "new", *(x for kv in args.items() for x in kv), env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert expected in lines[0]
    assert "sent" not in done.stdout


def test_without_a_broker_the_command_says_how_to_start_one(tmp_path: Path) -> None:
    done = _tapewire("kill-switch", "on", env={"TAPEWIRE_DATA_DIR": str(tmp_path)})
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "local broker is not running" in lines[0]
    assert "tapewire kafka start" in lines[0]


@pytest.mark.timeout(180)
def test_kill_switch_publishes_the_trading_state_cancel_all(
    kafka_bootstrap: str, env: dict[str, str]
) -> None:
    for state, trading_state, account in (("on", "HALTED", "*"), ("off", "ACTIVE", "A")):
        args = (
            ("kill-switch", state)
            if account == "*"
            else ("kill-switch", state, "--account", account)
        )
        cid, topic, partition, offset = _sent(_tapewire(*args, env=env))
        assert topic == "oms.requests"
        _, record = _read_back(kafka_bootstrap, topic, partition, offset)
        assert {
            k: record[k] for k in ("client_order_id", "account", "venue", "instrument", "action")
        } == {
            "client_order_id": cid,
            "account": account,
            "venue": "",
            "instrument": "",
            "action": "CANCEL_ALL",
        }
        assert record["tags"] == {"trading_state": trading_state}
        assert record["quantity"] == 0
        assert validate_request(OrderRequest.from_record(record)) == []

    cid, topic, partition, offset = _sent(
        _tapewire("order", "cancel-all", "--account", "A", "--venue", "okx", env=env)
    )
    _, record = _read_back(kafka_bootstrap, topic, partition, offset)
    assert (record["action"], record["venue"], record["tags"]) == ("CANCEL_ALL", "okx", {})


# ------------------------------------------------------------------ ClickHouse reads

POSITIONS = """
INSERT INTO positions (account, venue, instrument, quantity, avg_price, realized_pnl,
    unrealized_pnl, fees, mark_price, mark_ts, pnl_currency, last_fill_id, update_ts,
    kafka_topic, kafka_partition, kafka_offset) VALUES
('acct', 'binance', 'BTC-USDT-SPOT', '0.1', '60000', '0', '0', '0.01', NULL, NULL, 'USDT',
    'f0', '2026-11-22 04:00:00.000000001', 'positions', 0, 1),
('acct', 'binance', 'BTC-USDT-SPOT', '0.123456789012345678', '65000.000000000000000001',
    '-1.5', '0.000000000000000001', '0.051', '65000.5', '2026-11-22 04:00:01', 'USDT', 'f1',
    '2026-11-22 04:00:02.000000001', 'positions', 0, 2),
('acct', 'okx', 'BTC-USDT-SPOT', '0', NULL, '12.25', '0', '0.0505', '65000.5',
    '2026-11-22 04:00:01', 'USDT', 'f2', '2026-11-22 04:00:03', 'positions', 1, 7),
('other', 'okx', 'ETH-USDT-SPOT', '-3', '3500', '0', '-7.5', '0', NULL, NULL, 'USDT', 'f3',
    '2026-11-22 04:00:03', 'positions', 1, 8)
"""

EVENTS = """
INSERT INTO order_events (event_id, client_order_id, orig_client_order_id, venue_order_id,
    account, venue, instrument, side, order_type, time_in_force, status, exec_type, quantity,
    limit_price, stop_price, cum_qty, leaves_qty, avg_price, last_qty, last_price, exec_id,
    text, emulated, venue_ts, event_ts, strategy_id, kafka_topic, kafka_partition,
    kafka_offset) VALUES
('binance:1:0', 'ord-1', NULL, '1', 'acct', 'binance', 'BTC-USDT-SPOT', 'BUY', 'LIMIT', 'GTC',
    'NEW', 'NEW', '0.01', '65000', NULL, '0', '0.01', NULL, NULL, NULL, NULL, NULL, false,
    NULL, '2026-11-22 04:00:00.000000001', NULL, 'oms.events', 0, 1),
('binance:1:1', 'ord-1', NULL, '1', 'acct', 'binance', 'BTC-USDT-SPOT', 'BUY', 'LIMIT', 'GTC',
    'PARTIALLY_FILLED', 'TRADE', '0.01', '65000', NULL, '0.004000000000000001',
    '0.005999999999999999', '64999.999999999999999999', '0.004000000000000001', '65000',
    'x1', NULL, false, NULL, '2026-11-22 04:00:00.000000002', NULL, 'oms.events', 0, 2)
"""

DECISIONS = """
INSERT INTO risk_decisions (decision_id, client_order_id, account, decision, rule, reason,
    rules_evaluated, trading_state, reference_price, reference_ts, decision_ts, action, venue,
    instrument, side, order_type, quantity, limit_price, requested_by, strategy_id, request_ts,
    kafka_topic, kafka_partition, kafka_offset) VALUES
('risk:acct:ord-2:1', 'ord-2', 'acct', 'DENIED', 'price_band', 'price 70000 is 769 bps off',
    ['price_band'], 'ACTIVE', '65000', NULL, '2026-11-22 04:00:05', 'NEW', 'okx',
    'BTC-USDT-SPOT', 'SELL', 'LIMIT', '1', '70000', 'cli:ops', NULL, '2026-11-22 04:00:04',
    'oms.denied', 0, 1)
"""


def _chdb_only(clickhouse_url: str, tmp_path: Path) -> str:
    if not clickhouse_url.startswith("chdb://"):
        pytest.skip("reads through the query server are about chDB; unset CLICKHOUSE_URL")
    return f"chdb://{tmp_path / 'chdb'}"


@pytest.mark.timeout(300)
def test_positions_and_order_status_read_seeded_rows_exactly(
    clickhouse_url: str, tmp_path: Path
) -> None:
    url = _chdb_only(clickhouse_url, tmp_path)
    migrate_url(url)
    for sql in (POSITIONS, EVENTS, DECISIONS):
        run_sql(url, sql)
    env = {"TAPEWIRE_DATA_DIR": str(tmp_path), "CLICKHOUSE_URL": url}

    started = time.monotonic()
    with QueryServer(url, tmp_path) as server:  # as `tapewire demo` holds the chDB directory
        done = _tapewire("positions", env=env)
        assert done.returncode == 0, done.stderr
        assert f"answered by pid {os.getpid()}" in done.stdout
        assert "3 row(s)" in done.stdout
        binance = _row(done.stdout, "acct", "binance")
        assert binance[3:9] == [
            "0.123456789012345678",
            "65000.000000000000000001",
            "-1.5",
            "0.000000000000000001",
            "0.051",
            "65000.5",
        ]
        okx = _row(done.stdout, "acct", "okx")
        assert okx[3:8] == ["0", "NULL", "12.25", "0", "0.0505"]
        assert _row(done.stdout, "other", "okx")[3] == "-3"

        done = _tapewire("order", "status", "--client-order-id", "ord-1", env=env)
        assert done.returncode == 0, done.stderr
        status = _row(done.stdout, "ord-1", "acct")
        assert status[7:14] == [
            "PARTIALLY_FILLED",
            "TRADE",
            "0.01",
            "65000",
            "0.004000000000000001",
            "0.005999999999999999",
            "64999.999999999999999999",
        ]
        assert server.queries_answered == 2
    via_server_s = time.monotonic() - started

    started = time.monotonic()
    done = _tapewire("positions", "--account", "other", env=env)  # nobody holds chDB now
    assert done.returncode == 0, done.stderr
    assert "answered directly" in done.stdout
    assert "1 row(s)" in done.stdout
    assert _row(done.stdout, "other", "okx")[3:7] == ["-3", "3500", "0", "-7.5"]

    done = _tapewire("order", "status", "--client-order-id", "ord-2", env=env)
    assert done.returncode == 0, done.stderr
    assert _row(done.stdout, "ord-2", "acct")[4:6] == [
        "risk",
        "DENIED price_band: price 70000 is 769 bps off",
    ]

    done = _tapewire("order", "status", "--client-order-id", "nope", env=env)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "--client-order-id='nope': no such order" in lines[0]
    print(f"\nvia query server {via_server_s:.1f}s, directly {time.monotonic() - started:.1f}s")


def _row(stdout: str, *first: str) -> list[str]:
    """Cells of the table row whose first cells are ``first`` (rich box characters split)."""
    for line in stdout.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃]", line)[1:-1]]
        if cells[: len(first)] == list(first):
            return cells
    raise AssertionError(f"no row starting {first} in:\n{stdout}")
