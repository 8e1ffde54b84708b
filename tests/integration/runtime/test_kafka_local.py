"""The real local Kafka broker: round trip, lifecycle across processes, no orphan JVM,
and the one-line error without ``java``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka.admin import AdminClient

from tapewire.core.errors import DependencyError, KafkaRuntimeError
from tapewire.core.kafka import client_config
from tapewire.core.settings import Settings, load_settings
from tapewire.runtime import kafka_resolve
from tapewire.runtime.kafka_io import produce_all
from tapewire.runtime.kafka_jars import check_java, check_maven, ensure_kafka_jars
from tapewire.runtime.kafka_local import (
    STATE_FILE,
    KafkaAlreadyRunningError,
    LocalKafkaCluster,
    local_status,
    local_work_dir,
    start_local,
    stop_local,
)
from tapewire.runtime.kafka_resolve import kafka_for
from tests.fixtures.kafka import TopicFactory, consume_n


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    # A zombie has no JVM left; only its exit status waits to be collected.
    return stat.is_file() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


def _settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "data")


def test_idempotent_round_trip_of_bytes(kafka_bootstrap: str, kafka_topic: TopicFactory) -> None:
    topic = kafka_topic("roundtrip", partitions=3)
    items: list[tuple[bytes | None, bytes | None]] = [
        (f"binance:BTC/USDT:{i % 7}".encode(), b"\x00\xff" + f"0.00000812|{i}".encode())
        for i in range(300)
    ]
    items.append((None, b""))  # no key, empty value: both must survive as they are

    delivered = produce_all(kafka_bootstrap, topic, items)
    consumed = consume_n(kafka_bootstrap, topic, len(items))

    assert len(delivered) == len(items)
    assert sorted((r.key or b"", r.value or b"") for r in delivered) == sorted(
        (k or b"", v or b"") for k, v in items
    )
    # The other client reads exactly what the broker acknowledged, at the same offsets.
    assert sorted(consumed, key=lambda r: (r.partition, r.offset)) == sorted(
        delivered, key=lambda r: (r.partition, r.offset)
    )
    assert {r.partition for r in consumed} == {0, 1, 2}


@pytest.mark.integration
def test_lifecycle_across_processes_detects_second_start_and_stale_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("TAPEWIRE_KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setattr(kafka_resolve, "docker_engine_available", lambda: False)
    settings = _settings(tmp_path)
    status = start_local(settings)
    try:
        assert status.running
        assert not status.already_running
        assert status.bootstrap_servers
        assert len(status.pids) == 1
        assert status.log_paths[0].is_file()
        admin = AdminClient(client_config(status.bootstrap_servers))
        assert list(admin.list_topics(timeout=10).brokers) == [0]

        # Another process finds it through the state file.
        code = (
            "import json; from tapewire.core.settings import load_settings;"
            "from tapewire.runtime.kafka_local import local_status;"
            f"s = local_status(load_settings(data_dir={str(tmp_path / 'data')!r}));"
            "print(json.dumps([s.running, s.bootstrap_servers, list(s.pids)]))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
        )
        assert json.loads(out.stdout) == [True, status.bootstrap_servers, list(status.pids)]

        again = start_local(settings)
        assert again.already_running
        assert again.pids == status.pids
        with pytest.raises(KafkaAlreadyRunningError, match="already running"):
            LocalKafkaCluster.from_settings(settings).start()
        # The resolution reuses it and leaves it running.
        with kafka_for(settings) as target:
            assert target.kind == "local"
            assert target.bootstrap_servers == status.bootstrap_servers
            assert "left running" in target.description
        assert local_status(settings).pids == status.pids
        state = (local_work_dir(settings) / STATE_FILE).read_text()
    finally:
        stopped = stop_local(settings)
    assert stopped
    assert all(_pid_gone(pid) for pid in status.pids)
    assert not local_status(settings).running
    assert stop_local(settings) is False

    # A state file left by a crashed run (its pids are dead) does not block a new start.
    (local_work_dir(settings) / STATE_FILE).write_text(state)
    assert not local_status(settings).running
    restarted = start_local(settings)
    try:
        assert restarted.running
        assert not restarted.already_running
        assert restarted.pids != status.pids
    finally:
        assert stop_local(settings)
    assert all(_pid_gone(pid) for pid in restarted.pids)


@pytest.mark.integration
def test_context_manager_leaves_no_jvm(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    with LocalKafkaCluster(
        tmp_path / "kafka",
        version=settings.kafka_version,
        cache_dir=settings.kafka_cache_dir,
        base_port=None,
    ) as cluster:
        pid = cluster.pid(0)
        assert pid is not None
        assert not _pid_gone(pid)
        assert cluster.status().running
    assert _pid_gone(pid)
    assert not (tmp_path / "kafka" / STATE_FILE).exists()
    assert (tmp_path / "kafka" / "logs" / "node-0.log").stat().st_size > 0


@pytest.mark.integration
def test_startup_failures_show_the_log_and_leave_no_jvm(tmp_path: Path) -> None:
    settings = _settings(tmp_path)

    def cluster(name: str, **kwargs: Any) -> LocalKafkaCluster:
        return LocalKafkaCluster(
            tmp_path / name,
            version=settings.kafka_version,
            cache_dir=settings.kafka_cache_dir,
            base_port=None,
            **kwargs,
        )

    # The JVM refuses to start: the error carries its own words from the node's output.
    with pytest.raises(KafkaRuntimeError, match="exited during startup") as caught:
        cluster("bad-heap", heap="1m").start()
    assert "heap" in str(caught.value).lower()
    assert "node-0.out" in str(caught.value)

    # It starts but does not answer in time: bounded wait, log tail, JVM killed.
    slow = cluster("slow", start_timeout_s=0.5)
    with pytest.raises(KafkaRuntimeError, match="did not answer within") as caught:
        slow.start()
    assert str(tmp_path / "slow" / "logs") in str(caught.value)
    assert not (tmp_path / "slow" / STATE_FILE).exists()
    leftovers = subprocess.run(
        ["pgrep", "-f", str(tmp_path / "slow")], capture_output=True, text=True, check=False
    )
    assert leftovers.stdout.strip() == ""


def test_missing_java_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    with pytest.raises(DependencyError) as caught:
        check_java()
    message = str(caught.value)
    assert caught.value.tool == "java"
    assert "\n" not in message
    assert message.startswith("java not found on PATH")
    assert "install a JDK" in message
    assert "KAFKA_BOOTSTRAP_SERVERS" in message

    # Starting the broker fails the same way, before touching anything.
    cluster = LocalKafkaCluster(tmp_path / "kafka", cache_dir=tmp_path / "cache")
    with pytest.raises(DependencyError, match=r"^java not found on PATH"):
        cluster.start()
    assert not (tmp_path / "kafka").exists()


def test_missing_maven_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    java = check_java()  # this machine has java; only mvn is hidden
    assert java
    only_java = tmp_path / "bin"
    only_java.mkdir()
    real_java = Path(os.path.realpath(_which("java")))
    (only_java / "java").symlink_to(real_java)
    monkeypatch.setenv("PATH", str(only_java))

    with pytest.raises(DependencyError) as caught:
        check_maven()
    assert caught.value.tool == "mvn"
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("mvn not found on PATH")
    with pytest.raises(DependencyError, match=r"^mvn not found"):
        ensure_kafka_jars("3.9.2", tmp_path / "empty-cache")


def _which(name: str) -> str:
    import shutil

    found = shutil.which(name)
    assert found is not None, f"{name} must be installed to run this test"
    return found
