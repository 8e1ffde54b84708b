"""Smart order router on replayed two-venue books: price improvement and allocations/s.

Run: ``.venv/bin/python bench/bench_sor.py [--runs 5] [--frames 6000] [--every 200]``.

Each run replays one seeded BTC/USDT simulation (seed 11 + run) on Binance and OKX (their
tick/lot rules, 7.5 and 8 bp taker fees; ``tests/factories/sor.py``) and takes both
venues' books every ``--every`` frames. At each book, for both sides and each parent
size, one parent is executed twice on fresh paper venues: by the SOR over both venues, and
by the same router restricted to the venue with the best fee-adjusted top of book
("single best venue"). The improvement is the difference of the fee-inclusive average
fill prices, in bp of the single venue's (positive = the SOR is better), over the books
where both filled the whole parent; where the single venue's book is too thin, the count
is reported instead. ``allocations/s`` times :func:`allocate` alone (the pure split, levels
already read from the consolidated book). Prints one JSON line per run and a summary;
``--out`` writes them (default ``bench/results/<UTC>-sor-<sha>.json``). No thresholds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tapewire.streams.aggregate.consolidated import ConsolidatedBook
from tapewire.streams.oms import Side
from tapewire.streams.sor import allocate, venue_levels
from tests.factories import INST
from tests.factories.market import book
from tests.factories.sor import (
    SIM_TERMS,
    Snapshot,
    best_single_venue,
    execute,
    improvement_bps,
    replayed_books,
)

ROOT = Path(__file__).resolve().parents[1]
D = Decimal
SIZES = (D(1), D(2), D(4))


def compare(snapshots: list[Snapshot]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for quantity in SIZES:
        bps: list[Decimal] = []
        split = short = 0
        for snapshot in snapshots:
            for side in (Side.BUY, Side.SELL):
                sor = execute([snapshot], side, quantity)
                single = execute(
                    [snapshot], side, quantity, venues=(best_single_venue(snapshot, side),)
                )
                if single.filled < quantity:
                    short += 1
                    continue
                bps.append(
                    improvement_bps(side, sor.avg_price_with_fees, single.avg_price_with_fees)
                )  # type: ignore[arg-type]
                split += len(sor.venues) > 1
        out[str(quantity)] = {
            "trials": 2 * len(snapshots),
            "single_venue_short": short,
            "both_filled": len(bps),
            "sor_split": split,
            "median_bps": float(statistics.median(bps)) if bps else None,
            "mean_bps": round(float(sum(bps) / len(bps)), 5) if bps else None,
            "max_bps": float(max(bps)) if bps else None,
            "min_bps": float(min(bps)) if bps else None,
        }
    return out


def allocations_per_s(snapshots: list[Snapshot], seconds: float = 2.0) -> float:
    venues = {t.venue: t for t in SIM_TERMS}
    cases = []
    for snapshot in snapshots:
        consolidated = ConsolidatedBook()
        for venue, (bids, asks) in sorted(snapshot.books.items()):
            consolidated.add(book(venue, bids, asks, ts=snapshot.ts_ns))
        for side, book_side in ((Side.BUY, "ask"), (Side.SELL, "bid")):
            cases.append((side, venue_levels(consolidated.depth(INST, book_side, 20))))
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for side, levels in cases:
            allocate(side, D(2), levels, venues, instrument=INST)
        n += len(cases)
    return n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--frames", type=int, default=6000)
    parser.add_argument("--every", type=int, default=200)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    runs: list[dict[str, Any]] = []
    for i in range(args.runs):
        t0 = time.perf_counter()
        snapshots = list(replayed_books(seed=11 + i, n_frames=args.frames, every=args.every))
        result = {
            "seed": 11 + i,
            "books": len(snapshots),
            "by_size": compare(snapshots),
            "allocations_per_s": round(allocations_per_s(snapshots), 1),
        }
        result["seconds"] = round(time.perf_counter() - t0, 2)
        runs.append(result)
        print(json.dumps(result), flush=True)
    summary: dict[str, Any] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus",
        "python": platform.python_version(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "runs": args.runs,
        "allocations_per_s_median": statistics.median(r["allocations_per_s"] for r in runs),
    }
    for size in map(str, SIZES):
        medians = [r["by_size"][size]["median_bps"] for r in runs]
        means = [r["by_size"][size]["mean_bps"] for r in runs]
        summary[f"size_{size}"] = {
            "median_of_run_median_bps": statistics.median(m for m in medians if m is not None),
            "median_of_run_mean_bps": statistics.median(m for m in means if m is not None),
            "single_venue_short": sum(r["by_size"][size]["single_venue_short"] for r in runs),
            "trials": sum(r["by_size"][size]["trials"] for r in runs),
        }
    print(json.dumps({"summary": summary}, indent=2))
    sha = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or ROOT / "bench" / "results" / f"{stamp}-sor-{sha or 'nogit'}.json"
    out.write_text(json.dumps({"summary": summary, "runs": runs}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
