"""Write every dashboard of :data:`DASHBOARDS` to ``infra/grafana/dashboards/<file>``.

    python -m tapewire.observability.dashboards.build [--check] [DIR]

``--check`` writes nothing and exits 1 naming each file that differs from what the code
generates (the test ``test_committed_json_is_generated`` does the same).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tapewire.observability.dashboards import DASHBOARDS, render

DEFAULT_DIR = Path(__file__).resolve().parents[3] / "infra" / "grafana" / "dashboards"


def stale_files(folder: Path) -> list[Path]:
    """The dashboard files in ``folder`` that are missing or differ from the code."""
    out = []
    for dashboard in DASHBOARDS:
        path = folder / dashboard.file_name
        if not path.exists() or path.read_text(encoding="utf-8") != render(dashboard):
            out.append(path)
    return out


def write_all(folder: Path) -> list[Path]:
    """Write every dashboard's JSON into ``folder``; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for dashboard in DASHBOARDS:
        path = folder / dashboard.file_name
        path.write_text(render(dashboard), encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--check", action="store_true", help="only compare, write nothing")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files(args.folder)
        for path in stale:
            print(
                f"{path} differs from the code: run python -m "
                "tapewire.observability.dashboards.build",
                file=sys.stderr,
            )
        return 1 if stale else 0
    for path in write_all(args.folder):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
