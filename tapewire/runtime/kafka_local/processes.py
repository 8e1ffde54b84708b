"""The node JVMs as processes: the children this process started (reaped whoever stops
them, never left as zombies), telling a node's JVM from a reused pid, and stopping JVMs with
SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from tapewire.core.errors import KafkaRuntimeError

log = logging.getLogger(__name__)

_KILL_WAIT_S = 10.0

# Every JVM this process started, so it can reap them (no zombies) whoever stops them.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}
_CHILDREN_LOCK = threading.Lock()


def adopt(proc: subprocess.Popen[bytes]) -> None:
    """Remember a JVM this process started, so that whoever stops it also reaps it."""
    with _CHILDREN_LOCK:
        _CHILDREN[proc.pid] = proc


def is_our_jvm(pid: int, config_path: Path) -> bool:
    """Is ``pid`` alive and still the JVM started with ``config_path`` (not a reused pid)?"""
    with _CHILDREN_LOCK:
        child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # another user's process: not one of ours
    proc = Path("/proc") / str(pid)
    if not proc.is_dir():
        return True  # no procfs (macOS): trust the pid
    try:
        stat = (proc / "stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return False
        return str(config_path).encode() in (proc / "cmdline").read_bytes()
    except (OSError, IndexError):
        return False


def _exists(pid: int) -> bool:
    """Does ``pid`` still exist as more than a zombie? (Reaps it if it is our child.)"""
    with _CHILDREN_LOCK:
        child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no procfs: kill(pid, 0) succeeded, so it exists
    return state not in ("Z", "X")


def exit_code(pid: int | None) -> int | None:
    """The exit status of a JVM this process started, once it has exited; else None."""
    if pid is None:
        return None
    with _CHILDREN_LOCK:
        child = _CHILDREN.get(pid)
    return None if child is None else child.poll()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        # Started with start_new_session, so the JVM leads its own process group.
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def terminate(targets: list[tuple[int, Path]], timeout_s: float) -> None:
    """SIGTERM every JVM, wait up to ``timeout_s``, SIGKILL the rest; raise if one survives."""
    alive = [(pid, cfg) for pid, cfg in targets if is_our_jvm(pid, cfg)]
    if not alive:
        _forget([pid for pid, _ in targets])
        return
    if timeout_s > 0:
        for pid, _ in alive:
            _signal_group(pid, signal.SIGTERM)
        alive = _wait_gone(alive, timeout_s)
    if alive:
        if timeout_s > 0:
            log.warning("Kafka pids %s still up %.0fs after SIGTERM; killing", alive, timeout_s)
        for pid, _ in alive:
            _signal_group(pid, signal.SIGKILL)
        alive = _wait_gone(alive, _KILL_WAIT_S)
    _forget([pid for pid, _ in targets])
    if alive:
        raise KafkaRuntimeError(
            f"Kafka JVM(s) {[pid for pid, _ in alive]} survived SIGKILL",
            hint="check them with ps; they may be stuck in the kernel (D state)",
        )


def _wait_gone(targets: list[tuple[int, Path]], timeout_s: float) -> list[tuple[int, Path]]:
    deadline = time.monotonic() + timeout_s
    while True:
        # Identity was checked before signalling; now only existence matters (an exiting
        # JVM loses its cmdline before it is gone).
        targets = [(pid, cfg) for pid, cfg in targets if _exists(pid)]
        if not targets or time.monotonic() >= deadline:
            return targets
        time.sleep(0.1)


def _forget(pids: Iterable[int]) -> None:
    with _CHILDREN_LOCK:
        for pid in pids:
            child = _CHILDREN.pop(pid, None)
            if child is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=1.0)


def die_with_parent_fn() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when this process dies.

    Only from the main thread: the kernel sends it when the *thread* that forked exits.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec
