"""chDB's process rules, shown with real OS processes (never the pytest process itself).

* one process per data directory: a second process gets ChdbDirectoryLockedError naming
  the PID that holds ``<dir>/status``, and can open the directory once that process ends;
* one directory per process: opening a second directory while a client is open gives
  ChdbPathConflictError; after closing every client the other directory opens.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]

HOLDER = """
import sys
from tapewire.sinks.clickhouse.client import connect
client = connect(sys.argv[1])
client.command("CREATE TABLE IF NOT EXISTS held (x UInt8) ENGINE = MergeTree ORDER BY x")
print("ready", flush=True)
sys.stdin.read()  # hold the directory until the test closes our stdin
client.close()
"""

CONTENDER = """
import json, sys
from tapewire.sinks.clickhouse.client import connect
from tapewire.core.errors import TapewireError
try:
    with connect(sys.argv[1]) as client:
        out = {"ok": client.command("SELECT count() FROM system.tables WHERE name = 'held'")}
except TapewireError as exc:
    out = {"type": type(exc).__name__, "message": exc.message, "hint": exc.hint,
           "pid": getattr(exc, "pid", None)}
print(json.dumps(out))
"""

TWO_DIRECTORIES = """
import json, sys
from tapewire.sinks.clickhouse.client import connect, ChdbPathConflictError
first, second = sys.argv[1], sys.argv[2]
a1 = connect(first)
a2 = connect(first)  # many clients on one directory are fine
out = {}
try:
    connect(second)
except ChdbPathConflictError as exc:
    out["error"] = {"message": exc.message, "hint": exc.hint, "open_path": exc.open_path,
                    "requested_path": exc.requested_path}
a1.close()
try:
    connect(second)  # a2 still keeps the engine on the first directory
except ChdbPathConflictError:
    out["after_closing_one"] = "still refused"
a2.close()
a2.close()  # closing twice is harmless
with connect(second) as b:
    out["after_closing_all"] = b.command("SELECT 1")
print(json.dumps(out))
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    return env


def _run(script: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=180,
        env=_env(),
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_second_process_on_same_directory_gets_a_clear_error(tmp_path: Path) -> None:
    directory = os.path.realpath(tmp_path / "chdb")
    url = f"chdb://{directory}"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=REPO,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"

        refused = _run(CONTENDER, url)
        assert refused["type"] == "ChdbDirectoryLockedError"
        assert refused["pid"] == holder.pid
        assert refused["message"] == (
            f"the chDB directory {directory!r} is in use by process {holder.pid}; "
            "chDB allows one process per data directory"
        )
        assert "CLICKHOUSE_URL" in refused["hint"]
    finally:
        holder.communicate(input="", timeout=60)
    assert holder.returncode == 0

    assert _run(CONTENDER, url) == {"ok": 1}  # the directory is free again


def test_one_directory_per_process(tmp_path: Path) -> None:
    first = os.path.realpath(tmp_path / "a")
    second = os.path.realpath(tmp_path / "b")
    out = _run(TWO_DIRECTORIES, f"chdb://{first}", f"chdb://{second}")
    assert out["error"] == {
        "message": f"this process already runs the chDB engine on {first!r}; chDB hosts one "
        f"data directory per process, so {second!r} cannot be opened",
        "hint": f"close every client on {first!r} first, or use one CLICKHOUSE_URL "
        "for the whole process",
        "open_path": first,
        "requested_path": second,
    }
    assert out["after_closing_one"] == "still refused"
    assert out["after_closing_all"] == 1
