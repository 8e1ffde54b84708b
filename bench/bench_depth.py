"""Consolidated depth stage: ``md.book`` updates per second through ``DepthStage``.

Run: ``.venv/bin/python bench/bench_depth.py [--runs 5] [--frames 20000] [--levels 10]
[--interval-ns 100000000]`` (``--interval-ns 0``: a snapshot for every change).

The updates are the ``md.book`` records the real normalizer makes from a seeded simulator
run (Binance and OKX, BTC/USDT and ETH/USDT), encoded as on Kafka. Each run times the
stage over all of them, alternated with the BBO-from-books stage as a reference (same
book building, a small quote on each top change): one message per call with the record
attached (the hot path's nodes), and the depth stage on batches of 500 message bytes (the
Faust agent, decoding included; a batch publishes one snapshot per consolidated id).
Reported: updates/s, outputs, and depth/BBO within each run. Prints one JSON line per
run and a summary (median of runs, load, machine); ``--out`` writes them (default
``bench/results/<UTC>-depth-<sha>.json``). No thresholds.
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

from tapewire.connectors.capture.simulated import raw_frames
from tapewire.connectors.simulator import MarketSimulator, SimConfig
from tapewire.schemas.codec import Codec
from tapewire.streams.aggregate import DepthConfig
from tapewire.streams.normalize import Normalizer
from tapewire.streams.stages.base import InMsg, Stage
from tapewire.streams.stages.bbo import BboStage
from tapewire.streams.stages.depth import DepthStage

ROOT = Path(__file__).resolve().parents[1]
CODEC = Codec()
FEES = {"binance": Decimal("7.5"), "okx": Decimal(8)}


def book_messages(frames: int) -> list[InMsg]:
    """The run's md.book records as the hot path hands them on: bytes and the record."""
    records = list(raw_frames(MarketSimulator(SimConfig(seed=7, n_frames=frames)).frames()))
    books = Normalizer().process_batch(records)["md.book"]
    return [
        InMsg(0, i, CODEC.key("md.book", b), CODEC.encode("md.book", b), b)
        for i, b in enumerate(books)
    ]


def timed(stage: Stage, msgs: list[InMsg], batch: int) -> tuple[float, int]:
    published = 0
    t0 = time.perf_counter()
    for start in range(0, len(msgs), batch):
        published += len(stage.process(msgs[start : start + batch]))
    return len(msgs) / (time.perf_counter() - t0), published


def depth_stage(levels: int, interval_ns: int) -> DepthStage:
    config = DepthConfig(levels=levels, taker_fee_bps=FEES, interval_ns=interval_ns)
    return DepthStage(CODEC, config=config)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--levels", type=int, default=10)
    parser.add_argument("--interval-ns", type=int, default=DepthConfig().interval_ns)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    msgs = book_messages(args.frames)
    as_bytes = [InMsg(m.partition, m.offset, m.key, m.value) for m in msgs]
    runs: list[dict[str, Any]] = []
    for i in range(args.runs):
        bbo, bbo_out = timed(BboStage(CODEC), msgs, 1)
        one, one_pub = timed(depth_stage(args.levels, args.interval_ns), msgs, 1)
        many, many_pub = timed(depth_stage(args.levels, args.interval_ns), as_bytes, 500)
        run = {
            "run": i,
            "updates": len(msgs),
            "per_message_updates_per_s": round(one, 1),
            "per_message_snapshots": one_pub,
            "bbo_per_message_updates_per_s": round(bbo, 1),
            "bbo_quotes": bbo_out,
            "depth_vs_bbo": round(one / bbo, 3),
            "batch500_bytes_updates_per_s": round(many, 1),
            "batch500_snapshots": many_pub,
            "load_avg_1m": round(os.getloadavg()[0], 2),
        }
        runs.append(run)
        print(json.dumps(run), flush=True)
    summary = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cpus",
        "python": platform.python_version(),
        "levels": args.levels,
        "interval_ns": args.interval_ns,
        "per_message_median": statistics.median(r["per_message_updates_per_s"] for r in runs),
        "bbo_per_message_median": statistics.median(
            r["bbo_per_message_updates_per_s"] for r in runs
        ),
        "depth_vs_bbo_median": statistics.median(r["depth_vs_bbo"] for r in runs),
        "batch500_bytes_median": statistics.median(r["batch500_bytes_updates_per_s"] for r in runs),
    }
    print(json.dumps({"summary": summary}, indent=2))
    sha = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or ROOT / "bench" / "results" / f"{stamp}-depth-{sha or 'nogit'}.json"
    out.write_text(json.dumps({"summary": summary, "runs": runs}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
