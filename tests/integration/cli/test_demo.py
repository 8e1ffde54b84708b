"""``tapewire demo`` runs the whole pipeline and answers ``tapewire sql`` while it runs."""

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
from tapewire.core import metrics
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


@pytest.mark.timeout(300)
@pytest.mark.parametrize("topology", ["fused", "agents"])
def test_demo_stores_data_and_answers_sql_during_the_run(
    kafka_bootstrap: str, clickhouse_url: str, tmp_path: Path, topology: str
) -> None:
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

    ticks_before = _tick_to_order_count()
    thread = threading.Thread(target=demo, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
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
    thread.join(timeout=200)
    assert not failures, failures
    assert answered is not None, out.getvalue()[-3000:]
    assert f"answered by pid {os.getpid()}" in answered
    # tapewire sql is read-only during the demo: these are refused and the demo runs on.
    assert [r.returncode for r in refused] == [2] * len(_REFUSED), [r.stderr for r in refused]
    assert all("error:" in r.stderr for r in refused)

    # the continuous tick-to-order histogram has samples from this demo's orders
    assert _tick_to_order_count() > ticks_before

    report = reports[0]
    assert report.frames_published == 4_000
    assert report.topic_messages["md.raw"] >= 4_000
    assert report.topic_messages["md.trades"] > 0
    assert report.rows["raw_frames"] > 0
    assert report.rows["trades"] > 0  # still there after the refused DROP and TRUNCATE
    assert report.queries_answered >= 1
    assert "Tapewire demo" in out.getvalue()
    assert find_query_server(tmp_path) is None

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


def _tick_to_order_count() -> float:
    """Observations of ``tapewire_tick_to_order_seconds`` so far in this process (all labels)."""
    return sum(
        sample.value
        for family in metrics.REGISTRY.collect()
        if family.name == "tapewire_tick_to_order_seconds"
        for sample in family.samples
        if sample.name.endswith("_count")
    )
