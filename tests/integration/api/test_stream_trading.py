"""A WebSocket client of the API receives a fill made by the real trading path: ``tapewire
run all`` (simulated market → normalize → aggregate → a strategy → the risk gate → the
paper venue → ``oms.fills``) and ``tapewire run api`` as real processes on the same broker;
nothing is published by the test.

The API runs as its own process with its own chDB directory (the sink of ``run all`` holds
the other: chDB allows one process per directory); the stream reads Kafka, not ClickHouse.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from websockets.sync.client import connect

from tapewire.runtime.kafka_io import delete_topics
from tapewire.streams.stages.config import StreamsConfig
from tests.fixtures.prometheus import free_port
from tests.integration.api.conftest import PASSWORDS, SECRET, write_users
from tests.integration.api.test_process import _listening, _start, _stop
from tests.integration.deploy.test_metrics_scrape import ROLES
from tests.integration.deploy.test_metrics_scrape import _config as run_all_config
from tests.integration.deploy.test_run_all import STRATEGY

WAIT_S = 180.0


def _api_config(bootstrap: str, prefix: str, chdb: Path, port: int) -> str:
    return f"""
[kafka]
bootstrap = "{bootstrap}"
topic_prefix = "{prefix}"
partitions = 1

[clickhouse]
url = "chdb://{chdb}"

[aggregate]
bars = ["1s"]

[api]
host = "127.0.0.1"
port = {port}
users_file = "users.toml"
"""


def test_websocket_receives_a_fill_of_a_strategy_order_filled_by_the_paper_venue(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    (tmp_path / "strategies").mkdir()
    (tmp_path / "strategies" / "desk_strategy.py").write_text(STRATEGY)
    (tmp_path / "api").mkdir()
    write_users(tmp_path / "api")
    prefix = f"wsfill{uuid.uuid4().hex[:8]}."
    api_port = free_port()
    api_file = tmp_path / "api" / "api.toml"
    api_file.write_text(_api_config(kafka_bootstrap, prefix, tmp_path / "api" / "chdb", api_port))
    run_file = tmp_path / "desk.toml"
    ports = {role: free_port() for role in ROLES}
    run_file.write_text(
        run_all_config(kafka_bootstrap, prefix, f"chdb://{tmp_path / 'chdb'}", ports)
    )
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "strategies"), os.getcwd()]),
        "TAPEWIRE_DATA_DIR": str(tmp_path / "data"),
        "TAPEWIRE_API_JWT_SECRET": SECRET,
    }
    api = _start("api", api_file, env)
    run_all: subprocess.Popen[bytes] | None = None
    fill: dict[str, object] | None = None
    try:
        deadline = time.monotonic() + WAIT_S
        while not _listening(api_port):
            assert api.poll() is None, _stop(api)
            assert time.monotonic() < deadline, "the API did not listen in time"
            time.sleep(0.5)
        token = httpx.post(
            f"http://127.0.0.1:{api_port}/v1/auth/token",
            json={"username": "trader", "password": PASSWORDS["trader"]},
            timeout=30,
        ).json()["access_token"]
        with connect(
            f"ws://127.0.0.1:{api_port}/v1/stream?types=fill",
            additional_headers={"Authorization": f"Bearer {token}"},
            open_timeout=30,
        ) as socket:
            hello = json.loads(socket.recv(timeout=30))
            assert hello["accounts"] == ["desk"]
            run_all = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tapewire.cli",
                    "run",
                    "all",
                    "--config",
                    str(run_file),
                    "--duration",
                    str(int(WAIT_S) + 60),
                    "--log-dir",
                    str(tmp_path / "logs"),
                ],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            deadline = time.monotonic() + WAIT_S
            while fill is None and time.monotonic() < deadline:
                assert run_all.poll() is None, _stop(run_all)
                try:
                    message = json.loads(socket.recv(timeout=5))
                except TimeoutError:
                    continue
                if message["type"] == "fill":
                    fill = message["data"]
    finally:
        run_exit, run_log = _stop(run_all) if run_all is not None else (0, "")
        api_exit, api_log = _stop(api)
        delete_topics(kafka_bootstrap, StreamsConfig(topic_prefix=prefix).topics.all())
    logs = {p.name: p.read_text()[-1500:] for p in (tmp_path / "logs").glob("*.log")}
    assert fill is not None, ("no fill in time", api_log, run_log, logs)
    assert (fill["account"], fill["instrument"], fill["side"]) == ("desk", "BTC-USDT-SPOT", "BUY")
    assert str(fill["client_order_id"]).startswith("every-nth")  # the strategy's order
    assert fill["quantity"] == "0.001"  # exact text, as the strategy asked
    assert fill["venue"] in ("binance", "okx")  # the paper venues of the deployment
    assert run_exit == 0, (run_log, logs)
    assert api_exit == 0, api_log
