"""``tapewire run api`` and ``tapewire run notifier`` as real processes: the API listens on
127.0.0.1 (uvicorn), a user logs in and calls endpoints over HTTP, a real Prometheus
scrapes both roles' ``/metrics``, and SIGTERM ends both cleanly (exit code 0). A
notification preference set over HTTP lands in the file ``[notifier] preferences_file``
names, relative to the deployment file.

The API gets a chDB directory of its own (chDB allows one process per directory); the
notifier routes to a webhook nobody has to answer (no alert is raised here)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from tapewire.runtime.kafka_io import delete_topics
from tests.fixtures.prometheus import PrometheusServer, free_port, prometheus_server
from tests.integration.api.conftest import PASSWORDS, SECRET, write_users

WAIT_S = 120.0


def _config(bootstrap: str, prefix: str, chdb: Path, ports: dict[str, int], api: int) -> str:
    port_table = ", ".join(f"{role} = {port}" for role, port in ports.items())
    return f"""
[kafka]
bootstrap = "{bootstrap}"
topic_prefix = "{prefix}"
partitions = 1

[clickhouse]
url = "chdb://{chdb}"

[metrics]
host = "127.0.0.1"
ports = {{ {port_table} }}

[api]
host = "127.0.0.1"
port = {api}
users_file = "users.toml"

[notifier]
preferences_file = "prefs/notifier-preferences.json"

[notifier.users.trader.channels.hook]
kind = "webhook"
url = "http://127.0.0.1:9/trader"
format = "json"

[notifier.users.trader.route]
CRITICAL = ["hook"]

[notifier.users.ops.channels.hook]
kind = "webhook"
url = "http://127.0.0.1:9/hook"
format = "json"

[notifier.users.ops.route]
CRITICAL = ["hook"]
"""


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _wait_up(prometheus: PrometheusServer, ports: dict[str, int]) -> dict[str, str]:
    wanted = {f"127.0.0.1:{port}": role for role, port in ports.items()}
    deadline = time.monotonic() + WAIT_S
    while True:
        health = {
            wanted[t["labels"]["instance"]]: str(t["health"])
            for t in prometheus.targets()
            if t["labels"]["instance"] in wanted
        }
        if all(health.get(r) == "up" for r in ports) or time.monotonic() > deadline:
            return health
        time.sleep(1)


def _start(role: str, config: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tapewire.cli", "run", role, "--config", str(config)],
        env=env,
        cwd=config.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _stop(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        _, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
    return process.returncode, stderr.decode(errors="replace")[-3000:]


def test_api_and_notifier_processes_serve_are_scraped_and_stop_cleanly(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    write_users(tmp_path)
    prefix = f"proc{uuid.uuid4().hex[:8]}."
    ports = {"api": free_port(), "notifier": free_port()}
    api_port = free_port()
    config = tmp_path / "desk.toml"
    config.write_text(_config(kafka_bootstrap, prefix, tmp_path / "chdb", ports, api_port))
    env = os.environ | {
        "PYTHONPATH": os.getcwd(),
        "TAPEWIRE_DATA_DIR": str(tmp_path / "data"),
        "TAPEWIRE_API_JWT_SECRET": SECRET,
    }
    targets = [f"127.0.0.1:{port}" for port in ports.values()]
    with prometheus_server(tmp_path / "prometheus", targets) as prometheus:
        api = _start("api", config, env)
        notifier = _start("notifier", config, env)
        try:
            deadline = time.monotonic() + WAIT_S
            while not _listening(api_port):
                assert api.poll() is None, _stop(api)
                assert time.monotonic() < deadline, "the API did not listen in time"
                time.sleep(0.5)
            base = f"http://127.0.0.1:{api_port}"
            login = httpx.post(
                f"{base}/v1/auth/token",
                json={"username": "trader", "password": PASSWORDS["trader"]},
                timeout=30,
            )
            assert login.status_code == 200, login.text
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            me = httpx.get(f"{base}/v1/me", headers=auth, timeout=30)
            assert me.json()["accounts"] == ["desk"]
            orders = httpx.get(f"{base}/v1/orders?account=desk", headers=auth, timeout=30)
            assert (orders.status_code, orders.json()) == (200, [])
            assert httpx.get(f"{base}/v1/me", timeout=30).status_code == 401
            prefs = httpx.put(
                f"{base}/v1/notifications/preferences",
                headers=auth,
                json={"route": {"CRITICAL": ["hook"], "ERROR": ["hook"]}},
                timeout=30,
            )
            assert prefs.status_code == 200, prefs.text
            stored = json.loads((tmp_path / "prefs" / "notifier-preferences.json").read_text())
            assert stored["users"]["trader"]["route"] == {"CRITICAL": ["hook"], "ERROR": ["hook"]}
            health = _wait_up(prometheus, ports)
            api_metrics = httpx.get(f"http://127.0.0.1:{ports['api']}/metrics", timeout=30)
        finally:
            api_exit, api_log = _stop(api)
            notifier_exit, notifier_log = _stop(notifier)
            delete_topics(
                kafka_bootstrap,
                [prefix + t for t in ("oms.requests", "oms.events", "oms.fills", "alerts")],
            )
    assert health == {"api": "up", "notifier": "up"}, (health, api_log, notifier_log)
    served = 'tapewire_api_requests_total{method="GET",route="/v1/me",status="200"} 1.0'
    assert served in api_metrics.text, api_metrics.text[-3000:]
    assert 'route="/v1/orders",status="200"' in api_metrics.text
    assert api_exit == 0, api_log
    assert notifier_exit == 0, notifier_log
