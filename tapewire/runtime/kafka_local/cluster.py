"""The process manager of a local cluster: :class:`LocalKafkaCluster` formats the storage,
starts, watches and stops the node JVMs of one working directory; :func:`start_local`,
:func:`stop_local` and :func:`local_status` do it for the CLI's cluster in
``<data_dir>/kafka``, found again by other processes through the state file.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import subprocess
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from tapewire.core.errors import KafkaRuntimeError
from tapewire.core.kafka import KafkaSecurity, client_config
from tapewire.core.settings import Settings
from tapewire.runtime.kafka_jars import check_java, ensure_kafka_jars, file_lock, find_java
from tapewire.runtime.kafka_local.ports import choose_ports, port_open
from tapewire.runtime.kafka_local.processes import (
    adopt,
    die_with_parent_fn,
    exit_code,
    is_our_jvm,
    terminate,
)
from tapewire.runtime.kafka_local.properties import (
    LOG4J_PROPERTIES,
    TOOLS_LOG4J_PROPERTIES,
    new_cluster_id,
    render_properties,
    server_properties,
)
from tapewire.runtime.kafka_local.security import (
    LocalSecurity,
    TlsFiles,
    ensure_tls,
    security_properties,
)
from tapewire.runtime.kafka_local.state import (
    STATE_FILE,
    LocalKafkaStatus,
    Node,
    bootstrap,
    read_state_nodes,
    status_from_state,
    status_of,
    write_json_atomic,
    write_text_atomic,
)

log = logging.getLogger(__name__)

CLUSTER_ID_FILE = "cluster.id"
DEFAULT_START_TIMEOUT_S = 120.0
DEFAULT_STOP_TIMEOUT_S = 30.0
_LOCK_TIMEOUT_S = 30.0
_LOG_TAIL_LINES = 25
_START_MARKER = "--- tapewire: starting"

Progress = Callable[[str], None]


class KafkaAlreadyRunningError(KafkaRuntimeError):
    """A local cluster already runs from this working directory; ``status`` describes it."""

    def __init__(self, status: LocalKafkaStatus) -> None:
        super().__init__(
            f"local Kafka already running at {status.bootstrap_servers} "
            f"(pids {', '.join(map(str, status.pids))})",
            hint="use it, or stop it first with: tapewire kafka stop",
        )
        self.status = status


KAFKA_SCRIPT_JVM_OPTIONS = (
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
)
"""Kafka's own start-script G1 settings (tiered JIT up to C2)."""

DEFAULT_JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xss512k")
"""The local broker's JVM options: the client compiler only and the serial collector. On a
2-core machine C2 compilations cost the broker more CPU than everything else it does in a
run of minutes: 100,000 frames through normalize took 10.4 CPU s with Kafka's G1/C2
settings (6.7 s of it JIT) and 5.2 s with these, at the same wall time
(``bench/bench_broker_cpu.py``, docs/benchmarks.md "Broker CPU")."""

# Clusters this process owns (not detached): stopped at interpreter exit at the latest.
_OWNED: weakref.WeakSet[LocalKafkaCluster] = weakref.WeakSet()


class LocalKafkaCluster:
    """A 1- or 3-node local KRaft cluster in ``work_dir``; a context manager.

    ``detach=True`` is for the CLI: the JVMs outlive this process and another process finds
    them through the state file. Otherwise they are stopped on ``stop()``/``__exit__``, at
    interpreter exit, and (on Linux) by the kernel if this process dies.

    ``security`` runs it with a SASL_SSL listener, SCRAM users and ACLs enforced
    (:mod:`~tapewire.runtime.kafka_local.security`); clients then need
    :meth:`admin_security` (or a user the admin made) and :attr:`ca_file`. It is fixed when
    the storage is first formatted: a work directory formatted without it has no admin.
    """

    def __init__(
        self,
        work_dir: Path,
        *,
        nodes: int = 1,
        version: str = "3.9.2",
        cache_dir: Path | None = None,
        jars_dir: Path | None = None,
        base_port: int | None = 19092,
        heap: str = "512m",
        detach: bool = False,
        start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
        stop_timeout_s: float = DEFAULT_STOP_TIMEOUT_S,
        extra_config: Mapping[str, str] | None = None,
        jvm_options: Sequence[str] | None = None,
        on_progress: Progress | None = None,
        security: LocalSecurity | None = None,
    ) -> None:
        if nodes < 1:
            raise KafkaRuntimeError(f"nodes={nodes}: a cluster needs at least one node")
        if cache_dir is None and jars_dir is None:
            raise KafkaRuntimeError("LocalKafkaCluster needs cache_dir or jars_dir")
        self.work_dir = work_dir.resolve()
        self.node_count = nodes
        self.version = version
        self.cache_dir = cache_dir
        self.jars_dir = jars_dir
        self.base_port = base_port
        self.heap = heap
        self.detach = detach
        self.start_timeout_s = start_timeout_s
        self.stop_timeout_s = stop_timeout_s
        self.extra_config = dict(extra_config or {})
        self.jvm_options = tuple(DEFAULT_JVM_OPTIONS if jvm_options is None else jvm_options)
        self.security = security
        self._tls: TlsFiles | None = None
        self._progress = on_progress
        self._nodes: list[Node] = []
        self._cluster_id: str | None = None
        self._java: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, nodes: int = 1, **kwargs: Any) -> Self:
        """The cluster the CLI manages: ``<data_dir>/kafka``, version, cache and port from
        ``settings``; ``kwargs`` go to the constructor and win over ``settings``."""
        params: dict[str, Any] = {
            "version": settings.kafka_version,
            "cache_dir": settings.kafka_cache_dir,
            "base_port": settings.kafka_port,
        }
        params.update(kwargs)
        return cls(local_work_dir(settings), nodes=nodes, **params)

    # -- public API ---------------------------------------------------------------------

    @property
    def bootstrap_servers(self) -> str:
        """``127.0.0.1:port,...`` of every node; only once started."""
        if not self._nodes:
            raise KafkaRuntimeError("the local Kafka cluster is not started")
        return bootstrap(self._nodes)

    @property
    def node_ids(self) -> tuple[int, ...]:
        """Broker ids, ``0 .. nodes-1`` (also the indexes for ``stop_node``/``start_node``)."""
        return tuple(range(self.node_count))

    @property
    def cluster_id(self) -> str | None:
        """The KRaft cluster id, once started."""
        return self._cluster_id

    @property
    def ca_file(self) -> Path:
        """The PEM CA clients trust (``security`` only; created at start)."""
        if self.security is None:
            raise KafkaRuntimeError("this local Kafka cluster runs without TLS (no security)")
        return self.work_dir / "tls" / "ca.pem"

    def admin_security(self) -> KafkaSecurity:
        """Client settings of the admin (super) user (``security`` only)."""
        if self.security is None:
            raise KafkaRuntimeError("this local Kafka cluster runs without security")
        return self.security.admin(self.ca_file)

    def pid(self, node_id: int) -> int | None:
        """The JVM pid of a node, or None when it is stopped."""
        return self._node(node_id).pid

    def port(self, node_id: int) -> int:
        """The client listener port of a node."""
        return self._node(node_id).port

    def log_path(self, node_id: int) -> Path:
        """The broker log of a node."""
        return self.work_dir / "logs" / f"node-{node_id}.log"

    def start(self) -> None:
        """Format storage if needed, start every node and wait until all brokers answer.

        Raises :class:`KafkaAlreadyRunningError` when a cluster already runs from this
        working directory, :class:`~tapewire.core.errors.DependencyError` without ``java``/``mvn``
        and :class:`KafkaRuntimeError` (with the log tail) if it does not come up in time.
        """
        if self._nodes:
            raise KafkaRuntimeError("this LocalKafkaCluster is already started")
        check_java()
        self._java = find_java()
        if self.jars_dir is None:
            assert self.cache_dir is not None
            self.jars_dir = ensure_kafka_jars(
                self.version, self.cache_dir, on_progress=self._progress
            )
        self.work_dir.mkdir(parents=True, exist_ok=True)
        (self.work_dir / "logs").mkdir(exist_ok=True)
        deadline = time.monotonic() + self.start_timeout_s
        with file_lock(self.work_dir / ".lock", _LOCK_TIMEOUT_S):
            existing = status_from_state(self.work_dir)
            if existing is not None and existing.pids:
                raise KafkaAlreadyRunningError(existing)
            if existing is not None:
                log.info("removing stale Kafka state file in %s", self.work_dir)
                (self.work_dir / STATE_FILE).unlink(missing_ok=True)
            self._cluster_id = self._load_or_create_cluster_id()
            ports = choose_ports(self.node_count, self.base_port)
            self._nodes = [self._make_node(i, *ports[i]) for i in range(self.node_count)]
            self._write_configs()
            self._format_storage()
            try:
                for node in self._nodes:
                    self._launch(node)
                self._write_state()
            except BaseException:
                self._abort()
                raise
        try:
            self._wait_for_brokers(set(self.node_ids), deadline)
        except BaseException:
            self._abort()
            raise
        if not self.detach:
            _OWNED.add(self)
        self._say(f"Kafka {self.version} up at {self.bootstrap_servers}")

    def stop(self) -> None:
        """Stop every node (SIGTERM, then SIGKILL after ``stop_timeout_s``); idempotent.

        Raises :class:`KafkaRuntimeError` if a JVM survives SIGKILL.
        """
        if not self._nodes:
            return
        running = [n for n in self._nodes if n.pid is not None]
        try:
            terminate([(n.pid, n.config_path) for n in running if n.pid], self.stop_timeout_s)
            # Kept if a JVM survived, so `tapewire kafka status` still shows it.
            (self.work_dir / STATE_FILE).unlink(missing_ok=True)
        finally:
            _OWNED.discard(self)
            self._nodes = []

    def stop_node(self, node_id: int, *, kill: bool = False) -> None:
        """Stop one node: a clean shutdown, or SIGKILL with ``kill=True`` (a crash)."""
        node = self._node(node_id)
        if node.pid is None:
            return
        timeout = 0.0 if kill else self.stop_timeout_s
        try:
            terminate([(node.pid, node.config_path)], timeout)
        finally:
            node.pid = None
            self._write_state()

    def start_node(self, node_id: int, *, timeout_s: float | None = None) -> None:
        """Restart a stopped node (same ports and storage) and wait until it is a live broker."""
        node = self._node(node_id)
        if node.pid is not None and is_our_jvm(node.pid, node.config_path):
            raise KafkaRuntimeError(f"node {node_id} is already running (pid {node.pid})")
        deadline = time.monotonic() + (timeout_s or self.start_timeout_s)
        self._launch(node)
        self._write_state()
        self._wait_for_brokers({node_id}, deadline)

    def status(self) -> LocalKafkaStatus:
        """The state of this cluster's nodes right now."""
        return status_of(self.work_dir, self._nodes)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals ------------------------------------------------------------------------

    def _say(self, message: str) -> None:
        log.info("%s", message)
        if self._progress is not None:
            self._progress(message)

    def _node(self, node_id: int) -> Node:
        if not self._nodes:
            raise KafkaRuntimeError("the local Kafka cluster is not started")
        if not 0 <= node_id < len(self._nodes):
            raise KafkaRuntimeError(f"no node {node_id}; nodes are {list(self.node_ids)}")
        return self._nodes[node_id]

    def _make_node(self, node_id: int, port: int, controller_port: int) -> Node:
        node_dir = self.work_dir / f"node-{node_id}"
        return Node(
            node_id=node_id,
            port=port,
            controller_port=controller_port,
            config_path=node_dir / "server.properties",
            data_dir=node_dir / "data",
            log_path=self.log_path(node_id),
            stdout_path=self.work_dir / "logs" / f"node-{node_id}.out",
        )

    def _load_or_create_cluster_id(self) -> str:
        path = self.work_dir / CLUSTER_ID_FILE
        if path.is_file():
            saved = json.loads(path.read_text(encoding="utf-8"))
            if int(saved["nodes"]) != self.node_count:
                raise KafkaRuntimeError(
                    f"{self.work_dir} holds a {saved['nodes']}-node cluster, "
                    f"not {self.node_count} nodes",
                    hint=f"start it with {saved['nodes']} node(s), or remove {self.work_dir} "
                    "(this deletes its topics) to start over",
                )
            return str(saved["cluster_id"])
        cluster_id = new_cluster_id()
        write_json_atomic(path, {"cluster_id": cluster_id, "nodes": self.node_count})
        return cluster_id

    def _write_configs(self) -> None:
        if self.security is not None:
            self._tls = ensure_tls(self.work_dir / "tls")
        write_text_atomic(self.work_dir / "log4j.properties", LOG4J_PROPERTIES)
        write_text_atomic(self.work_dir / "tools-log4j.properties", TOOLS_LOG4J_PROPERTIES)
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self._nodes)
        for node in self._nodes:
            node.config_path.parent.mkdir(parents=True, exist_ok=True)
            props = server_properties(
                node_id=node.node_id,
                port=node.port,
                controller_port=node.controller_port,
                voters=voters,
                data_dir=node.data_dir,
                nodes=self.node_count,
                extra=self.extra_config,
            )
            if self.security is not None:
                assert self._tls is not None
                props |= security_properties(
                    self.security,
                    self._tls,
                    port=node.port,
                    controller_port=node.controller_port,
                )
            write_text_atomic(node.config_path, render_properties(props))
            if self.security is not None:
                node.config_path.chmod(0o600)  # it holds the admin and key store passwords

    def _format_storage(self) -> None:
        assert self._java is not None
        assert self.jars_dir is not None
        assert self._cluster_id is not None
        todo = [n for n in self._nodes if not (n.data_dir / "meta.properties").is_file()]
        if not todo:
            return
        self._say(f"formatting storage of {len(todo)} node(s) in {self.work_dir}")
        procs = []
        for node in todo:
            cmd = [
                str(self._java),
                "-Xmx256m",
                f"-Dlog4j.configuration=file:{self.work_dir / 'tools-log4j.properties'}",
                "-cp",
                str(self.jars_dir / "*"),
                "kafka.tools.StorageTool",
                "format",
                "--config",
                str(node.config_path),
                "--cluster-id",
                self._cluster_id,
                "--ignore-formatted",
            ]
            if self.security is not None:
                cmd += ["--add-scram", self.security.scram_argument()]
            procs.append(
                (node, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
            )
        failures = []
        for node, proc in procs:
            try:
                out, _ = proc.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
                failures.append(f"node {node.node_id}: timed out\n{out.decode(errors='replace')}")
                continue
            if proc.returncode != 0:
                text = out.decode(errors="replace").strip()
                failures.append(f"node {node.node_id}: exit status {proc.returncode}\n{text}")
        if failures:
            raise KafkaRuntimeError(
                "formatting Kafka storage failed:\n" + "\n".join(failures),
                hint=f"remove {self.work_dir} to start from an empty cluster",
            )

    def _launch(self, node: Node) -> None:
        assert self.jars_dir is not None
        java = self._java or find_java()
        cmd = [
            str(java),
            "-Xms128m",
            f"-Xmx{self.heap}",
            *self.jvm_options,
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{self.work_dir / 'log4j.properties'}",
            f"-Dkafka.logs.dir={self.work_dir / 'logs'}",
            f"-Dtapewire.kafka.node=node-{node.node_id}",
            "-cp",
            str(self.jars_dir / "*"),
            "kafka.Kafka",
            str(node.config_path),
        ]
        self._say(f"starting Kafka node {node.node_id} on 127.0.0.1:{node.port}")
        with node.stdout_path.open("ab") as out:
            out.write(f"{_START_MARKER} node {node.node_id} at {time.ctime()}\n".encode())
            out.flush()
            proc = subprocess.Popen(
                cmd,
                cwd=node.config_path.parent,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                # Own session: Ctrl-C in a terminal does not reach the JVM, and the whole
                # process group can be signalled when stopping.
                start_new_session=True,
                preexec_fn=None if self.detach else die_with_parent_fn(),
            )
        adopt(proc)
        node.pid = proc.pid

    def _write_state(self) -> None:
        state = {
            "format": 1,
            "kafka_version": self.version,
            "cluster_id": self._cluster_id,
            "bootstrap_servers": bootstrap(self._nodes),
            "started_at": time.time(),
            "owner_pid": os.getpid(),
            "detached": self.detach,
            "nodes": [n.to_json() for n in self._nodes],
        }
        write_json_atomic(self.work_dir / STATE_FILE, state)

    def _abort(self) -> None:
        """Kill whatever this start launched; keep the logs."""
        pids = [(n.pid, n.config_path) for n in self._nodes if n.pid is not None]
        try:
            terminate(pids, 5.0)
        finally:
            for node in self._nodes:
                node.pid = None
            (self.work_dir / STATE_FILE).unlink(missing_ok=True)
            self._nodes = []

    def _wait_for_brokers(self, new: set[int], deadline: float) -> None:
        """Until ``deadline``: the ``new`` nodes listen, and a metadata request to each running
        node lists every running node.

        Asking each node, not just any one, matters: brokers learn of each other's
        registration asynchronously, so one may still list only part of the cluster.
        """
        self._say(f"waiting for broker(s) {sorted(new)} to answer")
        watched = [self._node(i) for i in sorted(new)]
        running = [n for n in self._nodes if n.pid is not None]
        expected = {n.node_id for n in running}
        admins: dict[int, AdminClient] = {}
        last_error = "no answer yet"
        while True:
            for node in watched:
                self._check_alive(node)
            for node in running:
                # A client only once the port listens: spares the log "connection refused".
                if node.node_id not in admins and port_open(node.port):
                    admins[node.node_id] = AdminClient(self._admin_config(bootstrap([node])))
            if len(admins) == len(running):
                last_error = self._missing_brokers(admins, expected, deadline)
                if not last_error:
                    return
            else:
                last_error = "listener ports not open yet"
            if time.monotonic() >= deadline:
                raise KafkaRuntimeError(
                    f"local Kafka did not answer within {self.start_timeout_s:g}s "
                    f"({last_error})\n" + self._log_tails(watched),
                    hint=f"see the logs in {self.work_dir / 'logs'}",
                )
            time.sleep(0.25)

    def _admin_config(self, servers: str) -> dict[str, Any]:
        config = client_config(servers)
        if self.security is not None:
            config |= self.admin_security().client_settings()
        return config

    @staticmethod
    def _missing_brokers(
        admins: Mapping[int, AdminClient], expected: set[int], deadline: float
    ) -> str:
        """'' when every node's metadata lists all ``expected`` brokers, else what is missing."""
        for node_id, admin in sorted(admins.items()):
            remaining = deadline - time.monotonic()
            try:
                seen = set(admin.list_topics(timeout=max(0.5, min(5.0, remaining))).brokers)
            except KafkaException as exc:
                return f"node {node_id}: {exc}"
            if not expected <= seen:
                return f"node {node_id} lists brokers {sorted(seen)}"
        return ""

    def _check_alive(self, node: Node) -> None:
        if node.pid is not None and is_our_jvm(node.pid, node.config_path):
            return
        code = exit_code(node.pid)
        raise KafkaRuntimeError(
            f"Kafka node {node.node_id} exited during startup"
            + (f" (exit status {code})" if code is not None else "")
            + "\n"
            + self._log_tails([node]),
            hint=f"see the logs in {self.work_dir / 'logs'}",
        )

    @staticmethod
    def _log_tails(nodes: Iterable[Node]) -> str:
        parts = []
        for node in nodes:
            for path in (node.stdout_path, node.log_path):
                tail = _tail(path, _LOG_TAIL_LINES)
                # stdout is appended to across runs: keep what this run wrote.
                tail = tail.rpartition(_START_MARKER)[2].partition("\n")[2].strip("\n")
                if tail:
                    parts.append(f"--- last lines of {path}:\n{tail}")
        return "\n".join(parts) if parts else "(no log output)"


# -- module-level API for the CLI -------------------------------------------------------------


def local_work_dir(settings: Settings) -> Path:
    """The working directory of the CLI's local cluster: ``<data_dir>/kafka``."""
    return settings.data_dir.resolve() / "kafka"


def start_local(
    settings: Settings,
    *,
    nodes: int = 1,
    timeout_s: float = DEFAULT_START_TIMEOUT_S,
    on_progress: Progress | None = None,
) -> LocalKafkaStatus:
    """Start the local cluster in the background (it outlives this process) and wait for it.

    If one already runs from ``<data_dir>/kafka``, returns its status with
    ``already_running=True`` instead of starting a second one.
    """
    cluster = LocalKafkaCluster.from_settings(
        settings, nodes=nodes, detach=True, start_timeout_s=timeout_s, on_progress=on_progress
    )
    try:
        cluster.start()
    except KafkaAlreadyRunningError as exc:
        return replace(exc.status, already_running=True)
    return cluster.status()


def stop_local(settings: Settings, *, timeout_s: float = DEFAULT_STOP_TIMEOUT_S) -> bool:
    """Stop the local cluster started from ``<data_dir>/kafka``; False if none was running."""
    work_dir = local_work_dir(settings)
    if not (work_dir / STATE_FILE).is_file():
        return False
    with file_lock(work_dir / ".lock", _LOCK_TIMEOUT_S):
        nodes = read_state_nodes(work_dir)
        alive = [
            (n.pid, n.config_path) for n in nodes if n.pid and is_our_jvm(n.pid, n.config_path)
        ]
        terminate(alive, timeout_s)  # raises, keeping the state file, if a JVM survives
        (work_dir / STATE_FILE).unlink(missing_ok=True)
    return bool(alive)


def local_status(settings: Settings) -> LocalKafkaStatus:
    """Whether the local cluster of ``<data_dir>/kafka`` runs, where, and its pids and logs."""
    work_dir = local_work_dir(settings)
    status = status_from_state(work_dir)
    if status is not None:
        return status
    return LocalKafkaStatus(
        running=False,
        bootstrap_servers=None,
        pids=(),
        log_paths=tuple(sorted((work_dir / "logs").glob("node-*.log"))),
        log_dir=work_dir / "logs",
        work_dir=work_dir,
    )


def _tail(path: Path, lines: int) -> str:
    """The last ``lines`` lines of a log file ('' if missing), reading at most 64 KiB."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 65536))
            data = handle.read()
    except OSError:
        return ""
    return "\n".join(data.decode(errors="replace").splitlines()[-lines:])


@atexit.register
def _stop_owned_clusters() -> None:
    for cluster in list(_OWNED):
        with contextlib.suppress(Exception):
            cluster.stop()
