"""Instructions per frame of bench_mappers' sides, under callgrind: independent of load.

Run (a venv with cryptofeed, e.g. ``.venv-bench``), one side per process::

    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=OUT.%p \\
        .venv-bench/bin/python bench/instr_mappers.py native|ccxt|cryptofeed|stage \\
        [--passes 3] [--only NAME,...] [--doc]

Each workload of ``bench_mappers.py`` (``all_workloads``, with ``--doc`` its
documentation-derived ones too, or those named by ``--only``) runs
as that script times it (a fresh state per pass, setup frames untimed); only the timed frame
loop is instrumented (callgrind client requests from a tiny C helper compiled here with
``cc``), one dump per workload named after it. Then
``python bench/instr_mappers.py --report OUT.*`` prints ``Ir`` per counted frame. Whether
``native`` runs compiled or pure Python is whatever the tree holds (``make native`` /
``make pure``). ``stage`` runs the whole normalize stage (Avro md.raw in, encoded outputs
out) on the workloads ``bench_mappers.py`` times it on.
"""

from __future__ import annotations

import argparse
import ctypes
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

_HELPER = r"""
#include <valgrind/callgrind.h>
void cg_start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void cg_stop(const char *name) { CALLGRIND_STOP_INSTRUMENTATION; CALLGRIND_DUMP_STATS_AT(name); }
"""


def _helper() -> ctypes.CDLL:
    tmp = Path(tempfile.mkdtemp(prefix="instr-mappers-"))
    (tmp / "cg.c").write_text(_HELPER)
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", tmp / "cg.so", tmp / "cg.c"], check=True)
    return ctypes.CDLL(str(tmp / "cg.so"))


class _Toggle:
    """Stands in for ``time`` in bench_mappers: its runners call ``perf_counter`` exactly at
    the start and the end of the timed frame loop, so that is where counting starts/stops."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        self.lib = lib
        self.on = False
        self.name = b""
        self.process_time = time.process_time

    def perf_counter(self) -> float:
        if self.on:
            self.lib.cg_stop(self.name)
        else:
            self.lib.cg_start()
        self.on = not self.on
        return time.perf_counter()


def run(side: str, passes: int, only: set[str], doc: bool = False) -> None:
    import bench_mappers as bm

    toggle = _Toggle(_helper())
    workloads = bm.all_workloads(2_000, doc)
    if only:
        workloads = [w for w in workloads if w.name in only]
    for w in workloads:
        if side == "stage":
            if "tapewire stage" not in bm.sides(w):
                continue
            runner = bm.stage_side(w)
        elif side == "cryptofeed":
            runner = bm.cryptofeed_side()(w)
        elif f"tapewire {side}" in w.skip:
            continue
        else:
            runner = bm.core_side(bm.CORES[f"tapewire {side}"])(w)
        runner(False)()  # warm-up, uncounted (bm.time is still the real one)
        bm.time = toggle  # type: ignore[assignment]
        for i in range(passes):
            timed = runner(False)  # fresh state and set-up frames: before counting starts
            toggle.name = f"{w.name}|{w.counted}|{i}".encode()
            timed()
        bm.time = time  # type: ignore[assignment]
        print(f"{side}: {w.name}: {passes} passes x {w.counted} frames", flush=True)


def report(files: list[str]) -> None:
    per: dict[tuple[str, str], list[float]] = {}
    for f in files:
        text = Path(f).read_text(errors="replace")
        desc = re.search(r"^desc: Trigger: Client Request: (.*)\|(\d+)\|\d+$", text, re.M)
        cmd = re.search(r"^cmd: .*instr_mappers\.py (\w+)", text, re.M)
        total = re.search(r"^totals: (\d+)", text, re.M)
        if not (desc and cmd and total):
            continue
        per.setdefault((desc.group(1), cmd.group(1)), []).append(
            int(total.group(1)) / int(desc.group(2))
        )
    for (name, side), values in sorted(per.items()):
        print(f"{name:28} {side:11} Ir/frame min {min(values):9.0f}  passes {len(values)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("side", nargs="?", choices=["native", "ccxt", "cryptofeed", "stage"])
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--report", nargs="+", metavar="CALLGRIND_OUT")
    parser.add_argument("--only", default="", help="comma-separated workload names")
    parser.add_argument("--doc", action="store_true", help="documentation-derived workloads too")
    args = parser.parse_args()
    if args.report:
        report(args.report)
    else:
        only = {s.strip() for s in args.only.split(",") if s.strip()}
        run(args.side, args.passes, only, args.doc)


if __name__ == "__main__":
    main()
