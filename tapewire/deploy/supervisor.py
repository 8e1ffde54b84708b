"""``tapewire run all``: one child process per configured role, kept running.

Each child is ``python -m tapewire.cli run <role> --config FILE --bootstrap B``. A child
that exits with code 0 has finished (a connector with ``max_frames``), one that exits
with 2 refused its configuration (it would again: not restarted); any other exit is
restarted after a backoff (1 s, doubling to 30 s;
back to 1 s once it ran 60 s). SIGTERM or Ctrl-C stops the children in reverse pipeline
order (connector first, so nothing new enters, sink last): SIGTERM, then SIGKILL after
``grace_s``. :meth:`Supervisor.status` is what the live table shows.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tapewire.deploy.metrics_ports import process_name

log = logging.getLogger("tapewire.deploy")

BACKOFF_START_S = 1.0
BACKOFF_CAP_S = 30.0
HEALTHY_AFTER_S = 60.0
CONFIG_EXIT = 2
"""Exit code of ``tapewire`` for a usage or configuration error (never restarted)."""
STOP_ORDER = ("api", "connector", "normalize", "aggregate", "trade", "router", "sink", "notifier")
"""The API first: no new orders while the pipeline stops; the routers after the trade
processes, so an approval already made still reaches its venue."""


@dataclass
class Child:
    """One role's process and its history."""

    role: str
    replica: int
    """Which process of its role (0 unless the role runs in several)."""
    name: str = ""
    """``role``, or ``role-<k>`` when the role runs in several processes."""
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff_s: float = BACKOFF_START_S
    restart_at: float | None = None
    exit_codes: list[int] = field(default_factory=list)

    @property
    def state(self) -> str:
        """``running``, ``waiting`` (to restart), ``done`` (exited 0), ``failed`` (a
        configuration error) or ``stopped``."""
        if self.process is not None and self.process.poll() is None:
            return "running"
        if self.restart_at is not None:
            return "waiting"
        last = self.exit_codes[-1:]
        return "done" if last == [0] else "failed" if last == [CONFIG_EXIT] else "stopped"


class Supervisor:
    """Starts, watches and stops the role processes of one deployment file."""

    def __init__(
        self,
        config_path: Path,
        roles: Sequence[str],
        bootstrap: str,
        *,
        grace_s: float = 20.0,
        clock: Callable[[], float] = time.monotonic,
        log_dir: Path | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        own_session: bool = False,
    ) -> None:
        """``env`` is added to this process's environment for the children, ``cwd`` is
        theirs (Faust keeps ``<app id>-data`` there); ``own_session``: the children do not
        get the terminal's Ctrl-C, so :meth:`stop` alone stops them, in order."""
        self.config_path = config_path
        self.bootstrap = bootstrap
        self.grace_s = grace_s
        self.clock = clock
        self.log_dir = log_dir
        self.env = dict(env or {})
        self.cwd = cwd
        self.own_session = own_session
        self.children = []
        seen: dict[str, int] = {}
        for role in roles:
            k = seen[role] = seen.get(role, -1) + 1
            self.children.append(Child(role, k, process_name(role, k, roles.count(role))))

    def command(self, child: Child) -> list[str]:
        """The child's command line."""
        return [
            sys.executable,
            "-m",
            "tapewire.cli",
            "run",
            child.role,
            "--config",
            str(self.config_path),
            "--bootstrap",
            self.bootstrap,
            "--replica",
            str(child.replica),
        ]

    def _spawn(self, child: Child) -> None:
        out = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = (self.log_dir / f"{child.name}.log").open("ab")
        child.process = subprocess.Popen(
            self.command(child),
            stdout=out,
            stderr=subprocess.STDOUT if out is not None else None,
            env=os.environ | self.env,
            cwd=self.cwd,
            start_new_session=self.own_session,
        )
        if out is not None:
            out.close()  # the child holds its own descriptor
        child.started_at = self.clock()
        child.restart_at = None
        log.info("started %s (pid %d)", child.name, child.process.pid)

    def start(self, roles: Collection[str] | None = None) -> None:
        """Start every role (or those of ``roles``)."""
        for child in self.children:
            if roles is None or child.role in roles:
                self._spawn(child)

    def poll(self) -> None:
        """Restart children that exited (after their backoff)."""
        now = self.clock()
        for child in self.children:
            process = child.process
            if process is not None and process.poll() is not None:
                code = process.returncode
                child.exit_codes.append(code)
                child.process = None
                ran = now - child.started_at
                if code == 0:  # finished its work (a connector with max_frames): done
                    log.info("%s finished after %.1f s", child.name, ran)
                    continue
                if code == CONFIG_EXIT:  # a bad config or usage fails again: do not loop
                    log.error(
                        "%s refused its configuration (exit %d): not restarted", child.name, code
                    )
                    continue
                if ran >= HEALTHY_AFTER_S or not child.restarts:
                    child.backoff_s = BACKOFF_START_S
                else:
                    child.backoff_s = min(child.backoff_s * 2, BACKOFF_CAP_S)
                child.restart_at = now + child.backoff_s
                log.warning(
                    "%s exited with %s after %.1f s; restart in %.0f s",
                    child.name,
                    code,
                    ran,
                    child.backoff_s,
                )
            if child.process is None and child.restart_at is not None and now >= child.restart_at:
                child.restarts += 1
                self._spawn(child)

    def stop(self, roles: Collection[str] | None = None) -> None:
        """Stop every child (or those of ``roles``): connector first, sink last; SIGTERM,
        then SIGKILL."""
        order = sorted(
            (c for c in self.children if roles is None or c.role in roles),
            key=lambda c: STOP_ORDER.index(c.role) if c.role in STOP_ORDER else len(STOP_ORDER),
        )
        for child in order:
            child.restart_at = None
            process = child.process
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(self.grace_s)
            except subprocess.TimeoutExpired:
                log.error("%s did not stop in %.0f s: killed", child.name, self.grace_s)
                process.kill()
                process.wait(10)
            child.exit_codes.append(process.returncode)

    def status(self) -> list[tuple[str, str, int | None, int, float]]:
        """(name, state, pid, restarts, uptime in seconds) per child."""
        now = self.clock()
        return [
            (
                c.name,
                c.state,
                c.process.pid if c.process is not None and c.state == "running" else None,
                c.restarts,
                now - c.started_at if c.state == "running" else 0.0,
            )
            for c in self.children
        ]
