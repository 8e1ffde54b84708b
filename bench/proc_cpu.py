"""CPU seconds per process and per thread from ``/proc`` (Linux), for benchmarks on a
shared machine: CPU time, unlike wall time, does not grow when other jobs take the cores.

A process's total (``/proc/<pid>/stat``) includes the threads that have already exited;
the per-thread figures (``/proc/<pid>/task/<tid>/stat``) only the live ones, so a
breakdown is reported with the remainder as ``"exited threads"``.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")

__all__ = ["Snapshot", "by_comm", "find_java", "snapshot"]


def _cpu(stat_path: Path) -> float:
    fields = stat_path.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


@dataclass
class Snapshot:
    """CPU seconds of one process: the total and per live thread (tid -> (comm, s))."""

    pid: int
    total: float = 0.0
    threads: dict[int, tuple[str, float]] = field(default_factory=dict)

    def minus(self, before: Snapshot | None) -> Snapshot:
        """CPU used between ``before`` and this snapshot (threads new since count fully)."""
        if before is None:
            return self
        threads = {
            tid: (comm, cpu - before.threads.get(tid, (comm, 0.0))[1])
            for tid, (comm, cpu) in self.threads.items()
        }
        return Snapshot(self.pid, self.total - before.total, threads)

    def grouped(self, group: Callable[[int, str], str]) -> dict[str, float]:
        """Seconds per group of threads (``group(tid, comm)``), ``"exited threads"`` for
        the rest of the total, and ``"total"``."""
        out: dict[str, float] = defaultdict(float)
        for tid, (comm, cpu) in self.threads.items():
            out[group(tid, comm)] += cpu
        rest = self.total - sum(out.values())
        if abs(rest) >= 0.01:
            out["exited threads"] = rest
        out["total"] = self.total
        return {k: round(v, 2) for k, v in out.items()}


def snapshot(pid: int) -> Snapshot:
    """The CPU seconds of ``pid`` now (an empty snapshot if it is gone)."""
    snap = Snapshot(pid)
    try:
        snap.total = _cpu(Path(f"/proc/{pid}/stat"))
    except (OSError, IndexError, ValueError):
        return snap
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            comm = (task / "comm").read_text().strip()
            snap.threads[int(task.name)] = (comm, _cpu(task / "stat"))
        except (OSError, IndexError, ValueError):
            continue
    return snap


def by_comm(names: Mapping[int, str] | None = None) -> Callable[[int, str], str]:
    """Group threads by name: the given tids by their label, librdkafka's threads
    (``rdk:*``) as ``librdkafka``, other Python threads (``python*``) as ``python (other)``,
    anything else (chDB's, the JVM's) by its name's first word."""
    labels = dict(names or {})

    def group(tid: int, comm: str) -> str:
        if tid in labels:
            return labels[tid]
        if comm.startswith("rdk:"):
            return "librdkafka"
        if comm.startswith("python"):
            return "python (other)"
        return "native: " + (comm.split()[0].rstrip("0123456789-_:") or comm)

    return group


def jvm_group(_tid: int, comm: str) -> str:
    """The broker JVM's threads: JIT, network + request handlers, GC, the rest."""
    if "CompilerThre" in comm:
        return "jit"
    if comm.startswith("data-plane-kaf") or "network-thre" in comm:
        return "network + request handlers"  # both share the 15-character name prefix
    if "GC" in comm or comm.startswith("G1 "):
        return "gc"
    return "other"


def find_java(marker: str) -> int | None:
    """The pid of the java process whose command line contains ``marker``."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "java" in cmdline.split(" ", 1)[0] and marker in cmdline:
            return int(proc.name)
    return None
