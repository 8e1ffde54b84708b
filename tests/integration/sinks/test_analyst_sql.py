"""``tapewire sql`` is read-only unless ``--write`` and never reaches host files, URLs or
other servers; the loopback query server answers malformed requests with a 4xx.

The setup is the demo's: the process holding chDB runs the same :class:`QueryServer` the
demo runs while a writer thread keeps inserting trades (as the sink does), and
``tapewire sql`` runs from another process. A local HTTP server and a TCP listener stand
in for the URL and the remote server an analyst might try to reach; they must see nothing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tapewire.core.errors import TapewireError
from tapewire.sinks.clickhouse.analyst_sql import SqlAccess, SqlRefusedError, run_analyst_sql
from tapewire.sinks.clickhouse.migrations import migrate_url
from tapewire.sinks.clickhouse.query import run_sql
from tapewire.sinks.clickhouse.query_server import (
    QueryEndpoint,
    QueryServer,
    find_query_server,
    remote_sql,
)

READ_TIMEOUT_S = 1.0
T0 = 1_704_067_200_000_000_000  # 2024-01-01T00:00:00Z


class _CountingHandler(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"secret\n")

    def log_message(self, format: str, *args: Any) -> None:
        return


@dataclass
class Running:
    """A demo-like process: chDB held here, the query server, a writer, two decoys."""

    url: str
    data_dir: Path
    server: QueryServer
    endpoint: QueryEndpoint
    http_url: str
    http_hits: list[str]
    listener: socket.socket
    inserted: list[int]
    writer_failures: list[BaseException]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tapewire.cli", "sql", *args],
            env=os.environ | {"TAPEWIRE_DATA_DIR": str(self.data_dir), "CLICKHOUSE_URL": self.url},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def trades(self) -> int:
        return int(run_sql(self.url, "SELECT count() FROM trades").rows[0][0])

    def tables(self) -> set[str]:
        sql = "SELECT name FROM system.tables WHERE database = currentDatabase()"
        rows = run_sql(self.url, sql)
        return {str(row[0]) for row in rows.rows}


def _trade_sql(n: int) -> str:
    return (
        "INSERT INTO trades (venue, instrument, trade_id, price, size, side, exchange_ts, "
        f"receive_ts) SELECT 'binance', 'BTC-USDT-SPOT', 't{n}', 65000.5, 0.00000812, 'buy', "
        f"fromUnixTimestamp64Nano(toInt64({T0 + n}), 'UTC'), "
        f"fromUnixTimestamp64Nano(toInt64({T0 + n}), 'UTC')"
    )


@pytest.fixture(scope="module")
def running(clickhouse_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    if not clickhouse_url.startswith("chdb://"):
        pytest.fail("this test runs the demo's chDB query server; unset CLICKHOUSE_URL")
    url = f"{clickhouse_url.split('?')[0]}?database=sqlro_{uuid.uuid4().hex[:12]}"
    migrate_url(url)
    data_dir = tmp_path_factory.mktemp("sqlro")
    decoy = HTTPServer(("127.0.0.1", 0), _CountingHandler)
    _CountingHandler.hits = []
    threading.Thread(target=decoy.serve_forever, daemon=True).start()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    stop = threading.Event()
    inserted: list[int] = []
    failures: list[BaseException] = []

    def writer() -> None:  # what the sink does during the demo
        n = 0
        while not stop.wait(0.2):
            try:
                run_sql(url, _trade_sql(n))
            except BaseException as exc:  # surfaced by every test
                failures.append(exc)
                return
            inserted.append(n)
            n += 1

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    with QueryServer(url, data_dir, read_timeout_s=READ_TIMEOUT_S) as server:
        endpoint = find_query_server(data_dir)
        assert endpoint is not None
        host, port = decoy.server_address[:2]
        yield Running(
            url,
            data_dir,
            server,
            endpoint,
            f"http://{host!s}:{port}/x.csv",
            _CountingHandler.hits,
            listener,
            inserted,
            failures,
        )
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive(), "the writer (the sink's stand-in) stopped answering"
    decoy.shutdown()
    decoy.server_close()
    listener.close()


def _refused(running: Running, statement: str) -> None:
    before = running.trades()
    done = running.cli(statement)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "error:" in done.stderr
    assert find_query_server(running.data_dir) == running.endpoint
    assert "trades" in running.tables()
    assert running.trades() >= before
    assert running.writer_failures == []


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("statement", "says"),
    [
        ("DROP TABLE trades", "DROP changes data"),
        (
            "INSERT INTO trades (venue, trade_id) VALUES ('x', 'y')",
            "INSERT changes data",
        ),
        ("ALTER TABLE trades DELETE WHERE 1", "ALTER changes data"),
        ("DELETE FROM trades WHERE 1", "DELETE changes data"),
        ("TRUNCATE TABLE trades", "TRUNCATE changes data"),
    ],
)
def test_writes_are_refused_without_the_write_flag(
    running: Running, statement: str, says: str
) -> None:
    done = running.cli(statement)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert says in done.stderr
    assert "add --write" in done.stderr
    _refused(running, statement)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("write", [False, True], ids=["read", "write"])
def test_files_urls_and_remote_servers_are_refused_even_with_the_write_flag(
    running: Running, write: bool
) -> None:
    port = running.listener.getsockname()[1]
    statements = {
        "SELECT * FROM file('/etc/hostname', 'LineAsString')": "file(...) is a table function",
        f"SELECT * FROM url('{running.http_url}', 'LineAsString')": "url(...) is a table",
        f"SELECT * FROM remote('127.0.0.1:{port}', system.one)": "remote(...) is a table",
    }
    for statement, says in statements.items():
        done = running.cli(*(["--write"] if write else []), statement)
        assert done.returncode == 2, (statement, done.stdout, done.stderr)
        assert says in done.stderr, done.stderr
        assert "refused with --write too" in done.stderr
    assert running.http_hits == []
    with pytest.raises(BlockingIOError):
        running.listener.accept()
    assert "trades" in running.tables()


@pytest.mark.timeout(300)
def test_the_write_flag_inserts_and_still_refuses_schema_changes(running: Running) -> None:
    done = running.cli("--write", _trade_sql(10**9).replace(f"'t{10**9}'", "'cli-write'"))
    assert done.returncode == 0, done.stderr
    assert "answered by pid" in done.stdout
    rows = run_sql(running.url, "SELECT count() FROM trades WHERE trade_id = 'cli-write'")
    assert rows.rows == [(1,)]

    done = running.cli("--write", "CREATE TABLE scratch (x Int8) ENGINE = Memory")
    assert done.returncode == 2
    assert "read-only mode" in done.stderr
    assert "migrations" in done.stderr
    assert "scratch" not in running.tables()


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        ("SELECT file('/etc/hostname')", "function file"),
        ("SELECT * FROM view(SELECT `file`('/etc/hostname'))", "function file"),
        ("WITH file('/etc/hostname') AS h SELECT h", "function file"),
        ("DESCRIBE TABLE url('{http}', 'CSVWithNames')", "table function or engine url"),
        ("INSERT INTO FUNCTION file('{out}', 'CSV') SELECT 1", "table function or engine file"),
        ("SELECT 1 INTO OUTFILE '{out}'", "INTO OUTFILE / FROM INFILE"),
        ("INSERT INTO trades FROM INFILE '/etc/hostname' FORMAT CSV", "INTO OUTFILE / FROM INFILE"),
        ("SELECT 1; SELECT file('/etc/hostname')", "multiple statements"),
        ("SELECT 1; DROP TABLE trades", "multiple statements"),
        (
            "SELECT * FROM eval('SELECT 1') SETTINGS allow_experimental_eval_table_function = 1",
            "table function eval",
        ),
        ("CREATE TABLE f (x String) ENGINE = File(CSV, '{out}')", "table function or engine File"),
    ],
)
def test_what_readonly_lets_through_is_refused_from_the_parsed_statement(
    running: Running, tmp_path: Path, statement: str, reason: str
) -> None:
    out = tmp_path / "out.csv"
    sql = statement.format(http=running.http_url, out=out)
    for access in SqlAccess:
        with pytest.raises(SqlRefusedError) as refused:
            run_analyst_sql(running.url, sql, access=access)
        assert refused.value.reason == reason
        with pytest.raises(TapewireError, match=r"may not|one statement at a time|no check"):
            remote_sql(running.endpoint, sql, access=access)
    assert not out.exists()
    assert running.http_hits == []
    assert "trades" in running.tables()


@pytest.mark.timeout(300)
def test_reads_settings_and_table_functions_clickhouse_allows_still_work(
    running: Running,
) -> None:
    result = remote_sql(
        running.endpoint,
        "SELECT format('{} {}', 'a', 'b') AS f, getSetting('readonly') AS ro, "
        "(SELECT count() FROM numbers(3)) AS n SETTINGS join_use_nulls = 1",
    )
    assert result.rows == [["a b", "2", "3"]]
    worked = Path(__file__).resolve().parents[3] / "docs" / "queries" / "nbbo_vs_venue_quotes.sql"
    assert "SETTINGS join_use_nulls = 1" in worked.read_text()
    with pytest.raises(TapewireError, match=r"read-only mode .*readonly"):
        remote_sql(running.endpoint, "SELECT 1 SETTINGS readonly = 0")
    assert running.inserted, "the writer thread inserted nothing"
    assert running.writer_failures == []


def _raw_post(endpoint: QueryEndpoint, head: str, body: bytes) -> tuple[bytes, float]:
    port = int(endpoint.url.split(":")[2].split("/")[0])
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(
            f"POST /sql HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {endpoint.token}\r\n"
            f"{head}\r\n".encode()
            + body
        )
        reply = b""
        while not reply.endswith(b"}"):
            chunk = conn.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply, time.monotonic() - started


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("head", "status", "says"),
    [
        ("Content-Length: abc\r\n", b"400", b"not a non-negative whole number"),
        ("Content-Length: -5\r\n", b"400", b"not a non-negative whole number"),
        ("Content-Length: 1e3\r\n", b"400", b"not a non-negative whole number"),
        ("Content-Length: 100\r\n", b"400", b"the body ended after 8 of the 100 bytes"),
        ("Content-Length: 99999999999\r\n", b"413", b"larger than"),
        ("", b"411", b"Content-Length is required"),
    ],
)
def test_malformed_content_length_gets_a_4xx_in_bounded_time(
    running: Running, head: str, status: bytes, says: bytes
) -> None:
    answered = running.server.queries_answered
    reply, took = _raw_post(running.endpoint, head, b"SELECT 1")
    assert reply.startswith(b"HTTP/1.0 " + status), reply
    assert says in reply, reply
    assert took < READ_TIMEOUT_S + 5
    assert running.server.queries_answered == answered
    assert remote_sql(running.endpoint, "SELECT 42").rows == [["42"]]


@pytest.mark.timeout(120)
def test_the_write_flag_travels_only_as_a_known_access_value(running: Running) -> None:
    bad = QueryEndpoint(running.endpoint.url + "?access=admin", running.endpoint.token, 0)
    with pytest.raises(TapewireError, match=r"access=.*admin.* is not one of: read, write"):
        remote_sql(bad, "SELECT 1")


@pytest.mark.timeout(120)
def test_sql_without_a_running_process_is_read_only_too(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tapewire.cli", "sql", "DROP TABLE trades"],
        env=os.environ
        | {"TAPEWIRE_DATA_DIR": str(tmp_path), "CLICKHOUSE_URL": f"chdb://{tmp_path / 'db'}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "DROP changes data" in done.stderr
    assert "add --write" in done.stderr
