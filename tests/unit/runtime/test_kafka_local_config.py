"""Local Kafka runtime without a broker: config, ports, cluster id, state file, resolution."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tapewire.core.errors import DependencyError, KafkaRuntimeError
from tapewire.core.settings import Settings, load_settings
from tapewire.runtime import kafka_resolve
from tapewire.runtime.kafka_jars import (
    MARKER_NAME,
    ensure_kafka_jars,
    find_kafka_pom,
    kafka_jars_ready,
    kafka_libs_dir,
)
from tapewire.runtime.kafka_local import (
    STATE_FILE,
    choose_ports,
    local_status,
    local_work_dir,
    new_cluster_id,
    render_properties,
    server_properties,
    stop_local,
)


def _props(nodes: int, node_id: int = 0) -> dict[str, str]:
    voters = ",".join(f"{i}@127.0.0.1:{20100 + i}" for i in range(nodes))
    return server_properties(
        node_id=node_id,
        port=20000 + node_id,
        controller_port=20100 + node_id,
        voters=voters,
        data_dir=Path("/data/node"),
        nodes=nodes,
    )


def test_single_node_properties() -> None:
    props = _props(1)
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "0"
    assert props["controller.quorum.voters"] == "0@127.0.0.1:20100"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:20000,CONTROLLER://127.0.0.1:20100"
    # The controller listener is never advertised to clients.
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:20000"
    assert props["auto.create.topics.enable"] == "false"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert props["min.insync.replicas"] == "1"
    assert props["log.dirs"] == "/data/node"


def test_three_node_properties_replicate_internal_topics() -> None:
    props = _props(3, node_id=2)
    assert props["node.id"] == "2"
    assert props["controller.quorum.voters"] == (
        "0@127.0.0.1:20100,1@127.0.0.1:20101,2@127.0.0.1:20102"
    )
    assert props["offsets.topic.replication.factor"] == "3"
    assert props["transaction.state.log.replication.factor"] == "3"
    assert props["transaction.state.log.min.isr"] == "2"
    assert props["default.replication.factor"] == "3"
    assert props["min.insync.replicas"] == "2"


def test_extra_config_wins_and_properties_render_one_per_line() -> None:
    props = server_properties(
        node_id=0,
        port=1,
        controller_port=2,
        voters="0@127.0.0.1:2",
        data_dir=Path(r"C:\kafka"),
        nodes=1,
        extra={"auto.create.topics.enable": "true"},
    )
    assert props["auto.create.topics.enable"] == "true"
    text = render_properties(props)
    assert "auto.create.topics.enable=true\n" in text
    assert "log.dirs=C:\\\\kafka\n" in text  # backslashes escaped for java.util.Properties
    assert text.count("\n") == len(props) + 1


def test_cluster_ids_look_like_kafkas() -> None:
    ids = {new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    for cluster_id in ids:
        assert len(cluster_id) == 22
        assert not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_preferred_ports_when_free() -> None:
    base = _free_block(4)
    assert choose_ports(2, base) == [(base, base + 100), (base + 1, base + 101)]


def test_busy_base_port_falls_back_to_distinct_free_ports() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        ports = choose_ports(3, taken)
    flat = [p for pair in ports for p in pair]
    assert taken not in flat
    assert len(set(flat)) == 6


def test_no_base_port_picks_free_ports() -> None:
    flat = [p for pair in choose_ports(3, None) for p in pair]
    assert len(set(flat)) == 6
    assert all(p > 0 for p in flat)


def _free_block(size: int) -> int:
    """A base port with ``base .. base+size`` and ``base+100 ..`` free right now."""
    for base in range(21000, 40000, 250):
        ports = [*range(base, base + size), *range(base + 100, base + 100 + size)]
        if _all_free(ports):
            return base
    raise AssertionError("no free port block found")


def _all_free(ports: list[int]) -> bool:
    for port in ports:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def _settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "data")


def _write_state(settings: Settings, pid: int) -> Path:
    work = local_work_dir(settings)
    work.mkdir(parents=True)
    node = {
        "node_id": 0,
        "pid": pid,
        "port": 19092,
        "controller_port": 19192,
        "config": str(work / "node-0" / "server.properties"),
        "data": str(work / "node-0" / "data"),
        "log": str(work / "logs" / "node-0.log"),
        "stdout": str(work / "logs" / "node-0.out"),
    }
    state = work / STATE_FILE
    state.write_text(json.dumps({"bootstrap_servers": "127.0.0.1:19092", "nodes": [node]}))
    return state


def test_status_without_state_file(tmp_path: Path) -> None:
    status = local_status(_settings(tmp_path))
    assert not status.running
    assert status.pids == ()
    assert status.bootstrap_servers is None
    assert status.log_dir == (tmp_path / "data" / "kafka" / "logs").resolve()
    assert stop_local(_settings(tmp_path)) is False


def test_stale_state_with_dead_pid(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=30)
    settings = _settings(tmp_path)
    state = _write_state(settings, dead.pid)

    status = local_status(settings)
    assert not status.running
    assert not status.partially_running
    assert status.pids == ()
    assert status.nodes[0].alive is False
    assert stop_local(settings) is False
    assert not state.exists()


def test_reused_pid_of_another_program_is_not_taken_for_kafka(tmp_path: Path) -> None:
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        settings = _settings(tmp_path)
        _write_state(settings, other.pid)
        assert not local_status(settings).running
        assert stop_local(settings) is False
        assert other.poll() is None, "stop_local must not signal a process that is not Kafka"
    finally:
        other.kill()
        other.wait(timeout=30)


def test_unreadable_state_file_counts_as_not_running(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    work = local_work_dir(settings)
    work.mkdir(parents=True)
    (work / STATE_FILE).write_text("{not json")
    assert not local_status(settings).running


def test_pom_is_found_in_the_checkout_and_explicit_paths_are_checked(tmp_path: Path) -> None:
    pom = find_kafka_pom()
    assert pom.name == "pom.xml"
    assert "kafka_2.13" in pom.read_text()
    assert find_kafka_pom(pom) == pom
    with pytest.raises(KafkaRuntimeError, match="does not exist"):
        find_kafka_pom(tmp_path / "nope.xml")


def test_cached_jars_need_neither_java_nor_maven(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    libs = kafka_libs_dir("3.9.2", tmp_path)
    libs.mkdir(parents=True)
    (libs / MARKER_NAME).write_text("{}")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert kafka_jars_ready("3.9.2", tmp_path)
    assert ensure_kafka_jars("3.9.2", tmp_path) == libs


def test_half_copied_jars_do_not_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    libs = kafka_libs_dir("3.9.2", tmp_path)
    libs.mkdir(parents=True)
    (libs / "kafka-clients-3.9.2.jar").write_bytes(b"")  # no completion marker
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert not kafka_jars_ready("3.9.2", tmp_path)
    with pytest.raises(DependencyError, match="java not found on PATH"):
        ensure_kafka_jars("3.9.2", tmp_path)


def test_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("TAPEWIRE_KAFKA_BOOTSTRAP_SERVERS", raising=False)
    external = load_settings(data_dir=tmp_path, kafka_bootstrap_servers="kafka1:9092,kafka2:9092")
    target = kafka_resolve.describe_kafka(external)
    assert target.kind == "external"
    assert target.bootstrap_servers == "kafka1:9092,kafka2:9092"

    plain = load_settings(data_dir=tmp_path)
    monkeypatch.setattr(kafka_resolve, "docker_engine_available", lambda: False)
    local = kafka_resolve.describe_kafka(plain)
    assert local.kind == "local"
    assert "not running" in local.description
    assert local.bootstrap_servers == f"127.0.0.1:{plain.kafka_port}"

    monkeypatch.setattr(kafka_resolve, "docker_engine_available", lambda: True)
    assert kafka_resolve.describe_kafka(plain).kind == "testcontainers"
    assert kafka_resolve.describe_kafka(external).kind == "external"
