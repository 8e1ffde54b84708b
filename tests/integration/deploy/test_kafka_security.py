"""Kafka security of ``tapewire run`` against a real local broker run with a SASL_SSL
listener, SCRAM users and ACLs enforced (``LocalKafkaCluster(security=...)``).

One secured broker for the module; ``tapewire kafka acl`` sets the role users and the
ACLs of the role table from the deployment file, as an operator would. Then: a wrong
password is refused with a clear error, only the trade role may write ``oms.approved``,
roles really produce and consume over SASL_SSL (the connector with confluent-kafka, the
normalize agents with Faust/aiokafka), and no password set through the environment shows
up in any output of these commands (the canary).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from tapewire.core.errors import KafkaRuntimeError
from tapewire.core.kafka import KafkaSecurity, process_security, use_security
from tapewire.core.settings import load_settings
from tapewire.deploy.config import load_config
from tapewire.runtime.kafka_io import produce_all, read_to_end
from tapewire.runtime.kafka_local.cluster import LocalKafkaCluster
from tapewire.runtime.kafka_local.security import LocalSecurity
from tapewire.runtime.kafka_security import check_login

pytestmark = pytest.mark.integration

FRAMES = 300
ADMIN_PASSWORD = "admin-CANARY-5d1e9b"
PASSWORDS = {
    "connector": "connector-CANARY-0a7f3c",
    "normalize": "normalize-CANARY-91b2e4",
    "trade": "trade-CANARY-6c8d20",
    "sink": "sink-CANARY-f4e613",
}
CANARIES = (ADMIN_PASSWORD, *PASSWORDS.values())
RUN_TIMEOUT_S = 90


def _config(bootstrap: str, ca_file: Path) -> str:
    return f"""
[kafka]
bootstrap = "{bootstrap}"
topic_prefix = "sec."
partitions = 2

[kafka.security]
protocol = "SASL_SSL"
mechanism = "SCRAM-SHA-512"
ca_file = "{ca_file}"
password_env = "SEC_TEST_PASSWORD_{{ROLE}}"
admin_password_env = "SEC_TEST_ADMIN_PASSWORD"

[kafka.security.users]
sink = "warehouse"

[connector]
source = {{ kind = "simulator", seed = 5, rate = 1000, max_frames = {FRAMES} }}

[normalize]
shell = "agents"

[trading]
shell = "hotpath"
paper_venues = ["binance"]

[trading.accounts.desk]
max_open_orders = 5
max_orders_per_window = 10
rate_window_ms = 1000
daily_loss_limit = "1000"
stale_quote_ms = 5000

[trading.accounts.desk.instruments."BTC-USDT-SPOT"]
max_order_qty = "1"
max_order_notional = "100000"
max_position = "1"
price_band_bps = "100"

[sink]
"""


@dataclass
class Secured:
    cluster: LocalKafkaCluster
    config: Path
    env: dict[str, str]
    outputs: list[str]
    """stdout + stderr of every command run, for the canary test."""

    def run(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "tapewire.cli", *args],
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
        self.outputs += [done.stdout, done.stderr]
        return done

    def role(self, role: str) -> KafkaSecurity:
        security = load_config(self.config).kafka.security.for_role(role, self.env)
        assert security is not None
        return security


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    tmp = tmp_path_factory.mktemp("kafka-security")
    settings = load_settings(data_dir=tmp / "data")
    cluster = LocalKafkaCluster(
        tmp / "kafka",
        cache_dir=settings.kafka_cache_dir,
        base_port=None,
        security=LocalSecurity(SecretStr(ADMIN_PASSWORD)),
    )
    with cluster:
        config = tmp / "deploy.toml"
        config.write_text(_config(cluster.bootstrap_servers, cluster.ca_file))
        env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"} | {
            "TAPEWIRE_DATA_DIR": str(tmp / "data"),
            "SEC_TEST_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "PYTHONPATH": os.getcwd(),
        }
        env |= {f"SEC_TEST_PASSWORD_{role.upper()}": pw for role, pw in PASSWORDS.items()}
        secured = Secured(cluster, config, env, [])
        done = secured.run("kafka", "acl", "--config", str(config))
        assert done.returncode == 0, done.stdout + done.stderr
        assert (
            "users: tapewire-connector, tapewire-normalize, tapewire-trade, warehouse"
            in " ".join(done.stdout.split())
        )
        yield secured


@pytest.fixture
def as_role() -> Iterator[None]:
    previous = process_security()
    yield
    use_security(previous)


def test_a_wrong_password_is_refused_at_once(secured: Secured) -> None:
    env = secured.env | {"SEC_TEST_PASSWORD_CONNECTOR": "wrong-CANARY-password"}
    started = time.monotonic()
    done = secured.run("run", "connector", "--config", str(secured.config), env=env)
    elapsed = time.monotonic() - started
    assert done.returncode == 2
    assert "refused user 'tapewire-connector': authentication failed" in done.stderr
    assert "wrong-CANARY-password" not in done.stdout + done.stderr
    assert elapsed < 30  # the login check, not a client retrying until a timeout


def test_check_login_names_the_user_and_the_way_out(secured: Secured, as_role: None) -> None:
    good = secured.role("trade")
    use_security(
        KafkaSecurity("SASL_SSL", good.mechanism, good.username, SecretStr("x"), good.ca_file)
    )
    with pytest.raises(KafkaRuntimeError, match="refused user 'tapewire-trade'") as caught:
        check_login(secured.cluster.bootstrap_servers, timeout_s=20)
    assert caught.value.hint is not None
    assert "tapewire kafka acl" in caught.value.hint
    use_security(good)
    check_login(secured.cluster.bootstrap_servers, timeout_s=20)


def test_only_the_trade_role_may_write_oms_approved(secured: Secured, as_role: None) -> None:
    bootstrap = secured.cluster.bootstrap_servers
    use_security(secured.role("connector"))
    with pytest.raises(KafkaRuntimeError, match="TOPIC_AUTHORIZATION_FAILED"):
        produce_all(bootstrap, "sec.oms.approved", [(b"k", b"forged approval")], timeout_s=20)
    use_security(secured.role("trade"))
    (record,) = produce_all(bootstrap, "sec.oms.approved", [(b"k", b"approval")], timeout_s=20)
    assert record.offset >= 0
    # and the connector may write md.raw and md.markets, nothing else
    use_security(secured.role("connector"))
    with pytest.raises(KafkaRuntimeError, match="TOPIC_AUTHORIZATION_FAILED"):
        produce_all(bootstrap, "sec.md.trades", [(b"k", b"forged trade")], timeout_s=20)


def test_roles_produce_and_consume_over_sasl_ssl(secured: Secured, as_role: None) -> None:
    config = str(secured.config)
    done = secured.run("run", "connector", "--config", config, "--duration", "60")
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"connector: {FRAMES} frames delivered to sec.md.raw" in done.stderr
    # the normalize agents (Faust over aiokafka) log in with the same settings
    done = secured.run("run", "normalize", "--config", config, "--duration", "12")
    assert done.returncode == 0, done.stderr[-3000:]
    # read back as the sink's user ("warehouse"), which has read rights on md.*
    use_security(secured.role("sink"))
    raw = read_to_end(secured.cluster.bootstrap_servers, "sec.md.raw")
    assert len(raw) == FRAMES
    trades = read_to_end(secured.cluster.bootstrap_servers, "sec.md.trades")
    assert trades


def test_no_password_in_any_output(secured: Secured) -> None:
    """The canary: runs last in this module (pytest keeps file order)."""
    assert len(secured.outputs) >= 6
    logs = sorted((secured.cluster.work_dir / "logs").iterdir())  # the broker's own logs
    assert logs
    text = "\n".join([*secured.outputs, *(p.read_text(errors="replace") for p in logs)])
    for canary in (*CANARIES, "wrong-CANARY-password"):
        assert canary not in text
    assert "CANARY" not in text
