"""Every role of ``tapewire run all`` scraped by a real Prometheus (Debian's ``prometheus``)
started by the test; the stage-latency and tick-to-order histograms fill while it runs.

The deployment is the one of ``test_run_all`` (simulator, agents normalize, hot-path
trading with an outside strategy, chDB sink), with a ``/metrics`` port per role from
``[metrics.ports]``. The test waits (bounded) until Prometheus reports every role's target
up and every histogram has samples, then stops ``run all`` and checks it exited cleanly.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from tapewire.runtime.kafka_io import delete_topics
from tapewire.streams.stages.config import StreamsConfig
from tests.fixtures.prometheus import PrometheusServer, free_port, prometheus_server
from tests.integration.deploy.test_run_all import STRATEGY
from tests.integration.deploy.trade_desk import wide_limits

ROLES = ("connector", "normalize", "aggregate", "trade", "sink", "notifier")
"""Every role of ``run all`` but the API, which needs a chDB directory of its own (the sink
holds this one): ``tests/integration/api/test_process.py`` scrapes it, as its own process."""
WAIT_S = 150.0

CHECKS = {
    # the chain exchange -> receive -> normalize -> strategy -> risk -> router (submit)
    **{
        f"stage {stage}": f'sum(tapewire_stage_latency_seconds_count{{stage="{stage}"}})'
        for stage in ("receive", "normalize", "strategy", "risk", "router")
    },
    "tick-to-order": "sum(tapewire_tick_to_order_seconds_count)",
    "feed freshness": "count(tapewire_feed_last_frame_timestamp_seconds)",
    "sink lag": 'count(tapewire_consumer_lag_messages{group="tapewire-sink"})',
    "hot-path lag": 'count(tapewire_consumer_lag_messages{group=~".*-hotpath"})',
}


def _config(bootstrap: str, prefix: str, chdb: str, ports: dict[str, int]) -> str:
    port_table = ", ".join(f"{role} = {port}" for role, port in ports.items())
    return f"""
[kafka]
bootstrap = "{bootstrap}"
topic_prefix = "{prefix}"
partitions = 1

[clickhouse]
url = "{chdb}"

[metrics]
host = "127.0.0.1"
ports = {{ {port_table} }}

[connector]
source = {{ kind = "simulator", seed = 5, rate = 500 }}

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

[notifier.users.ops.channels.hook]
kind = "webhook"
url = "http://127.0.0.1:9/hook"
format = "json"

[notifier.users.ops.route]
CRITICAL = ["hook"]
"""


def _wait(prometheus: PrometheusServer, ports: dict[str, int]) -> dict[str, float | None]:
    """Poll until every target is up and every check is > 0, or ``WAIT_S`` passed."""
    wanted = {f"127.0.0.1:{port}": role for role, port in ports.items()}
    deadline = time.monotonic() + WAIT_S
    while True:
        health = {
            wanted[t["labels"]["instance"]]: t["health"]
            for t in prometheus.targets()
            if t["labels"]["instance"] in wanted
        }
        values = {name: prometheus.value(promql) for name, promql in CHECKS.items()}
        done = all(health.get(role) == "up" for role in ROLES) and all(
            (v or 0) > 0 for v in values.values()
        )
        if done or time.monotonic() > deadline:
            return {**{f"up {r}": float(health.get(r) == "up") for r in ROLES}, **values}
        time.sleep(2)


def test_prometheus_scrapes_every_role_and_the_latency_histograms_fill(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    (tmp_path / "strategies").mkdir()
    (tmp_path / "strategies" / "desk_strategy.py").write_text(STRATEGY)
    prefix = f"met{uuid.uuid4().hex[:8]}."
    ports = {role: free_port() for role in ROLES}
    config = tmp_path / "desk.toml"
    config.write_text(_config(kafka_bootstrap, prefix, f"chdb://{tmp_path / 'chdb'}", ports))
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "strategies"), os.getcwd()]),
        "TAPEWIRE_DATA_DIR": str(tmp_path / "data"),
    }
    logs = tmp_path / "logs"
    targets = [f"127.0.0.1:{port}" for port in ports.values()]
    started = time.time()
    with prometheus_server(tmp_path / "prometheus", targets) as prometheus:
        run = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tapewire.cli",
                "run",
                "all",
                "--config",
                str(config),
                "--duration",
                str(int(WAIT_S) + 60),
                "--log-dir",
                str(logs),
            ],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            seen = _wait(prometheus, ports)
            exemplars = prometheus.exemplars(
                "tapewire_tick_to_order_seconds_bucket", started, time.time()
            )
        finally:
            run.send_signal(signal.SIGTERM)
            try:
                _, stderr = run.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                run.kill()
                _, stderr = run.communicate()
            delete_topics(kafka_bootstrap, StreamsConfig(topic_prefix=prefix).topics.all())
    role_logs = {p.name: p.read_text()[-2000:] for p in logs.glob("*.log")}
    assert all(v is not None and v > 0 for v in seen.values()), (seen, role_logs)
    assert run.returncode == 0, (stderr[-3000:], role_logs)
    # the client order id rides on the tick-to-order samples as an exemplar, not a label
    labels = [e["labels"] for series in exemplars for e in series["exemplars"]]
    assert labels, exemplars
    assert all(set(label) == {"client_order_id"} for label in labels), exemplars
