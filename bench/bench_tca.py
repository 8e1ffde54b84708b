"""What the TCA stage costs the fused hot path, no Kafka: md.raw frames/s with and without it.

Run: ``.venv/bin/python bench/bench_tca.py [--frames 6000] [--runs 5] [--out FILE]``.

The graph of ``bench_hotpath_graph.py`` (two simulated venues, one instrument, an IOC order
on every 10th quote: normalize, NBBO, strategy, risk, router, positions) with the ``tca``
node (deferred, reads approvals, events, fills, NBBO, quotes and trades) and without it,
alternated run by run. Rates are per CPU second of this process (``process_time``: less
sensitive to other jobs on a shared machine than wall time); ``tca_node_share`` is the
part of the run's wall time the graph measured inside the TCA node. Prints one JSON line
per run and a summary with the medians, the ratio per pair (with / without) and the TCA
reports made; ``--out`` writes a results file. No thresholds: compare within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_hotpath_graph import config, frames  # type: ignore[import-not-found]

from tapewire.core import metrics
from tapewire.schemas.codec import Codec
from tapewire.streams.hotpath.worker import DEFAULT_STAGES, build_hot_path
from tapewire.streams.stages.base import InMsg, OutMsg

MODES = {"with_tca": DEFAULT_STAGES, "without_tca": tuple(s for s in DEFAULT_STAGES if s != "tca")}


def _node_seconds(node: str) -> float:
    """Wall seconds the graph measured in ``node`` so far (its histogram's sum)."""
    for family in metrics.REGISTRY.collect():
        if family.name == "tapewire_stream_batch_seconds":
            for sample in family.samples:
                if sample.name.endswith("_sum") and sample.labels.get("agent") == f"hotpath:{node}":
                    return float(sample.value)
    return 0.0


def run_once(codec: Codec, msgs: list[InMsg], mode: str) -> dict[str, Any]:
    graph = build_hot_path(codec, config(), stages=MODES[mode]).graph
    counts: dict[str, int] = {}

    def publish(canonical: str, _out: OutMsg) -> None:
        counts[canonical] = counts.get(canonical, 0) + 1

    tca_before = _node_seconds("tca")
    t0, c0 = time.perf_counter(), time.process_time()
    for msg in msgs:
        graph.push("md.raw", msg, publish)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "mode": mode,
        "frames": len(msgs),
        "seconds": round(seconds, 4),
        "cpu_seconds": round(cpu, 4),
        "frames_per_s": round(len(msgs) / seconds, 1),
        "frames_per_cpu_s": round(len(msgs) / cpu, 1),
        "tca_node_share": round((_node_seconds("tca") - tca_before) / seconds, 4),
        "fills": counts.get("oms.fills", 0),
        "tca_reports": counts.get("tca", 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=6000)
    parser.add_argument("--runs", type=int, default=5, help="runs per mode (alternated)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    args = parser.parse_args()
    codec = Codec()
    msgs = frames(codec, args.frames)
    run_once(codec, msgs[:500], "with_tca")  # warm-up: imports, ccxt markets, codec serdes
    load_before = os.getloadavg()[0]
    results: list[dict[str, Any]] = []
    for i in range(args.runs):
        order = ("with_tca", "without_tca") if i % 2 == 0 else ("without_tca", "with_tca")
        for mode in order:
            result = run_once(codec, msgs, mode)
            results.append(result)
            print(json.dumps(result), flush=True)
    with_runs = [r for r in results if r["mode"] == "with_tca"]
    without_runs = [r for r in results if r["mode"] == "without_tca"]
    pairs = [
        a["frames_per_cpu_s"] / b["frames_per_cpu_s"]
        for a, b in zip(with_runs, without_runs, strict=True)
    ]
    summary = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus",
        "python": platform.python_version(),
        "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "frames": len(msgs),
        "runs_per_mode": args.runs,
        "with_tca_median_frames_per_cpu_s": statistics.median(
            r["frames_per_cpu_s"] for r in with_runs
        ),
        "without_tca_median_frames_per_cpu_s": statistics.median(
            r["frames_per_cpu_s"] for r in without_runs
        ),
        "tca_node_share_median": statistics.median(r["tca_node_share"] for r in with_runs),
        "with_over_without_median": round(statistics.median(pairs), 3),
        "with_over_without_range": [round(min(pairs), 3), round(max(pairs), 3)],
        "fills_per_run": with_runs[0]["fills"],
        "tca_reports_per_run": with_runs[0]["tca_reports"],
    }
    print(json.dumps(summary), flush=True)
    if args.out is not None:
        args.out.write_text(json.dumps({"summary": summary, "runs": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
