"""The strategy tutorial, as docs/tutorial-strategy.md walks it: the mean-reversion strategy
of ``examples/strategies/`` (outside the package, found through the deployment file's
``strategy_path``) trades on paper in ``tapewire run all``, then ``tapewire backtest``
replays the history that run stored through the same stages, and the two are compared.

Live, the risk gate runs on the wall clock and the md topics reach the trade role through
Kafka partitions in whatever interleaving the consumers see; the backtest runs on the
stored history in one total order. So they are compared on what must agree: both trade,
every order is the strategy's, and most live orders are made again by the backtest.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import orjson

from tapewire.runtime.kafka_io import delete_topics
from tapewire.sinks.clickhouse.client import connect
from tapewire.streams.stages.config import StreamsConfig

ROOT = Path(__file__).resolve().parents[3]
TUTORIAL = ROOT / "examples" / "tutorial.toml"
FRAMES = 12_000


def _deployment(bootstrap: str, prefix: str, chdb: str) -> str:
    """examples/tutorial.toml on the test's broker, topics and chDB, for FRAMES frames
    (the strategy's window and entry made shorter: the run has seconds of market)."""
    text = TUTORIAL.read_text()
    replacements = {
        "[kafka]\n": f'[kafka]\nbootstrap = "{bootstrap}"\ntopic_prefix = "{prefix}"\n',
        "partitions = 6": "partitions = 2",
        '# url = "chdb:///var/lib/tapewire/chdb"': f'url = "{chdb}"',
        "[metrics]\nport = 9464\n": "",
        "rate = 2000,": f"rate = 2000, max_frames = {FRAMES},",
        'strategy_path = ["strategies"]': f'strategy_path = ["{ROOT / "examples" / "strategies"}"]',
        'bars = ["1s", "1m"]': 'bars = ["1s"]',
        # a shared 2-core machine: the fused normalizer keeps up where Faust may not, and
        # a shorter window trades within the few seconds of market this run has
        'shell = "agents"': 'shell = "hotpath"',
        "window = 50": "window = 10",
        'entry_bps = "0.3"': 'entry_bps = "0.1"',
        "cooldown_ms = 500": "cooldown_ms = 100",
    }
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def _tapewire(args: list[str], env: dict[str, str], cwd: Path, timeout: float) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tapewire.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, (args[0], done.stdout[-3000:], done.stderr[-3000:])
    return done.stdout


def test_tutorial_strategy_trades_live_on_paper_and_is_backtested(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    prefix = f"tut{uuid.uuid4().hex[:8]}."
    chdb = f"chdb://{tmp_path / 'chdb'}"
    config = tmp_path / "tutorial.toml"
    config.write_text(_deployment(kafka_bootstrap, prefix, chdb))
    # only the repository on the path: the strategy module comes from strategy_path
    env = os.environ | {"PYTHONPATH": str(ROOT), "TAPEWIRE_DATA_DIR": str(tmp_path / "data")}
    logs = tmp_path / "logs"
    try:
        _tapewire(
            ["run", "all", "--config", str(config), "--duration", "120", "--log-dir", str(logs)],
            env,
            tmp_path,
            timeout=420,  # the duration counts from the start of run all
        )
    finally:
        delete_topics(kafka_bootstrap, StreamsConfig(topic_prefix=prefix).topics.all())
    with connect(chdb, database="tapewire") as client:
        stored = {
            t: int(str(client.command(f"SELECT count() FROM {t} FINAL")))
            for t in ("raw_frames", "quotes", "nbbo", "risk_decisions")
        }
        live = client.query(
            "SELECT client_order_id, strategy_id FROM order_requests FINAL ORDER BY request_ts"
        ).result_rows
        live_fills = int(str(client.command("SELECT count() FROM fills FINAL")))
        reports = client.query(
            "SELECT status, exec_type, text FROM order_events FINAL ORDER BY event_ts"
        ).result_rows
        decisions = client.query(
            "SELECT decision, rule, reason FROM risk_decisions FINAL"
        ).result_rows
        span = client.query(
            "SELECT toUnixTimestamp64Nano(min(receive_ts)), toUnixTimestamp64Nano(max(receive_ts))"
            " FROM quotes FINAL"
        ).result_rows[0]
    role_logs = {p.name: p.read_text()[-2000:] for p in logs.glob("*.log")}
    assert live, (stored, role_logs)
    assert {r[1] for r in live} == {"meanrev"}
    assert live_fills > 0, (stored, decisions, reports)

    out = tmp_path / "report"
    _tapewire(
        [
            "backtest",
            "--config",
            str(config),
            "--from",
            str(span[0]),
            "--to",
            str(span[1] + 1),
            "--run-id",
            "tutorial",
            "--out",
            str(out),
            "--order",
            "receive",
        ],
        env,
        tmp_path,
        timeout=240,
    )
    summary = orjson.loads((out / "summary.json").read_bytes())
    assert summary["trading"]["fills"] > 0
    with connect(chdb, database="tapewire") as client:
        backtest = {
            r[0]
            for r in client.query(
                "SELECT client_order_id FROM backtest_orders FINAL WHERE run_id = 'tutorial'"
            ).result_rows
        }
    assert all(cid.startswith("meanrev:") for cid in backtest)
    # The same strategy on the same stored quotes: the backtest repeats live decisions, but
    # not all of them. Live, the paper venue fills on the books the hot path had reached
    # when each order arrived (which depends on load); the replay fills on the recorded
    # order. After the first fill that differs, positions and so later signals diverge, so
    # the overlap is a diagnostic (docs/tutorial-strategy.md), not an equality: at load 1-2
    # about half the live ids recur, under CI load as few as a quarter.
    again = sum(1 for cid, _ in live if cid in backtest)
    print(f"live orders {len(live)}, backtest orders {len(backtest)}, same ids {again}")
    assert again >= 1, (len(live), len(backtest), again)
