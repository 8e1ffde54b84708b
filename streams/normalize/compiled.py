"""Which normalize modules ``make native`` compiles with mypyc, and the stale-build guard.

The native per-frame path (native venues, books, decimals, dedup, the venue mappers) may
run as C extensions built in place by ``setup_native.py``; the ``.py`` beside each is the
source and the fallback (``make pure`` removes the extensions). ``events.py`` and the
``*_wire.py`` modules (msgspec structs), the package ``__init__`` modules and everything
off the hot path stay interpreted.

An extension older than its ``.py`` would silently run old code: :func:`check_fresh` (run
when :mod:`tapewire.streams.normalize` is imported) refuses that, and a mapper module added
without a rebuild (an interpreted subclass of a compiled ``Mapper``) too, naming the command
that fixes it. Loaded by path from ``setup_native.py``: standard library only.
"""

from __future__ import annotations

from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

GROUP = "tapewire.streams.normalize"
"""mypyc group: its shared library is ``normalize__mypyc`` beside this package."""
_TOP = ("native.py", "decimals.py", "dedup.py")
# normalizer.py stays interpreted: a compiled class refuses interpreted subclasses (tests
# subclass Normalizer) and it is not where the per-frame time of the native path goes
_INTERPRETED = frozenset({"__init__.py", "events.py"})
_WIRE = "_wire.py"
"""Suffix of the mappers' typed wire-frame modules (msgspec structs): interpreted too."""
REBUILD = "make native (or `make pure` to run the pure-Python modules)"


def sources(here: Path) -> list[Path]:
    """The compiled modules' sources in this package's directory ``here``."""
    found = [here / name for name in _TOP]
    for sub in ("books", "mappers"):
        found += sorted(
            p
            for p in (here / sub).glob("*.py")
            if p.name not in _INTERPRETED and not p.name.endswith(_WIRE)
        )
    return found


def _extensions(source: Path) -> list[Path]:
    stem = source.with_suffix("")
    return [p for p in (Path(f"{stem}{s}") for s in EXTENSION_SUFFIXES) if p.exists()]


def extensions(here: Path) -> list[Path]:
    """Every extension module in this package's directory ``here`` (listed or left over
    from an earlier list) and the group's shared library beside the package."""
    found = [p for p in sorted(here.rglob("*.so")) if p.name.endswith(tuple(EXTENSION_SUFFIXES))]
    return found + sorted(here.parent.glob(f"{here.name}__mypyc.*"))


def stale(package_dir: Path) -> list[str]:
    """Problems of the in-place build of this package: empty when there is none (pure
    Python) or when every compiled module's extension is newer than its source."""
    built = {src: _extensions(src) for src in sources(package_dir)}
    if not any(built.values()):
        return []
    listed = {ext for exts in built.values() for ext in exts}
    problems = [
        f"{ext.name}: not a compiled module's (left from an earlier build)"
        for ext in extensions(package_dir)
        if ext not in listed and "__mypyc." not in ext.name
    ]
    for src, exts in built.items():
        if not exts:
            problems.append(f"{src.name}: no compiled extension beside it (a new module?)")
        for ext in exts:
            if ext.stat().st_mtime < src.stat().st_mtime:
                problems.append(f"{ext.name} is older than {src.name}")
    return problems


class StaleBuildError(ImportError):
    """A compiled normalize module would shadow a newer ``.py``."""


def check_fresh(here: Path | None = None) -> None:
    """Raise :class:`StaleBuildError` naming the rebuild command when the build of this
    package (or of the package directory ``here``) is stale."""
    problems = stale(here or Path(__file__).resolve().parent)
    if problems:
        shown = "; ".join(problems[:5]) + (
            f"; +{len(problems) - 5} more" if len(problems) > 5 else ""
        )
        raise StaleBuildError(
            f"tapewire.streams.normalize: the mypyc build is stale ({shown}): run {REBUILD}"
        )
