"""The ``tapewire`` command line, run as a user would (a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _tapewire(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in {"KAFKA_BOOTSTRAP_SERVERS"}}
    return subprocess.run(
        [sys.executable, "-m", "tapewire.cli", *args],
        env={**base, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_help_lists_the_commands() -> None:
    done = _tapewire("--help")
    assert done.returncode == 0, done.stderr
    for command in ("doctor", "kafka", "sql", "migrate", "smoke", "demo", "order", "positions"):
        assert command in done.stdout


def test_doctor_explains_missing_java_in_one_line(tmp_path: Path) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    done = _tapewire(
        "doctor",
        "--offline",
        env={"PATH": str(empty_bin), "TAPEWIRE_DATA_DIR": str(tmp_path / "data")},
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    java_lines = [line for line in done.stdout.splitlines() if line.split(" ", 2)[1:2] == ["java:"]]
    assert len(java_lines) == 1, done.stdout
    line = java_lines[0]
    assert line.startswith("FAIL")
    assert "java not found" in line
    assert "install" in line
    assert "KAFKA_BOOTSTRAP_SERVERS" in line


def test_doctor_does_not_require_java_with_an_external_cluster(tmp_path: Path) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    done = _tapewire(
        "doctor",
        "--offline",
        env={
            "PATH": str(empty_bin),
            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
            "TAPEWIRE_DATA_DIR": str(tmp_path / "data"),
        },
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "warn java" in done.stdout
    assert "127.0.0.1:1" in done.stdout


def test_bad_setting_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    done = _tapewire("doctor", "--offline", env={"TAPEWIRE_METRICS_PORT": "lots"}, cwd=tmp_path)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "TAPEWIRE_METRICS_PORT='lots'" in lines[0]
    assert "valid integer" in lines[0]
