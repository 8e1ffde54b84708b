"""``tapewire demo`` runs the whole pipeline (``run all`` over examples/demo.toml: one
process per role) and answers ``tapewire sql`` from the sink process while it runs."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from rich.console import Console

from tapewire.cli.demo import DemoOptions, DemoReport, run_demo
from tapewire.core.settings import load_settings
from tapewire.sinks.clickhouse.query_server import find_query_server

_REFUSED = (
    "DROP TABLE trades",
    "TRUNCATE TABLE trades",
    "SELECT * FROM file('/etc/hostname', 'LineAsString')",
)


def _sql(data_dir: Path, clickhouse_url: str, statement: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tapewire.cli", "sql", statement],
        env=os.environ | {"TAPEWIRE_DATA_DIR": str(data_dir), "CLICKHOUSE_URL": clickhouse_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.timeout(420)
@pytest.mark.parametrize("topology", ["fused", "agents"])
def test_demo_stores_data_and_answers_sql_during_the_run(
    private_kafka: str, tmp_path: Path, topology: str
) -> None:
    # a broker of its own: the demo's topics and consumer groups have fixed names, and a
    # normalize group of the other topology would normalize the earlier run's md.raw again
    kafka_bootstrap = private_kafka
    # the embedded defaults, in a chDB directory of the demo's own: its sink process must
    # be the one to open it (this process may hold the session's engine)
    clickhouse_url = f"chdb://{tmp_path / 'chdb'}"
    settings = load_settings(
        data_dir=tmp_path,
        kafka_bootstrap_servers=kafka_bootstrap,
        clickhouse_url=clickhouse_url,
        metrics_port=0,
    )
    out = io.StringIO()
    reports: list[DemoReport] = []
    failures: list[BaseException] = []

    def demo() -> None:
        try:
            options = DemoOptions(
                duration_s=40, rate=500, seed=11, max_frames=4_000, topology=topology
            )
            reports.append(run_demo(settings, options, console=Console(file=out, width=120)))
        except BaseException as exc:  # surfaced below
            failures.append(exc)

    thread = threading.Thread(target=demo, daemon=True)
    thread.start()
    deadline = time.monotonic() + 240
    answered = None
    refused: list[subprocess.CompletedProcess[str]] = []
    while time.monotonic() < deadline and thread.is_alive():
        if find_query_server(tmp_path) is not None:
            done = subprocess.run(
                [sys.executable, "-m", "tapewire.cli", "sql", "SELECT count() FROM raw_frames"],
                env=os.environ
                | {"TAPEWIRE_DATA_DIR": str(tmp_path), "CLICKHOUSE_URL": clickhouse_url},
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            if "answered by pid" in done.stdout:
                answered = done.stdout
                refused = [_sql(tmp_path, clickhouse_url, statement) for statement in _REFUSED]
                break
        time.sleep(2)
    thread.join(timeout=300)
    assert not failures, failures
    assert answered is not None, out.getvalue()[-3000:]
    # by the sink role's process, which holds chDB: not the demo's
    assert report_pid(reports) != os.getpid()
    assert f"answered by pid {report_pid(reports)}" in answered
    # tapewire sql is read-only during the demo: these are refused and the demo runs on.
    assert [r.returncode for r in refused] == [2] * len(_REFUSED), [r.stderr for r in refused]
    assert all("error:" in r.stderr for r in refused)

    report = reports[0]
    assert report.frames_published == 4_000
    assert report.topic_messages["md.raw"] >= 4_000
    assert report.topic_messages["md.trades"] > 0
    assert report.rows["raw_frames"] > 0
    assert report.rows["trades"] > 0  # still there after the refused DROP and TRUNCATE
    assert report.queries_answered >= 1
    assert "Tapewire demo" in out.getvalue()
    assert "role sink" in out.getvalue()
    assert find_query_server(tmp_path) is None  # the sink stopped and removed its endpoint
    assert report.restarts == dict.fromkeys(report.restarts, 0), report.restarts
    assert sorted(report.restarts) == ["aggregate", "connector", "normalize", "sink", "trade"]
    assert report.log_dir is not None
    assert "answering tapewire sql" in (report.log_dir / "sink.log").read_text()

    # The example strategy trades through the risk gate on the paper venues (seeded market).
    trading = report.trading
    assert trading["orders requested"] >= 2, (trading, out.getvalue()[-3000:])
    assert trading["orders approved"] >= 2, (trading, out.getvalue()[-3000:])
    assert trading["fills"] >= 1, (trading, out.getvalue()[-3000:])
    assert report.pnl is not None
    assert report.topic_messages.get("dlq.trading", 0) == 0
    print(f"\ntrading {trading}, PnL {report.pnl}")
    assert "orders approved" in out.getvalue()
    assert "PnL" in out.getvalue()


def report_pid(reports: list[DemoReport]) -> int | None:
    return reports[0].sink_pid if reports else None
