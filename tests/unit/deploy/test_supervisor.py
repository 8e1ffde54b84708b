"""The supervisor of ``run all``: restarts a crashed role with backoff, stops in order."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from tapewire.deploy.supervisor import BACKOFF_START_S, Child, Supervisor


class Scripted(Supervisor):
    """Children run a small Python script per role instead of ``tapewire run``."""

    def __init__(self, scripts: dict[str, str], log_dir: Path) -> None:
        super().__init__(
            Path("unused.toml"), list(scripts), "127.0.0.1:1", grace_s=5.0, log_dir=log_dir
        )
        self.scripts = scripts

    def command(self, child: Child) -> list[str]:
        return [sys.executable, "-c", self.scripts[child.role]]


def _until(condition: Callable[[], bool], sup: Supervisor | None = None) -> None:
    """Poll ``sup`` (if given) until ``condition`` holds; 30 s at most."""
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline:
        if sup is not None:
            sup.poll()
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_a_crashed_role_is_restarted_after_its_backoff_and_others_keep_running(
    tmp_path: Path,
) -> None:
    sup = Scripted(
        {
            "connector": "import time; time.sleep(60)",
            "trade": "import sys; print('crash', flush=True); sys.exit(3)",
        },
        tmp_path,
    )
    sup.start()
    try:
        connector, trade = sup.children
        first_pid = connector.process.pid if connector.process else None
        _until(lambda: trade.exit_codes == [3], sup)
        assert trade.state == "waiting"
        assert trade.backoff_s == BACKOFF_START_S
        _until(lambda: trade.restarts >= 2, sup)
        assert trade.exit_codes[:2] == [3, 3]
        assert trade.backoff_s == 2 * BACKOFF_START_S  # doubled: it did not stay up
        assert connector.state == "running"
        assert connector.process is not None
        assert connector.process.pid == first_pid
        assert "crash" in (tmp_path / "trade.log").read_text()
    finally:
        sup.stop()
    assert [c.state for c in sup.children] == ["stopped", "stopped"]
    assert connector.exit_codes[-1] == -15  # SIGTERM


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    stubborn = (
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    sup = Scripted({"sink": stubborn}, tmp_path)
    sup.grace_s = 1.0
    sup.start()
    _until(lambda: "ready" in (tmp_path / "sink.log").read_text())
    started = time.monotonic()
    sup.stop()
    assert time.monotonic() - started < 10
    assert sup.children[0].exit_codes[-1] == -9  # SIGKILL
    status = sup.status()
    assert status == [("sink", "stopped", None, 0, 0.0)]


def test_a_role_that_finishes_its_work_is_not_restarted(tmp_path: Path) -> None:
    sup = Scripted({"connector": "print('published 3000 frames')"}, tmp_path)
    sup.start()
    (child,) = sup.children
    _until(lambda: child.exit_codes == [0], sup)
    time.sleep(1.5)  # longer than the first backoff
    sup.poll()
    assert (child.state, child.restarts) == ("done", 0)
    sup.stop()
    assert child.exit_codes == [0]


def test_a_role_that_refuses_its_configuration_is_not_restarted(tmp_path: Path) -> None:
    sup = Scripted(
        {"aggregate": "import sys; print('error: unknown agent'); sys.exit(2)"}, tmp_path
    )
    sup.start()
    (child,) = sup.children
    _until(lambda: child.exit_codes == [2], sup)
    time.sleep(1.5)
    sup.poll()
    assert (child.state, child.restarts) == ("failed", 0)
    sup.stop()


def test_a_role_run_in_several_processes_gets_numbered_names_and_logs(tmp_path: Path) -> None:
    sup = Supervisor(
        Path("unused.toml"), ["connector", "normalize", "normalize", "sink"], "127.0.0.1:1"
    )
    assert [c.name for c in sup.children] == ["connector", "normalize-0", "normalize-1", "sink"]
    assert [c.replica for c in sup.children] == [0, 0, 1, 0]  # each process: its own port
    assert sup.command(sup.children[2])[-2:] == ["--replica", "1"]
