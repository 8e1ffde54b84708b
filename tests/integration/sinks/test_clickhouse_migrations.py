"""Migrations on the real ClickHouse engine, and the trades table's exactness and idempotence."""

from __future__ import annotations

import re
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from tapewire.sinks.clickhouse.client import connect
from tapewire.sinks.clickhouse.migrations import (
    MIGRATIONS_TABLE,
    Migration,
    MigrationError,
    applied_migrations,
    load_migrations,
    migrate,
    migrate_url,
)
from tapewire.sinks.clickhouse.query import ExactDateTime, format_value, run_sql

pytestmark = pytest.mark.integration

TRADE_COLUMNS = [
    "venue",
    "instrument",
    "trade_id",
    "price",
    "size",
    "side",
    "exchange_ts",
    "receive_ts",
    "kafka_topic",
    "kafka_partition",
    "kafka_offset",
]
EXCHANGE_TS = 1_700_000_000_123_456_789
RECEIVE_TS = 1_700_000_000_124_000_001


def _trades() -> list[list[Any]]:
    return [
        [
            "binance",
            "SHIB-USDT-SPOT",
            "t1",
            Decimal("0.00000812"),
            Decimal("1250000"),
            "buy",
            EXCHANGE_TS,
            RECEIVE_TS,
            "md.trades",
            3,
            41,
        ],
        [
            "coinbase",
            "BTC-USD-SPOT",
            "t2",
            Decimal("68123.45"),
            Decimal("0.000123456789012345"),
            "sell",
            EXCHANGE_TS + 1,
            RECEIVE_TS + 1,
            "md.trades",
            0,
            7,
        ],
    ]


def _packaged_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir()
    for migration in load_migrations():
        (folder / migration.filename).write_text(migration.sql, encoding="utf-8")
    return folder


# --- migrations -------------------------------------------------------------------------


def test_migrations_apply_twice_second_is_noop(clickhouse: Client) -> None:
    database = str(clickhouse.database)
    packaged = load_migrations()
    before = applied_migrations(clickhouse, database)
    assert [m.version for m in before] == [m.version for m in packaged]
    assert [m.checksum for m in before] == [m.checksum for m in packaged]

    assert migrate(clickhouse, database) == []
    assert migrate(clickhouse, database) == []

    assert applied_migrations(clickhouse, database) == before
    rows = clickhouse.command(f"SELECT count() FROM {MIGRATIONS_TABLE}")
    assert int(str(rows)) == len(packaged)


def test_migrate_url_creates_database_then_is_noop(
    clickhouse_url: str, clickhouse_database: str
) -> None:
    # The open client keeps a chdb://memory engine (and its data) alive between the calls,
    # each of which opens and closes its own client.
    with connect(clickhouse_url, missing_database="ignore") as keeper:
        try:
            first = migrate_url(clickhouse_url, clickhouse_database)
            assert [m.filename for m in first] == [m.filename for m in load_migrations()]
            assert migrate_url(clickhouse_url, clickhouse_database) == []
            tables = run_sql(clickhouse_url, "SHOW TABLES", database=clickhouse_database)
            assert {row[0] for row in tables.rows} >= {MIGRATIONS_TABLE, "trades"}
        finally:
            keeper.command(f"DROP DATABASE IF EXISTS {clickhouse_database} SYNC")


def test_changed_applied_migration_is_an_error_naming_the_file(
    clickhouse: Client, tmp_path: Path
) -> None:
    database = str(clickhouse.database)
    folder = _packaged_copy(tmp_path)
    first = folder / "0001_trades.sql"
    first.write_text(first.read_text(encoding="utf-8") + "\n-- an innocent edit\n")

    with pytest.raises(MigrationError) as caught:
        migrate(clickhouse, database, migrations=load_migrations(folder))
    assert caught.value.filename == "0001_trades.sql"
    assert "migration 0001_trades.sql changed after it was applied" in caught.value.message
    assert caught.value.hint is not None
    assert "add a new file" in caught.value.hint


def test_renamed_applied_migration_is_an_error(clickhouse: Client, tmp_path: Path) -> None:
    folder = _packaged_copy(tmp_path)
    (folder / "0001_trades.sql").rename(folder / "0001_trade_tape.sql")
    with pytest.raises(MigrationError, match="must not be renamed") as caught:
        migrate(clickhouse, str(clickhouse.database), migrations=load_migrations(folder))
    assert caught.value.filename == "0001_trade_tape.sql"


def _next_migration(name: str) -> str:
    """A file name for a test migration after the last packaged one."""
    return f"{load_migrations()[-1].version + 1:04d}_{name}.sql"


def test_new_migration_is_applied_once_and_unknown_applied_one_is_refused(
    clickhouse: Client, tmp_path: Path
) -> None:
    database = str(clickhouse.database)
    folder = _packaged_copy(tmp_path)
    notes = _next_migration("trade_notes")
    (folder / notes).write_text(
        "-- two statements; a ';' inside a string must not split them\n"
        "CREATE TABLE IF NOT EXISTS trade_notes (note String) ENGINE = MergeTree ORDER BY note;\n"
        "INSERT INTO trade_notes VALUES ('a; b -- not a comment');\n",
        encoding="utf-8",
    )
    applied = migrate(clickhouse, database, migrations=load_migrations(folder))
    assert [m.filename for m in applied] == [notes]
    assert migrate(clickhouse, database, migrations=load_migrations(folder)) == []
    assert clickhouse.query("SELECT note FROM trade_notes").result_rows == [
        ("a; b -- not a comment",)
    ]

    with pytest.raises(MigrationError, match=re.escape(f"{notes} applied")) as caught:
        migrate(clickhouse, database)  # the packaged set does not know the test migration
    assert caught.value.hint is not None
    assert "newer Tapewire" in caught.value.hint


def test_failing_migration_is_not_recorded_and_reruns_after_fix(
    clickhouse: Client, tmp_path: Path
) -> None:
    database = str(clickhouse.database)
    folder = _packaged_copy(tmp_path)
    shipped = [m.version for m in load_migrations()]
    broken = folder / _next_migration("add_venue_table")
    broken.write_text(
        "CREATE TABLE IF NOT EXISTS venues (id String) ENGINE = MergeTree ORDER BY id;\n"
        "ALTER TABLE venues ADD COLUMN IF NOT EXISTS name Strin;\n",
        encoding="utf-8",
    )
    with pytest.raises(MigrationError) as caught:
        migrate(clickhouse, database, migrations=load_migrations(folder))
    assert caught.value.filename == broken.name
    assert "failed at statement 2" in caught.value.message
    assert [m.version for m in applied_migrations(clickhouse, database)] == shipped

    broken.write_text(broken.read_text().replace("Strin;", "String;"), encoding="utf-8")
    applied = migrate(clickhouse, database, migrations=load_migrations(folder))
    assert [m.version for m in applied] == [shipped[-1] + 1]
    assert [m.version for m in applied_migrations(clickhouse, database)] == [
        *shipped,
        shipped[-1] + 1,
    ]


def test_packaged_migrations_are_well_formed() -> None:
    migrations = load_migrations()
    assert migrations
    assert migrations[0].filename == "0001_trades.sql"
    assert [m.version for m in migrations] == sorted({m.version for m in migrations})
    for migration in migrations:
        assert isinstance(migration, Migration)
        assert migration.statements()


# --- trades: exact values ---------------------------------------------------------------


def test_trade_reads_back_exactly(clickhouse: Client) -> None:
    clickhouse.insert("trades", _trades(), column_names=TRADE_COLUMNS)

    result = clickhouse.query(
        "SELECT trade_id, price, size, toString(price), toString(size), side, "
        "toUnixTimestamp64Nano(exchange_ts), toUnixTimestamp64Nano(receive_ts), "
        "toString(exchange_ts), kafka_topic, kafka_partition, kafka_offset "
        "FROM trades ORDER BY trade_id"
    )
    assert result.result_rows == [
        (
            "t1",
            Decimal("0.00000812"),
            Decimal("1250000"),
            "0.00000812",
            "1250000",
            "buy",
            EXCHANGE_TS,
            RECEIVE_TS,
            "2023-11-14 22:13:20.123456789",
            "md.trades",
            3,
            41,
        ),
        (
            "t2",
            Decimal("68123.45"),
            Decimal("0.000123456789012345"),
            "68123.45",
            "0.000123456789012345",
            "sell",
            EXCHANGE_TS + 1,
            RECEIVE_TS + 1,
            "2023-11-14 22:13:20.123456790",
            "md.trades",
            0,
            7,
        ),
    ]
    columns = clickhouse.query(
        "SELECT name, type FROM system.columns WHERE "
        "database = currentDatabase() AND table = 'trades'"
    ).result_rows
    types = {str(name): str(kind) for name, kind in columns}
    assert types["price"] == "Decimal(38, 18)"
    assert types["exchange_ts"] == "DateTime64(9, 'UTC')"


def test_run_sql_returns_exact_values(clickhouse_url: str, clickhouse: Client) -> None:
    clickhouse.insert("trades", _trades(), column_names=TRADE_COLUMNS)
    names, rows = run_sql(
        clickhouse_url,
        "SELECT trade_id, price, exchange_ts FROM trades ORDER BY trade_id",
        database=clickhouse.database,
    )
    assert names == ("trade_id", "price", "exchange_ts")
    assert rows[0] == ("t1", Decimal("0.00000812"), ExactDateTime(EXCHANGE_TS, 9, "UTC"))
    assert rows[1][1] == Decimal("68123.45")
    assert rows[0][2].epoch_ns == EXCHANGE_TS
    assert [format_value(v) for v in rows[0]] == [
        "t1",
        "0.00000812",
        "2023-11-14 22:13:20.123456789",
    ]


# --- trades: idempotence ----------------------------------------------------------------


def _count(client: Client, sql: str) -> int:
    return int(str(client.command(sql)))


def test_reinserted_offsets_leave_one_copy(clickhouse: Client) -> None:
    trades = _trades()
    clickhouse.insert("trades", trades, column_names=TRADE_COLUMNS)
    clickhouse.insert("trades", trades, column_names=TRADE_COLUMNS)  # replay after a crash
    replayed = [[*row[:-1], row[-1] + 1000] for row in trades[:1]]  # same trade, new offset
    clickhouse.insert("trades", replayed, column_names=TRADE_COLUMNS)

    assert _count(clickhouse, "SELECT count() FROM trades FINAL") == len(trades)
    clickhouse.command("OPTIMIZE TABLE trades FINAL")
    assert _count(clickhouse, "SELECT count() FROM trades") == len(trades)
    exact = clickhouse.query(
        "SELECT trade_id, price, kafka_offset FROM trades ORDER BY trade_id"
    ).result_rows
    assert exact == [("t1", Decimal("0.00000812"), 1041), ("t2", Decimal("68123.45"), 7)]


def test_distinct_trades_are_all_kept(clickhouse: Client) -> None:
    base = _trades()[0]
    rows = [[*base[:2], f"t{i}", *base[3:6], EXCHANGE_TS, RECEIVE_TS, "md.trades", 3, i]
            for i in range(100)]  # fmt: skip
    clickhouse.insert("trades", rows, column_names=TRADE_COLUMNS)
    clickhouse.command("OPTIMIZE TABLE trades FINAL")
    assert _count(clickhouse, "SELECT count() FROM trades") == 100


# --- concurrency ------------------------------------------------------------------------


def test_client_is_shared_safely_across_threads(clickhouse_url: str, clickhouse: Client) -> None:
    """One client used by 4 threads, and 4 more threads with a client each."""
    errors: list[BaseException] = []
    base = _trades()[0]

    def insert(client: Client, first: int) -> None:
        try:
            for i in range(first, first + 25):
                row = [
                    *base[:2],
                    f"x{i}",
                    *base[3:6],
                    EXCHANGE_TS + i,
                    RECEIVE_TS,
                    "md.trades",
                    0,
                    i,
                ]
                client.insert("trades", [row], column_names=TRADE_COLUMNS)
                client.query("SELECT count() FROM trades")
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    def own_client(first: int) -> None:
        with connect(clickhouse_url, database=clickhouse.database) as client:
            insert(client, first)

    threads = [threading.Thread(target=insert, args=(clickhouse, n * 25)) for n in range(4)]
    threads += [threading.Thread(target=own_client, args=(100 + n * 25,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert _count(clickhouse, "SELECT count() FROM trades FINAL") == 200


def test_fixture_databases_are_isolated(clickhouse: Client) -> None:
    """Every test gets an empty, freshly migrated database."""
    assert str(clickhouse.database).startswith("test_")
    assert _count(clickhouse, "SELECT count() FROM trades") == 0
