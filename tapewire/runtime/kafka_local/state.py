"""The state file of a running local cluster, ``cluster.json`` in its working directory (each
node's pid, ports and paths, read by other processes), the status it implies (checked
against live processes), and the atomic file writes the cluster's files are made with.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tapewire.runtime.kafka_local.processes import is_our_jvm

log = logging.getLogger(__name__)

STATE_FILE = "cluster.json"


@dataclass(frozen=True)
class NodeStatus:
    """One node of a local cluster."""

    node_id: int
    pid: int | None
    alive: bool
    port: int
    controller_port: int
    log_path: Path
    stdout_path: Path


@dataclass(frozen=True)
class LocalKafkaStatus:
    """What ``tapewire kafka status`` reports. ``running`` means every node's JVM is alive."""

    running: bool
    bootstrap_servers: str | None
    pids: tuple[int, ...]
    log_paths: tuple[Path, ...]
    log_dir: Path
    work_dir: Path
    nodes: tuple[NodeStatus, ...] = ()
    already_running: bool = False

    @property
    def partially_running(self) -> bool:
        """Some but not all node JVMs are alive (a node was stopped or crashed)."""
        return not self.running and bool(self.pids)


@dataclass
class Node:
    """One node of this cluster: its ports and paths, and its JVM's pid while it runs."""

    node_id: int
    port: int
    controller_port: int
    config_path: Path
    data_dir: Path
    log_path: Path
    stdout_path: Path
    pid: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The node as the state file records it."""
        return {
            "node_id": self.node_id,
            "pid": self.pid,
            "port": self.port,
            "controller_port": self.controller_port,
            "config": str(self.config_path),
            "data": str(self.data_dir),
            "log": str(self.log_path),
            "stdout": str(self.stdout_path),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Node:
        """A node read back from the state file (:meth:`to_json`)."""
        return cls(
            node_id=int(raw["node_id"]),
            port=int(raw["port"]),
            controller_port=int(raw["controller_port"]),
            config_path=Path(raw["config"]),
            data_dir=Path(raw["data"]),
            log_path=Path(raw["log"]),
            stdout_path=Path(raw["stdout"]),
            pid=None if raw.get("pid") is None else int(raw["pid"]),
        )


def bootstrap(nodes: Iterable[Node]) -> str:
    """``127.0.0.1:port,...`` of ``nodes``."""
    return ",".join(f"127.0.0.1:{n.port}" for n in nodes)


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``path`` through a temporary file and a rename: readers never see half of it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """:func:`write_text_atomic` of ``data`` as indented JSON."""
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")


def read_state_nodes(work_dir: Path) -> list[Node]:
    """The nodes in ``work_dir``'s state file; none if it is missing or unreadable."""
    try:
        raw = json.loads((work_dir / STATE_FILE).read_text(encoding="utf-8"))
        return [Node.from_json(n) for n in raw["nodes"]]
    except FileNotFoundError:
        return []
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring unreadable %s: %s", work_dir / STATE_FILE, exc)
        return []


def status_from_state(work_dir: Path) -> LocalKafkaStatus | None:
    """The status recorded in ``work_dir``'s state file, checked against live processes."""
    if not (work_dir / STATE_FILE).is_file():
        return None
    return status_of(work_dir, read_state_nodes(work_dir))


def status_of(work_dir: Path, nodes: list[Node]) -> LocalKafkaStatus:
    """The status of ``nodes`` of the cluster in ``work_dir``, checked against live processes."""
    states = tuple(
        NodeStatus(
            node_id=n.node_id,
            pid=n.pid,
            alive=n.pid is not None and is_our_jvm(n.pid, n.config_path),
            port=n.port,
            controller_port=n.controller_port,
            log_path=n.log_path,
            stdout_path=n.stdout_path,
        )
        for n in nodes
    )
    pids = tuple(s.pid for s in states if s.alive and s.pid is not None)
    running = bool(states) and all(s.alive for s in states)
    return LocalKafkaStatus(
        running=running,
        bootstrap_servers=bootstrap(nodes) if pids else None,
        pids=pids,
        log_paths=tuple(n.log_path for n in nodes),
        log_dir=work_dir / "logs",
        work_dir=work_dir,
        nodes=states,
    )
