"""``tapewire sql`` is answered by the process that holds the chDB directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tapewire.core.errors import TapewireError
from tapewire.sinks.clickhouse.migrations import migrate_url
from tapewire.sinks.clickhouse.query_server import (
    QueryServer,
    find_query_server,
    remote_queries_answered,
    remote_sql,
)


def test_sql_from_another_process_is_answered_by_the_holder(
    clickhouse_url: str, tmp_path: Path
) -> None:
    if not clickhouse_url.startswith("chdb://"):
        pytest.fail(
            "this test is about chDB's one-process-per-directory rule; unset CLICKHOUSE_URL"
        )
    migrate_url(clickhouse_url)
    with QueryServer(clickhouse_url, tmp_path) as server:
        endpoint = find_query_server(tmp_path)
        assert endpoint is not None
        assert endpoint.pid == os.getpid()
        assert (tmp_path / "query-server.json").stat().st_mode & 0o777 == 0o600

        exact = remote_sql(endpoint, "SELECT toDecimal128('0.00000812', 18) AS p, 42 AS n")
        assert exact.column_names == ["p", "n"]
        assert exact.rows == [["0.00000812", "42"]]

        done = subprocess.run(
            [sys.executable, "-m", "tapewire.cli", "sql", "SELECT count() AS c FROM trades"],
            env={
                **os.environ,
                "TAPEWIRE_DATA_DIR": str(tmp_path),
                "CLICKHOUSE_URL": clickhouse_url,
            },
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert f"answered by pid {os.getpid()}" in done.stdout
        assert server.queries_answered == 2
        assert remote_queries_answered(endpoint) == 2  # GET /stats: what the demo reports

        with pytest.raises(TapewireError, match=r"UNKNOWN_TABLE|does not exist"):
            remote_sql(endpoint, "SELECT * FROM no_such_table")
        bad = type(endpoint)(endpoint.url, "wrong-token", endpoint.pid)
        with pytest.raises(TapewireError, match="token"):
            remote_sql(bad, "SELECT 1")
        with pytest.raises(TapewireError, match="Unauthorized"):
            remote_queries_answered(bad)
    assert find_query_server(tmp_path) is None
