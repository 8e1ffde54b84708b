"""Pure parts of the ClickHouse package: statement splitting, migration files, value text."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tapewire.sinks.clickhouse.migrations import MigrationError, load_migrations, split_statements
from tapewire.sinks.clickhouse.query import ExactDateTime, format_value


def test_split_on_semicolons_at_line_ends_and_drop_comments() -> None:
    sql = """
    -- header comment; with a semicolon
    CREATE TABLE a (x UInt8) ENGINE = Memory; -- trailing comment
    /* block; comment */
    CREATE TABLE b (s String DEFAULT 'x;y', t String DEFAULT 'it''s; fine',
        u String DEFAULT 'a\\';b') ENGINE = Memory;
    # hash comment;
    SELECT `odd;name`, "other;name" FROM b;
    -- trailing comment only
    """
    assert split_statements(sql) == [
        "CREATE TABLE a (x UInt8) ENGINE = Memory",
        "CREATE TABLE b (s String DEFAULT 'x;y', t String DEFAULT 'it''s; fine',\n"
        "        u String DEFAULT 'a\\';b') ENGINE = Memory",
        'SELECT `odd;name`, "other;name" FROM b',
    ]


def test_last_statement_needs_no_semicolon() -> None:
    assert split_statements("SELECT 1;\nSELECT 2") == ["SELECT 1", "SELECT 2"]
    assert split_statements("-- nothing here\n/* at all */") == []


@pytest.mark.parametrize(
    ("sql", "says"),
    [
        ("SELECT 1;\nSELECT 'open", "line 2: unterminated ' quote"),
        ("SELECT 1 /* never closed", "line 1: unterminated /* comment"),
    ],
)
def test_unterminated_quotes_and_comments_name_the_line(sql: str, says: str) -> None:
    with pytest.raises(MigrationError, match=re.escape(f"0009_x.sql: {says}")):
        split_statements(sql, source="0009_x.sql")


@pytest.mark.parametrize(
    ("filename", "says"),
    [
        ("2_trades.sql", "is not named NNNN_<name>.sql"),
        ("0002-trades.sql", "is not named NNNN_<name>.sql"),
        ("0002_Trades.sql", "is not named NNNN_<name>.sql"),
        ("0000_zero.sql", "has version 0"),
    ],
)
def test_badly_named_migration_files(tmp_path: Path, filename: str, says: str) -> None:
    (tmp_path / filename).write_text("SELECT 1;\n")
    with pytest.raises(MigrationError, match=says) as caught:
        load_migrations(tmp_path)
    assert caught.value.filename == filename


def test_duplicate_versions_and_empty_files(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;\n")
    (tmp_path / "0001_b.sql").write_text("SELECT 2;\n")
    with pytest.raises(MigrationError, match="share version 0001"):
        load_migrations(tmp_path)
    (tmp_path / "0001_b.sql").unlink()
    (tmp_path / "0002_empty.sql").write_text("-- nothing yet\n")
    with pytest.raises(MigrationError, match=r"'0002_empty\.sql' has no SQL statement"):
        load_migrations(tmp_path)


def test_checksum_ignores_line_ending_style(tmp_path: Path) -> None:
    unix, windows = tmp_path / "unix", tmp_path / "windows"
    unix.mkdir()
    windows.mkdir()
    (unix / "0001_a.sql").write_bytes(b"SELECT 1;\nSELECT 2;\n")
    (windows / "0001_a.sql").write_bytes(b"SELECT 1;\r\nSELECT 2;\r\n")
    assert load_migrations(unix)[0].checksum == load_migrations(windows)[0].checksum


def test_other_files_are_ignored_and_order_is_by_version(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("notes")
    (tmp_path / "0010_later.sql").write_text("SELECT 10;")
    (tmp_path / "0002_early.sql").write_text("SELECT 2;")
    assert [m.filename for m in load_migrations(tmp_path)] == ["0002_early.sql", "0010_later.sql"]


def test_exact_datetime_text_and_conversions() -> None:
    value = ExactDateTime(1_700_000_000_123_456_789, 9, "UTC")
    assert str(value) == "2023-11-14 22:13:20.123456789"
    assert value.epoch_ns == 1_700_000_000_123_456_789
    assert value.to_datetime() == datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)
    assert str(ExactDateTime(-15, 1, "UTC")) == "1969-12-31 23:59:58.5"
    assert str(ExactDateTime(0, 3, "Asia/Tokyo")) == "1970-01-01 09:00:00.000"
    assert ExactDateTime(1500, 3).epoch_ns == 1_500_000_000


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("0.000008120000000000"), "0.00000812"),
        (Decimal("68123.450000000000000000"), "68123.45"),
        (Decimal("1E+3"), "1000"),
        (Decimal("-0.000000000000000000"), "0"),
        (None, "NULL"),
        (True, "true"),
        (datetime(2020, 1, 1), "2020-01-01 00:00:00"),
        ([1, "a'b"], "[1,'a\\'b']"),
        ((Decimal("1.50"), None), "(1.5,NULL)"),
        ({"k": ExactDateTime(3, 0)}, "{'k':'1970-01-01 00:00:03'}"),
    ],
)
def test_format_value_matches_clickhouse_text(value: object, text: str) -> None:
    assert format_value(value) == text
