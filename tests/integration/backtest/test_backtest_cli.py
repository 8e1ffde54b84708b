"""``tapewire backtest`` end to end on stored history in a real chDB directory.

The history is the demo's simulated market, normalized and stored in the md tables as the
sink stores them (:func:`tapewire.testing.history.store_simulated_history`). The command
runs as its own process (as a user runs it), twice with different run ids: the report
files are byte-identical and the ClickHouse rows of both runs are identical but for the
run id. A sweep runs its grid in two worker processes while only the parent writes chDB.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from tapewire.backtest.engine import replay
from tapewire.backtest.history import load_history, order_records
from tapewire.backtest.store import RESULT_TABLES
from tapewire.deploy.config import load_config
from tapewire.sinks.clickhouse.client import connect
from tapewire.sinks.clickhouse.migrations import migrate
from tapewire.testing.history import HistoryStats, simulated_records, store_simulated_history

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "examples" / "demo.toml"
DOCS = ROOT / "docs" / "backtest.md"
FRAMES = 6_000
ORDER_BY = {
    "backtest_orders": "seq",
    "backtest_order_events": "seq",
    "backtest_fills": "seq",
    "backtest_positions": "ts, account, venue, instrument",
    "backtest_pnl": "ts, account, currency",
    "backtest_tca": "seq",
}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, HistoryStats]:
    url = f"chdb://{tmp_path_factory.mktemp('backtest-chdb')}"
    with connect(url, missing_database="ignore") as client:
        migrate(client, "tapewire")
        stats = store_simulated_history(client, frames=FRAMES)
    assert stats.first_ns is not None
    assert stats.last_ns is not None
    return url, stats


def _backtest(
    url: str,
    stats: HistoryStats,
    out: Path,
    *extra: str,
    span: tuple[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """``tapewire backtest`` on the demo file as its own process (``span``: the range,
    default: all of ``stats``)."""
    assert stats.first_ns is not None
    assert stats.last_ns is not None
    start, end = span or (str(stats.first_ns), str(stats.last_ns + 1))
    env = os.environ | {"PYTHONPATH": str(ROOT), "TAPEWIRE_DATA_DIR": str(out / "data")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tapewire.cli",
            "backtest",
            "--config",
            str(DEMO),
            "--from",
            start,
            "--to",
            end,
            "--clickhouse",
            url,
            "--interval",
            "250ms",
            *extra,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if check:
        assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    return done


def _rows(url: str, table: str, run_id: str) -> list[tuple[Any, ...]]:
    with connect(url, database="tapewire") as client:
        result = client.query(
            f"SELECT * EXCEPT run_id FROM {table} FINAL WHERE run_id = {{run:String}}"
            f" ORDER BY {ORDER_BY[table]}",
            parameters={"run": run_id},
        )
        return [tuple(row) for row in result.result_rows]


def test_two_runs_give_identical_reports_and_rows(
    history: tuple[str, HistoryStats], tmp_path: Path
) -> None:
    url, stats = history
    _backtest(url, stats, tmp_path / "a", "--run-id", "det-a", "--out", str(tmp_path / "a"))
    done = _backtest(url, stats, tmp_path / "b", "--run-id", "det-b", "--out", str(tmp_path / "b"))
    assert "det-b" in done.stdout
    for name in ("summary.json", "pnl.csv", "index.html"):
        first, second = ((tmp_path / d / name).read_bytes() for d in ("a", "b"))
        assert first == second, name
    png = (tmp_path / "a" / "equity.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 5_000
    assert "equity.png" in (tmp_path / "a" / "index.html").read_text()
    summary = orjson.loads((tmp_path / "a" / "summary.json").read_bytes())
    assert summary["market_events"] == stats.events
    assert summary["trading"]["orders_requested"] == 4  # the demo strategy: 2 pairs
    assert summary["trading"]["fills"] > 0
    assert set(summary["pnl"]) == {"USDT"}
    assert summary["pnl"]["USDT"]["sharpe"] is not None
    tca = summary["tca"]
    assert tca["order_reports"] == 4  # every order of the demo strategy is done
    assert tca["orders_open_at_end"] == 0
    usdt = tca["by_quote_currency"]["USDT"]
    assert usdt["orders_with_arrival_slippage"] == usdt["filled_orders"] > 0
    assert usdt["slippage_arrival_bps"] is not None
    for table in RESULT_TABLES:
        first_rows, second_rows = _rows(url, table, "det-a"), _rows(url, table, "det-b")
        assert first_rows, table
        assert first_rows == second_rows, table
    with connect(url, database="tapewire") as client:
        runs = client.query(
            "SELECT run_id, config_hash, summary, market_events FROM backtest_runs FINAL"
            " WHERE run_id IN ('det-a', 'det-b') ORDER BY run_id"
        ).result_rows
    assert [r[0] for r in runs] == ["det-a", "det-b"]
    assert runs[0][1:] == runs[1][1:]
    assert orjson.loads(runs[0][2]) == summary
    assert runs[0][3] == stats.events
    with connect(url, database="tapewire") as client:
        stored = client.query(
            "SELECT kind, count(), sum(notional) FROM backtest_tca FINAL"
            " WHERE run_id = 'det-a' GROUP BY kind"
        ).result_rows
    assert [(kind, n) for kind, n, _ in stored] == [("ORDER", 4)]
    assert str(stored[0][2].normalize()) == usdt["filled_notional"]
    _check_tca_query(url, usdt["by_venue"])


def _check_tca_query(url: str, by_venue: dict[str, Any]) -> None:
    """The worked per-venue TCA query of docs/backtest.md gives the summary's figures (its
    quotient is truncated where the summary rounds: equal to 12 places)."""
    match = re.search(r"<!-- backtest-tca-query -->\s*```sql\n(.*?)```", DOCS.read_text(), re.S)
    assert match, "docs/backtest.md lost its backtest-tca-query"
    with connect(url, database="tapewire") as client:
        rows = client.query(match.group(1)).result_rows
    assert [r[0] for r in rows] == sorted(by_venue)
    places = Decimal("1e-12")
    for venue, orders, notional, bps in rows:
        expected = by_venue[venue]
        assert (orders, str(notional.normalize())) == (
            expected["orders"],
            expected["filled_notional"],
        )
        assert Decimal(bps).quantize(places) == Decimal(expected["slippage_arrival_bps"]).quantize(
            places
        )


def test_a_sweep_runs_each_grid_point_in_worker_processes(
    history: tuple[str, HistoryStats], tmp_path: Path
) -> None:
    url, stats = history
    out = tmp_path / "sweep"
    _backtest(
        url,
        stats,
        tmp_path,
        "--run-id",
        "sw",
        "--out",
        str(out),
        "--sweep",
        "max_pairs=1,2",
        "--processes",
        "2",
    )
    index = orjson.loads((out / "sweep.json").read_bytes())
    assert [r["run_id"] for r in index["runs"]] == ["sw-000", "sw-001"]
    assert [r["params"] for r in index["runs"]] == [{"max_pairs": "1"}, {"max_pairs": "2"}]
    pids = {orjson.loads((out / r / "run.json").read_bytes())["pid"] for r in ("sw-000", "sw-001")}
    assert os.getpid() not in pids
    with connect(url, database="tapewire") as client:
        counts = client.query(
            "SELECT run_id, count() FROM backtest_orders FINAL WHERE run_id LIKE 'sw-%'"
            " GROUP BY run_id ORDER BY run_id"
        ).result_rows
        hashes = client.query(
            "SELECT count(DISTINCT config_hash), any(sweep_id) FROM backtest_runs FINAL"
            " WHERE run_id LIKE 'sw-%'"
        ).result_rows
    assert [tuple(r) for r in counts] == [("sw-000", 2), ("sw-001", 4)]
    assert tuple(hashes[0]) == (2, "sw")


def test_a_range_without_history_is_a_clear_error(
    history: tuple[str, HistoryStats], tmp_path: Path
) -> None:
    url, stats = history
    day = ("2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z")
    done = _backtest(url, stats, tmp_path, "--out", str(tmp_path / "none"), span=day, check=False)
    assert done.returncode == 2
    assert "no stored market data in the range" in done.stdout + done.stderr
    assert not (tmp_path / "none").exists()


def test_stored_history_replays_like_the_records_it_was_stored_from(
    history: tuple[str, HistoryStats],
) -> None:
    """The ClickHouse round trip is exact: decimals, times and order as the normalizer
    made them, so the outputs equal a replay of the in-memory records."""
    url, stats = history
    assert stats.first_ns is not None
    assert stats.last_ns is not None
    with connect(url, database="tapewire") as client:
        stored = load_history(client, stats.first_ns, stats.last_ns + 1)
    memory = order_records(simulated_records(frames=FRAMES))
    assert [e.key for e in stored] == [e.key for e in memory]
    assert [e.topic for e in stored] == [e.topic for e in memory]
    config = load_config(DEMO).streams_config("test")
    start, end, interval = stats.first_ns, stats.last_ns + 1, 10**8
    from_store, from_memory = (
        replay(config, events, start_ns=start, end_ns=end, interval_ns=interval)
        for events in (stored, memory)
    )
    assert from_store.records["oms.fills"]
    assert from_store.records == from_memory.records
    assert from_store.samples == from_memory.samples
