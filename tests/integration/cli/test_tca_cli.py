"""``tapewire tca`` after a real paper trading run: ``tapewire demo`` (real broker, one
process per role: the fused normalizer, the trade role's hot path with the TCA stage, paper
venues on a simulated market, the sink into chDB; a broker of its own), then the command as
a user runs it. Every reported figure is checked against the stored fills and order events,
exactly."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from tapewire.cli.demo import DEMO_ACCOUNT, DemoOptions, run_demo
from tapewire.core.settings import load_settings
from tapewire.core.timestamps import format_ns

pytestmark = pytest.mark.integration


def _tapewire(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``tapewire tca ARGS`` as a user runs it: its own process.

    Not in this process: chDB is one engine per process, and this one may hold the
    session's engine (it would not see the demo's directory); the demo's sink process,
    which wrote the directory, has stopped and released it."""
    return subprocess.run(
        [sys.executable, "-m", "tapewire.cli", "tca", *args],
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


_QUERY = """
import sys, orjson
from tapewire.sinks.clickhouse.query import format_value, run_sql
rows = run_sql(sys.argv[1], sys.argv[2]).rows
print(orjson.dumps([[format_value(v) for v in row] for row in rows]).decode())
"""


def _rows(url: str, sql: str) -> list[list[str]]:
    """The exact rows of ``sql``, read by a process of its own (see :func:`_tapewire`)."""
    done = subprocess.run(
        [sys.executable, "-c", _QUERY, url, sql],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows: list[list[str]] = json.loads(done.stdout)
    return rows


def _q18(value: Fraction) -> Decimal:
    """Half-even at 18 places, as the TCA core rounds."""
    return Decimal(round(value * 10**18)).scaleb(-18)


def _url(clickhouse_url: str, tmp_path: Path) -> str:
    # a chDB directory of its own (only this run's rows), else the configured server
    return f"chdb://{tmp_path / 'chdb'}" if clickhouse_url.startswith("chdb://") else clickhouse_url


@pytest.mark.timeout(600)
def test_tca_prints_every_finished_paper_order_with_exact_figures(
    private_kafka: str, clickhouse_url: str, tmp_path: Path
) -> None:
    # a broker of its own: on the session's broker the fixed-name demo topics and consumer
    # groups still hold earlier demo runs' orders, which this run would process first
    url = _url(clickhouse_url, tmp_path)
    started_ns = time.time_ns()
    settings = load_settings(
        data_dir=tmp_path,
        kafka_bootstrap_servers=private_kafka,
        clickhouse_url=url,
        metrics_port=0,
    )
    options = DemoOptions(duration_s=35, rate=500, seed=11, max_frames=3_000, topology="fused")
    report = run_demo(settings, options, console=Console(file=io.StringIO(), width=120))
    assert report.trading["fills"] >= 1, report.trading

    env = {"TAPEWIRE_DATA_DIR": str(tmp_path), "CLICKHOUSE_URL": url}
    window = ("--account", DEMO_ACCOUNT, "--from", format_ns(started_ns))
    done = _tapewire(env, *window, "--format", "json")
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    orders = [r for r in printed["reports"] if r["kind"] == "ORDER"]
    assert orders, printed

    # each reported order is a terminal order of this run, its figures those of its fills
    # (an order's terminal event: an unfilled IOC's NEW and CANCELED can share event_ts and
    # cum_qty on a paper venue, so "the latest event" is no tie-free key here)
    terminal = {
        row[0]: (row[1], Decimal(row[2]))
        for row in _rows(
            url,
            "SELECT client_order_id, anyIf(status, status IN"
            " ('FILLED', 'CANCELED', 'REJECTED', 'EXPIRED')), max(cum_qty)"
            f" FROM order_events FINAL WHERE account = '{DEMO_ACCOUNT}' GROUP BY client_order_id",
        )
    }
    fills: dict[str, list[tuple[Decimal, Decimal, Decimal, str]]] = {}
    for cid, price, qty, fee, currency in _rows(
        url,
        "SELECT client_order_id, price, quantity, fee, fee_currency FROM fills FINAL"
        f" WHERE account = '{DEMO_ACCOUNT}'",
    ):
        fills.setdefault(cid, []).append((Decimal(price), Decimal(qty), Decimal(fee), currency))
    filled_orders = 0
    for order in orders:
        status, cum = terminal[order["order_id"]]
        assert order["status"] == status
        assert status in {"FILLED", "CANCELED", "REJECTED", "EXPIRED"}
        _check_order(order, fills.get(order["order_id"], []), cum)
        filled_orders += Decimal(order["filled_qty"]) > 0
    assert filled_orders >= 1
    assert any(o["arrival_source"] in {"NBBO", "QUOTE"} for o in orders), orders

    (summary,) = [s for s in printed["summary"] if s["kind"] == "ORDER"]
    assert int(summary["reports"]) == len(orders)
    assert Decimal(summary["notional"]) == sum(Decimal(o["notional"]) for o in orders)

    done = _tapewire(env, *window)
    assert done.returncode == 0, done.stderr
    assert "TCA per order and parent" in done.stdout
    assert "TCA summary" in done.stdout
    assert f"{len(printed['reports'])} report(s), answered directly" in done.stdout
    assert orders[0]["order_id"] in done.stdout
    print(done.stdout)  # the sample in docs/tca.md

    done = _tapewire(env, *window, "--format", "csv")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("kind,account,order_id,")
    assert len(lines) == 1 + len(printed["reports"])

    done = _tapewire(env, "--format", "xml")
    assert done.returncode == 2
    assert "--format 'xml'" in done.stderr


def _check_order(order: dict[str, Any], fills: list[Any], cum: Decimal) -> None:
    """The order's figures recomputed from its stored fills (exact fractions)."""
    filled = sum((q for _, q, _, _ in fills), Decimal(0))
    notional = sum((Fraction(p) * Fraction(q) for p, q, _, _ in fills), Fraction(0))
    assert Decimal(order["filled_qty"]) == filled == cum, order
    assert Fraction(Decimal(order["notional"])) == notional, order
    fees: dict[str, Decimal] = {}
    for _, _, fee, currency in fills:
        fees[currency] = fees.get(currency, Decimal(0)) + fee
    assert (
        order["fees"].strip("{}")
        == ",".join(f"'{c}':{format(v.normalize(), 'f')}" for c, v in sorted(fees.items()))
        or not fills
    )
    quantity = Decimal(order["quantity"])
    assert Decimal(order["fill_ratio"]) == _q18(Fraction(filled) / Fraction(quantity))
    if not filled:
        assert order["avg_price"] is None
        return
    assert Decimal(order["avg_price"]) == _q18(notional / Fraction(filled))
    if order["arrival_mid"] is None:
        assert order["slippage_arrival_bps"] is None
        return
    arrival = Fraction(Decimal(order["arrival_mid"]))
    sign = 1 if order["side"] == "BUY" else -1
    paper = Fraction(filled) * arrival
    expected = _q18(sign * (notional - paper) * 10_000 / paper)
    assert Decimal(order["slippage_arrival_bps"]) == expected, order
