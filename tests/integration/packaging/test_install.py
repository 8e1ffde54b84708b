"""A regular (non-editable) install into a fresh virtualenv, used from outside the checkout.

Builds the wheel, installs it with its dependencies into a new venv, then from a temporary
directory imports every ``tapewire.*`` module, runs ``tapewire --help`` and reads
``pip show -f tapewire``: the only top-level name installed must be ``tapewire``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

IMPORT_ALL = """
import pkgutil, sys
import tapewire
assert "site-packages" in tapewire.__file__, tapewire.__file__
names = sorted(
    m.name for m in pkgutil.walk_packages(tapewire.__path__, "tapewire.")
    if not m.name.endswith("__main__")
)
for name in names:
    __import__(name)
from tapewire.schemas.codec import Codec
from tapewire.sinks.clickhouse.migrations import load_migrations
Codec()
assert len(load_migrations()) >= 1
print(len(names))
print("\\n".join(n for n in names if n.count(".") == 1))
"""


def _run(args: list[str], cwd: Path) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done.stdout


@pytest.mark.integration
def test_wheel_in_a_fresh_venv_installs_only_the_tapewire_namespace(tmp_path: Path) -> None:
    # Build from a copy: setuptools writes build/ and *.egg-info/ next to the sources.
    source = tmp_path / "source"
    shutil.copytree(
        ROOT,
        source,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "*.egg-info", ".tapewire", ".*_cache", "__pycache__"
        ),
    )
    wheels = tmp_path / "wheels"
    _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(source)],
        source,
    )
    (wheel,) = wheels.glob("tapewire-*.whl")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    python, pip = venv / "bin" / "python", venv / "bin" / "pip"
    _run([str(pip), "install", "-q", str(wheel)], tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()

    imported = _run([str(python), "-c", IMPORT_ALL], outside).split()
    assert int(imported[0]) > 100
    assert set(imported[1:]) >= {
        "tapewire.cli",
        "tapewire.connectors",
        "tapewire.core",
        "tapewire.runtime",
        "tapewire.schemas",
        "tapewire.sinks",
        "tapewire.streams",
        "tapewire.testing",
    }
    assert "Usage: tapewire" in _run([str(venv / "bin" / "tapewire"), "--help"], outside)

    shown = _run([str(pip), "show", "-f", "tapewire"], outside)
    files = shown.split("Files:\n", 1)[1].split()
    top = {f.split("/")[0] for f in files if not f.startswith("..")}
    assert {t for t in top if not t.endswith(".dist-info")} == {"tapewire"}
    (top_level,) = venv.glob("lib/python3*/site-packages/tapewire-*.dist-info/top_level.txt")
    assert top_level.read_text().split() == ["tapewire"]
    for name in ("schemas", "streams", "connectors", "sinks"):
        bare = _run(
            [str(python), "-c", f"import importlib.util as u; print(u.find_spec({name!r}))"],
            outside,
        )
        assert bare.strip() == "None", f"{name} is importable as a top-level package: {bare}"
