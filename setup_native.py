"""Compile the normalizer's per-frame modules with mypyc, in place (``make native``).

``python setup_native.py``: builds a C extension beside each module of
:func:`tapewire.streams.normalize.compiled.sources` when one is missing or older than its
source, else does nothing. The ``.py`` stays the source of truth and the fallback:
``python setup_native.py --pure`` (``make pure``) removes the extensions;
``--if-built`` (every ``make setup``) rebuilds only a tree that has a build. Needs mypy (a dev
dependency, which ships mypyc) and a C compiler. Build files go to ``build/mypyc``.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
PACKAGE = ROOT / "tapewire" / "streams" / "normalize"  # through the tapewire/streams symlink
BUILD = ROOT / "build" / "mypyc"
# loaded by path: importing the package would run its stale-build check
_spec = importlib.util.spec_from_file_location("compiled", PACKAGE / "compiled.py")
assert _spec is not None
assert _spec.loader is not None
compiled = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compiled)


def pure() -> None:
    """Remove every extension of the in-place build: the modules run as Python."""
    for ext in compiled.extensions(PACKAGE):
        ext.unlink()
    shutil.rmtree(BUILD, ignore_errors=True)


def needs_build() -> bool:
    built = compiled.extensions(PACKAGE)
    if not built or compiled.stale(PACKAGE):
        return True
    oldest = min(ext.stat().st_mtime for ext in built)
    tools = (Path(__file__), PACKAGE / "compiled.py")
    return any(path.stat().st_mtime > oldest for path in tools)


def build() -> None:
    from mypyc.build import mypycify
    from setuptools import setup

    pure()  # a module no longer in the list must not keep a stale extension
    start = time.monotonic()
    setup(
        name="tapewire-native",
        ext_modules=mypycify(
            [str(p.relative_to(ROOT)) for p in compiled.sources(PACKAGE)],
            group_name=compiled.GROUP,
            target_dir=str(BUILD / "c"),
        ),
        script_args=[
            "--quiet",
            "build_ext",
            "--inplace",
            f"--build-temp={BUILD / 'temp'}",
            f"--build-lib={BUILD / 'lib'}",
        ],
    )
    # setuptools keeps the old mtime of an extension whose C did not change: stamp them
    # all, so that "older than its .py" means "not rebuilt since"
    for ext in compiled.extensions(PACKAGE):
        ext.touch()
    built = len(compiled.extensions(PACKAGE))
    print(f"mypyc: {built} extensions built in {time.monotonic() - start:.0f} s")


def main() -> None:
    if sys.argv[1:] == ["--pure"]:
        pure()
        print("mypyc: extensions removed, tapewire.streams.normalize runs as Python")
    elif sys.argv[1:] == ["--if-built"]:  # keep an existing build fresh, never start one
        if compiled.extensions(PACKAGE) and needs_build():
            build()
    elif sys.argv[1:] in ([], ["--force"]):
        if sys.argv[1:] or needs_build():
            build()
        else:
            print("mypyc: extensions up to date")
    else:
        raise SystemExit("usage: python setup_native.py [--force | --if-built | --pure]")


if __name__ == "__main__":
    main()
