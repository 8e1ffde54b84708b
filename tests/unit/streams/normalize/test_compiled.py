"""The mypyc build guard: a compiled module older than its source never runs."""

from __future__ import annotations

import os
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

import tapewire.streams.normalize as normalize
from tapewire.streams.normalize.compiled import (
    REBUILD,
    StaleBuildError,
    check_fresh,
    extensions,
    sources,
    stale,
)

PACKAGE = Path(normalize.__file__).parent


def test_this_tree_is_pure_or_freshly_built() -> None:
    assert stale(PACKAGE) == []
    built = extensions(PACKAGE)
    # all or nothing: the modules plus the group's shared library
    assert len(built) in (0, len(sources(PACKAGE)) + 1)
    check_fresh()


def _package(tmp_path: Path) -> Path:
    here = tmp_path / "normalize"
    for src in sources(PACKAGE):
        dest = here / src.relative_to(PACKAGE)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text("")
    return here


def _build(here: Path) -> None:
    for src in sources(here):
        Path(f"{src.with_suffix('')}{EXTENSION_SUFFIXES[0]}").write_bytes(b"")


def _age(path: Path, seconds: int) -> None:
    st = path.stat()
    os.utime(path, (st.st_atime - seconds, st.st_mtime - seconds))


def test_a_tree_without_extensions_is_pure_and_fine(tmp_path: Path) -> None:
    assert stale(_package(tmp_path)) == []


def test_an_extension_older_than_its_source_is_stale(tmp_path: Path) -> None:
    here = _package(tmp_path)
    _build(here)
    assert stale(here) == []
    ext = next(p for p in here.glob("mappers/okx*") if p.suffix == ".so")
    _age(ext, 60)
    assert stale(here) == [f"{ext.name} is older than okx.py"]


def test_a_new_module_without_its_extension_is_stale(tmp_path: Path) -> None:
    here = _package(tmp_path)
    _build(here)
    (here / "mappers" / "newvenue.py").write_text("")
    assert stale(here) == ["newvenue.py: no compiled extension beside it (a new module?)"]


def test_the_error_names_the_command(tmp_path: Path) -> None:
    here = _package(tmp_path)
    _build(here)
    _age(next(here.glob("decimals*.so")), 60)
    with pytest.raises(StaleBuildError, match=r"decimals\..*\.so is older than decimals\.py"):
        check_fresh(here)
    with pytest.raises(StaleBuildError, match=REBUILD.split(" (")[0]):
        check_fresh(here)
