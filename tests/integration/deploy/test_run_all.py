"""``tapewire run all`` on a deployment file: every role as its own process, a strategy
loaded from outside the package, data stored and orders filled on paper."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from tapewire.runtime.kafka_io import delete_topics
from tapewire.sinks.clickhouse.client import connect
from tapewire.streams.stages.config import StreamsConfig
from tests.integration.deploy.trade_desk import wide_limits

FRAMES = 3_000

STRATEGY = '''
from decimal import Decimal
from tapewire.streams.oms import OrderAction, OrderRequest, OrderType, Side, TimeInForce
from tapewire.streams.trading.strategy import Strategy


class EveryNth(Strategy):
    """An IOC buy of ``qty`` at the ask (plus ``slack``) on every ``every``-th quote of
    ``instrument``."""

    def __init__(
        self, instrument: str, every: int, qty: str, account: str, slack: str = "0"
    ) -> None:
        self.strategy_id, self.account = "every-nth", account
        self.instrument, self.every, self.qty = instrument, every, Decimal(qty)
        self.slack = Decimal(slack)
        self.n = 0

    def on_quote(self, quote):
        if quote.instrument != self.instrument or quote.ask_price is None:
            return []
        self.n += 1
        if self.n % self.every:
            return []
        return [
            OrderRequest(
                client_order_id=self.client_order_id(quote.venue, quote.receive_ts_ns),
                account=self.account, venue=quote.venue, instrument=self.instrument,
                side=Side.BUY, order_type=OrderType.LIMIT, time_in_force=TimeInForce.IOC,
                quantity=self.qty, limit_price=quote.ask_price + self.slack, action=OrderAction.NEW,
                requested_by="strategy:every-nth", request_ts_ns=quote.receive_ts_ns,
                strategy_id=self.strategy_id,
            )
        ]
'''


def _config(bootstrap: str, prefix: str, chdb: str) -> str:
    return f"""
[kafka]
bootstrap = "{bootstrap}"
topic_prefix = "{prefix}"
partitions = 2

[clickhouse]
url = "{chdb}"

[connector]
source = {{ kind = "simulator", seed = 11, rate = 1000, max_frames = {FRAMES} }}

[normalize]
shell = "agents"

[aggregate]
bars = ["1s"]

[trading]
shell = "hotpath"
paper_venues = ["binance", "okx"]

{wide_limits("desk")}
[[trading.strategies]]
class = "desk_strategy:EveryNth"
params = {{ instrument = "BTC-USDT-SPOT", every = 20, qty = "0.001", account = "desk" }}

[sink]
flush_interval_s = 0.5
"""


def test_run_all_stores_the_market_and_fills_paper_orders(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    (tmp_path / "strategies").mkdir()
    (tmp_path / "strategies" / "desk_strategy.py").write_text(STRATEGY)
    prefix = f"dep{uuid.uuid4().hex[:8]}."
    chdb = f"chdb://{tmp_path / 'chdb'}"
    config = tmp_path / "desk.toml"
    config.write_text(_config(kafka_bootstrap, prefix, chdb))
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "strategies"), os.getcwd()]),
        "TAPEWIRE_DATA_DIR": str(tmp_path / "data"),
    }
    logs = tmp_path / "logs"
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "tapewire.cli",
                "run",
                "all",
                "--config",
                str(config),
                "--duration",
                "70",
                "--log-dir",
                str(logs),
            ],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
    finally:
        delete_topics(kafka_bootstrap, StreamsConfig(topic_prefix=prefix).topics.all())
    role_logs = {p.name: p.read_text()[-3000:] for p in logs.glob("*.log")}
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:], role_logs)
    assert sorted(role_logs) == sorted(
        f"{r}.log" for r in ("connector", "normalize", "aggregate", "trade", "sink")
    )
    with connect(chdb, database="tapewire") as client:

        def count(sql: str) -> int:
            return int(str(client.command(sql)))

        assert count("SELECT count() FROM raw_frames FINAL") == FRAMES, role_logs
        assert count("SELECT count() FROM trades FINAL") > 0
        assert count("SELECT count() FROM book_updates FINAL") > 0
        assert count("SELECT count() FROM bars FINAL") > 0, role_logs["aggregate.log"]
        assert count("SELECT count() FROM nbbo FINAL") > 0
        requests = count("SELECT count() FROM order_requests FINAL")
        assert requests > 0, role_logs["trade.log"]
        assert count("SELECT countIf(decision = 'APPROVED') FROM risk_decisions FINAL") > 0
        assert count("SELECT count() FROM fills FINAL") > 0, role_logs["trade.log"]
