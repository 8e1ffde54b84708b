"""``tapewire renormalize`` on the real recorded frames, in a real ClickHouse (chDB here).

The Binance and OKX captures of ``tests/data/real`` are stored as the sink stores them:
``raw_frames`` rows (md.raw partition 0 and 1) and the md rows one Normalizer wrote for the
whole capture (the live path, ``normalizer_version`` ''). Re-normalizing a range in the
middle of a capture must give exactly the same rows for that range (warm-up from the
connection start, markets pre-pass), once each, with the new version; rows outside the
range and of other venues stay as they were; a second run changes nothing; an interrupted
run is completed by running it again; a buggy earlier output (wrong prices, an old
version, a stale dead letter and coverage row) is replaced by the correct rows.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from typer.testing import CliRunner

from tapewire.cli.main import app
from tapewire.core.records import Record, TypedRecord
from tapewire.sinks.clickhouse.renormalize import TABLES, RenormalizeError, renormalize
from tapewire.sinks.clickhouse.rows import mapping_for_topic
from tapewire.streams.normalize import Normalizer
from tapewire.streams.normalize.normalizer import TOPICS
from tapewire.streams.normalize.version import NORMALIZER_VERSION
from tapewire.testing.frames import read_frames

pytestmark = pytest.mark.integration

REAL = Path(__file__).resolve().parents[2] / "data" / "real"
PARTITIONS = {"binance": 0, "okx": 1}
S = 1_000_000_000
# Binance capture 00:28:31-00:29:02 UTC: [00:28:40, 00:28:50); OKX websocket frames
# 16:27:05-16:27:16 (markets REST frame 16:23:16, before the range): [16:27:08, 16:27:13).
BINANCE_RANGE = (1_633_998_520 * S, 1_633_998_530 * S)
OKX_RANGE = (1_652_459_228 * S, 1_652_459_233 * S)
# what the normalizer writes for those ranges (computed from the captures below, and fixed
# here so that a change shows): trades, book_updates, quotes, coverage, dead_letters. The
# Binance coverage rows: a book's waiting-for-snapshot GAP and its RESYNC.
# spot recordings: no derivatives rows (the table is rewritten all the same)
BINANCE_COUNTS = {
    "trades": 1,
    "book_updates": 71,
    "quotes": 43,
    "derivatives": 0,
    "coverage": 2,
    "dead_letters": 0,
}
OKX_COUNTS = {
    "trades": 30,
    "book_updates": 45,
    "quotes": 12,
    "derivatives": 0,
    "coverage": 0,
    "dead_letters": 0,
}
TIME_COLUMN = {"coverage": "from_ts", "dead_letters": "failed_ts"}
# the row without what a run changes by design: processing time, provenance, version
VOLATILE = {
    "trades": "kafka_topic, kafka_partition, kafka_offset, normalizer_version",
    "book_updates": "process_ts, kafka_topic, kafka_partition, kafka_offset, normalizer_version",
    "quotes": "process_ts, kafka_topic, kafka_partition, kafka_offset, normalizer_version",
    "derivatives": "process_ts, kafka_topic, kafka_partition, kafka_offset, normalizer_version",
    "coverage": "process_ts, kafka_topic, kafka_partition, kafka_offset, normalizer_version",
    "dead_letters": "failed_ts, source_partition, source_offset, kafka_topic, kafka_partition, "
    "kafka_offset, normalizer_version",
}


def stored_frames(venue: str) -> list[dict[str, Any]]:
    """The capture as the connector numbers it: ``sequence`` per connection from 0."""
    frames = read_frames(REAL / venue / "frames.jsonl", venue)
    counters: dict[str, int] = {}
    for frame in frames:
        frame["sequence"] = counters.get(frame["connection_id"], 0)
        counters[frame["connection_id"]] = frame["sequence"] + 1
    return frames


def insert(client: Client, topic: str, records: Sequence[Record], partition: int) -> None:
    """Rows as the sink writes them from Kafka (offsets = list positions)."""
    if records:
        mapping = mapping_for_topic(topic)
        rows = [mapping.row(r, topic, partition, i) for i, r in enumerate(records)]
        client.insert(mapping.table, rows, column_names=list(mapping.columns))


def load(client: Client, *, drop_ns: int | None = None) -> Client:
    """Both captures in raw_frames, and the md rows of a whole-capture normalize; without
    the first OKX book update received at or after ``drop_ns``, if given (a lost frame)."""
    for venue, partition in PARTITIONS.items():
        frames = stored_frames(venue)
        if venue == "okx" and drop_ns is not None:
            lost = next(
                f
                for f in frames
                if f["receive_ts_ns"] >= drop_ns and b'"action":"update"' in f["payload"]
            )
            frames.remove(lost)
        insert(client, "md.raw", frames, partition)
        norm = Normalizer()
        out: dict[str, list[TypedRecord]] = {topic: [] for topic in TOPICS}
        for frame in frames:
            for topic, produced in norm.process(frame).records.items():
                out[topic].extend(produced)
        for topic, records in out.items():
            insert(client, topic, records, partition)
    return client


@pytest.fixture
def stored(clickhouse: Client) -> Client:
    """Both captures stored as the live path stores them."""
    return load(clickhouse)


def in_range(table: str, venue: str, span: tuple[int, int]) -> str:
    if table == "dead_letters":
        return (
            f"labels['venue'] = '{venue}' AND toInt64(labels['receive_ts_ns']) "
            f"BETWEEN {span[0]} AND {span[1] - 1}"
        )
    column = TIME_COLUMN.get(table, "receive_ts")
    return (
        f"venue = '{venue}' AND {column} >= fromUnixTimestamp64Nano({span[0]}) "
        f"AND {column} < fromUnixTimestamp64Nano({span[1]})"
    )


def rows(client: Client, table: str, where: str, *, stable: bool = False) -> list[tuple[Any, ...]]:
    """Exact rows (times as integer ns), sorted; ``stable``: without the volatile columns."""
    columns = f"* EXCEPT ({VOLATILE[table]})" if stable else "*"
    result = client.query(
        f"SELECT {columns} FROM {table} WHERE {where}", query_formats={"DateTime64": "int"}
    )
    return sorted((tuple(row) for row in result.result_rows), key=repr)


def scalar(client: Client, sql: str) -> int:
    """The single integer ``sql`` returns."""
    return int(client.query(sql).result_rows[0][0])


def counts(client: Client, venue: str, span: tuple[int, int]) -> dict[str, int]:
    return {
        t: scalar(client, f"SELECT count() FROM {t} WHERE {in_range(t, venue, span)}")
        for t in TABLES
    }


def everything_but(client: Client, venue: str, span: tuple[int, int]) -> dict[str, Any]:
    """Every row of every table outside ``venue``'s range, exactly."""
    return {
        t: rows(client, t, f"NOT ({in_range(t, venue, span)})") for t in (*TABLES, "raw_frames")
    }


def test_range_replaced_exactly_once_with_the_new_version(stored: Client) -> None:
    span = BINANCE_RANGE
    before = {t: rows(stored, t, in_range(t, "binance", span), stable=True) for t in TABLES}
    outside = everything_but(stored, "binance", span)
    assert counts(stored, "binance", span) == BINANCE_COUNTS

    report = renormalize(stored, *span, venue="binance")

    assert report.venues == ["binance"]
    assert report.old_rows == BINANCE_COUNTS
    assert report.new_rows == BINANCE_COUNTS
    assert report.frames_in_range == 117
    assert counts(stored, "binance", span) == BINANCE_COUNTS
    for table in TABLES:
        where = in_range(table, "binance", span)
        assert rows(stored, table, where, stable=True) == before[table], table
        versions = stored.query(
            f"SELECT DISTINCT normalizer_version, kafka_topic FROM {table} WHERE {where}"
        ).result_rows
        assert versions in ([], [(NORMALIZER_VERSION, "md.raw")]), table
        assert (
            scalar(stored, f"SELECT count() FROM {table} FINAL WHERE {where}")
            == (BINANCE_COUNTS[table])
        )
    assert everything_but(stored, "binance", span) == outside

    second = renormalize(stored, *span, venue="binance")

    assert second.old_rows == second.new_rows == BINANCE_COUNTS
    assert counts(stored, "binance", span) == BINANCE_COUNTS
    for table in TABLES:
        assert rows(stored, table, in_range(table, "binance", span), stable=True) == before[table]
    assert everything_but(stored, "binance", span) == outside


def test_buggy_earlier_output_is_replaced(stored: Client) -> None:
    span = OKX_RANGE
    good = {t: rows(stored, t, in_range(t, "okx", span), stable=True) for t in TABLES}
    outside = everything_but(stored, "okx", span)
    # an earlier normalizer version: every price of the range ten times too high, one trade
    # too many, a dead letter and a coverage gap for frames it could not handle
    where = in_range("trades", "okx", span)
    old = stored.query(
        f"SELECT * FROM trades WHERE {where}", query_formats={"DateTime64": "int"}
    ).result_rows
    stored.command(f"DELETE FROM trades WHERE {where}")
    names = [*mapping_for_topic("md.trades").columns, "normalizer_version"]
    buggy = [(*r[:3], r[3] * 10, *r[4:11], "0") for r in old]
    buggy.append((*old[0][:2], "phantom", Decimal("1"), *old[0][4:11], "0"))
    stored.insert("trades", buggy, column_names=names)
    stored.command(
        "ALTER TABLE quotes UPDATE bid_price = bid_price * 10, normalizer_version = '0' "
        f"WHERE {in_range('quotes', 'okx', span)} SETTINGS mutations_sync = 2"
    )
    inside_ns = span[0] + 7
    stale_dead = mapping_for_topic("dlq.normalize").row(
        {
            "stage": "normalize",
            "source_topic": "md.raw",
            "source_partition": 1,
            "source_offset": 3,
            "key": None,
            "payload": b"{}",
            "error_type": "ParseError",
            "reason": "an old bug",
            "labels": {"venue": "okx", "receive_ts_ns": str(inside_ns)},
            "failed_ts_ns": inside_ns,
        },
        "dlq.normalize",
        0,
        99,
    )
    stored.insert(
        "dead_letters",
        [(*stale_dead, "0")],
        column_names=[*mapping_for_topic("dlq.normalize").columns, "normalizer_version"],
    )
    gap = ("okx", "BTC-USDT-SPOT", "book", "GAP", inside_ns, None, "checksum", inside_ns)
    stored.insert(
        "coverage",
        [(*gap, "md.coverage", 1, 0, "0")],
        column_names=[*mapping_for_topic("md.coverage").columns, "normalizer_version"],
    )
    assert counts(stored, "okx", span) == {
        **OKX_COUNTS,
        "trades": OKX_COUNTS["trades"] + 1,
        "coverage": 1,
        "dead_letters": 1,
    }

    report = renormalize(stored, *span, venue="okx")

    assert report.new_rows == OKX_COUNTS
    assert counts(stored, "okx", span) == OKX_COUNTS
    for table in TABLES:
        where = in_range(table, "okx", span)
        assert rows(stored, table, where, stable=True) == good[table], table
        assert stored.query(
            f"SELECT count() FROM {table} WHERE {where} AND normalizer_version != "
            f"'{NORMALIZER_VERSION}'"
        ).result_rows == [(0,)]
    assert everything_but(stored, "okx", span) == outside


@pytest.mark.parametrize(
    "lost_after_ns",
    [OKX_RANGE[0] + 2 * S, OKX_RANGE[1]],
    ids=["gap-found-in-range", "gap-found-after-range"],
)
def test_coverage_of_the_range_is_replaced(clickhouse: Client, lost_after_ns: int) -> None:
    """A lost OKX book update: the checksum fails on the next one, and a GAP opens at the
    last good update, in the range, and never closes (the capture has one snapshot). When
    the lost update is the first after the range, only the tail finds the GAP."""
    span = OKX_RANGE
    stored = load(clickhouse, drop_ns=lost_after_ns)
    gaps = rows(stored, "coverage", in_range("coverage", "okx", span), stable=True)
    assert [(g[0], g[1], g[3], g[5], g[6]) for g in gaps] == [
        ("okx", "BTC-USDT-SPOT", "GAP", None, "checksum")
    ]
    good = {t: rows(stored, t, in_range(t, "okx", span), stable=True) for t in TABLES}

    report = renormalize(stored, *span, venue="okx")

    assert report.old_rows == report.new_rows
    assert report.new_rows["coverage"] == 1
    assert report.unsettled_books == ["okx:BTC-USDT-SPOT"]  # no later snapshot stored
    for table in TABLES:
        assert rows(stored, table, in_range(table, "okx", span), stable=True) == good[table]


def test_interrupted_run_is_completed_by_running_it_again(stored: Client) -> None:
    span = OKX_RANGE
    good = {t: rows(stored, t, in_range(t, "okx", span), stable=True) for t in TABLES}

    class KilledError(Exception):
        pass

    class Crashing(Normalizer):
        """Dies after 120 frames, as a killed process would, after some inserts."""

        seen = 0

        def process(self, raw_frame: Record, source: Any = None) -> Any:
            Crashing.seen += 1
            if Crashing.seen > 120:
                raise KilledError
            return super().process(raw_frame, source)

    with pytest.raises(KilledError):
        renormalize(stored, *span, venue="okx", new_normalizer=Crashing, insert_rows=10)
    partial = counts(stored, "okx", span)
    assert 0 < partial["trades"] < OKX_COUNTS["trades"]

    renormalize(stored, *span, venue="okx")

    assert counts(stored, "okx", span) == OKX_COUNTS
    for table in TABLES:
        assert rows(stored, table, in_range(table, "okx", span), stable=True) == good[table]


def test_every_venue_of_a_range_and_dry_run(stored: Client) -> None:
    span = (BINANCE_RANGE[0], 1_652_459_240 * S)  # both captures, to their ends
    full = {v: counts(stored, v, span) for v in PARTITIONS}
    assert full["okx"]["trades"] == 69

    dry = renormalize(stored, *span, dry_run=True)

    assert dry.venues == ["binance", "okx"]
    assert dry.new_rows == dry.old_rows
    assert scalar(stored, "SELECT count() FROM trades WHERE normalizer_version != ''") == 0

    renormalize(stored, *span)

    assert {v: counts(stored, v, span) for v in PARTITIONS} == full
    assert scalar(stored, "SELECT count() FROM trades WHERE normalizer_version = ''") == 0


def test_clear_errors(stored: Client) -> None:
    with pytest.raises(RenormalizeError, match="empty range"):
        renormalize(stored, OKX_RANGE[1], OKX_RANGE[0])
    with pytest.raises(RenormalizeError, match="unknown venue 'nosuch'") as unknown:
        renormalize(stored, *OKX_RANGE, venue="nosuch")
    assert "binance, okx" in str(unknown.value)
    with pytest.raises(RenormalizeError, match="no raw frames of okx") as empty:
        renormalize(stored, *BINANCE_RANGE, venue="okx")
    assert "okx's raw frames span 2022-05-13T16:23:16.256593000Z" in str(empty.value)
    with pytest.raises(RenormalizeError, match="no raw frames received"):
        renormalize(stored, 0, S)
    stored.command("ALTER TABLE quotes DROP COLUMN normalizer_version")
    stored.command("DROP TABLE coverage SYNC")
    with pytest.raises(RenormalizeError, match="tables coverage missing") as missing:
        renormalize(stored, *OKX_RANGE)
    assert "quotes lack the normalizer_version column" in str(missing.value)
    assert "tapewire migrate" in str(missing.value)


@pytest.fixture
def cli_env(stored: Client, clickhouse_url: str) -> dict[str, str]:
    """The CLI's CLICKHOUSE_URL for the test database (chDB: same directory, this process)."""
    if not clickhouse_url.startswith("chdb://"):
        # only chDB lets the CLI open the test's database in this process; the default
        # (CLICKHOUSE_URL unset) is chDB, so CI always runs it
        pytest.skip(
            "CLICKHOUSE_URL points at a ClickHouse server: this CLI test opens the test "
            "database in-process, which needs the default chDB URL (unset CLICKHOUSE_URL)"
        )
    return {**os.environ, "CLICKHOUSE_URL": f"{clickhouse_url}?database={stored.database}"}


def test_cli(stored: Client, cli_env: dict[str, str]) -> None:
    runner = CliRunner()
    span = ["--from", "2022-05-13T16:27:08Z", "--to", str(OKX_RANGE[1]), "--venue", "okx"]

    dry = runner.invoke(app, ["renormalize", *span, "--dry-run"], env=cli_env)

    assert dry.exit_code == 0, dry.output
    assert (
        "would replace [2022-05-13T16:27:08.000000000Z, 2022-05-13T16:27:13.000000000Z)"
        in dry.output
    )
    assert scalar(stored, "SELECT count() FROM trades WHERE normalizer_version != ''") == 0

    done = runner.invoke(app, ["renormalize", *span], env=cli_env)

    assert done.exit_code == 0, done.output
    assert f"with normalizer version {NORMALIZER_VERSION}" in done.output
    assert counts(stored, "okx", OKX_RANGE) == OKX_COUNTS

    bad = runner.invoke(app, ["renormalize", "--from", "soon", "--to", "1"], env=cli_env)

    assert bad.exit_code == 2
    assert "--from 'soon' is neither integer nanoseconds nor ISO-8601" in bad.output
