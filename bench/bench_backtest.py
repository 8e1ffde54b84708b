"""Backtest replay speed: stored market events per second, one process, the demo strategy.

Run: ``.venv/bin/python bench/bench_backtest.py [--frames 40000] [--runs 5] [--out FILE]``.

Stores the demo's simulated market (binance and okx, BTC/ETH/SOL; quotes, book updates,
trades) in a temporary chDB directory as the sink does, loads it once with
``load_history`` (timed separately), then replays it through the backtest graph (NBBO,
strategy, risk, router with the paper venues, positions, TCA) with
``examples/demo.toml``'s strategy (``bench_backtest_tca.py``: what TCA adds). Modes,
alternated run by run (ratios within one run hold on a noisy machine):

- ``untimed``: what ``tapewire backtest`` runs (no per-stage Prometheus histogram);
- ``timed``: the graph observing every stage's time, as the live hot path does.

Then one more run with each stage's wall time accumulated (where the time goes) and one
under cProfile (the top functions). Prints JSON lines and a summary; ``--out`` writes the
results file. No thresholds: the figure goes to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_end_to_end import machine

from tapewire.backtest.engine import SimClock, build_graph, replay
from tapewire.backtest.history import MarketEvent, load_history
from tapewire.deploy.config import load_config
from tapewire.sinks.clickhouse.client import connect
from tapewire.sinks.clickhouse.migrations import migrate
from tapewire.streams.hotpath.graph import Node
from tapewire.streams.stages.base import InMsg, OutMsg
from tapewire.streams.stages.config import StreamsConfig
from tapewire.testing.history import store_simulated_history

ROOT = Path(__file__).resolve().parents[1]
SECOND = 1_000_000_000


def _history(frames: int) -> tuple[list[MarketEvent], dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as folder:
        url = f"chdb://{folder}"
        with connect(url, missing_database="ignore") as client:
            migrate(client, "tapewire")
            t0 = time.perf_counter()
            stats = store_simulated_history(client, frames=frames)
            stored = time.perf_counter() - t0
            assert stats.first_ns is not None
            assert stats.last_ns is not None
            t0 = time.perf_counter()
            events = load_history(client, stats.first_ns, stats.last_ns + 1)
            loaded = time.perf_counter() - t0
    info = {
        "frames": frames,
        "market_events": len(events),
        "rows": stats.rows,
        "market_seconds": round((stats.last_ns - stats.first_ns) / SECOND, 3),
        "store_seconds": round(stored, 2),
        "load_seconds": round(loaded, 2),
        "load_events_per_s": round(len(events) / loaded, 1),
    }
    return events, info


def _window(events: list[MarketEvent]) -> dict[str, int]:
    return {
        "start_ns": events[0].receive_ts_ns,
        "end_ns": events[-1].receive_ts_ns + 1,
        "interval_ns": SECOND,
    }


def run_once(config: StreamsConfig, events: list[MarketEvent], mode: str) -> dict[str, Any]:
    if mode == "untimed":
        outputs = replay(config, events, **_window(events))
        seconds, counts = outputs.seconds, outputs.counts
    else:  # the same loop on a graph that observes each stage, as the live hot path does
        clock = SimClock(events[0].receive_ts_ns)
        graph = build_graph(config, clock, timed=True)
        counts = {}

        def publish(topic: str, _out: OutMsg) -> None:
            counts[topic] = counts.get(topic, 0) + 1

        t0 = time.perf_counter()
        for event in events:
            clock.now_ns = max(clock.now_ns, event.key[1])
            graph.push(event.topic, InMsg(None, None, None, None, event.record), publish)
        seconds = time.perf_counter() - t0
    return {
        "mode": mode,
        "events": len(events),
        "seconds": round(seconds, 3),
        "events_per_s": round(len(events) / seconds, 1),
        "outputs": dict(sorted(counts.items())),
    }


def stage_shares(config: StreamsConfig, events: list[MarketEvent]) -> dict[str, Any]:
    """Seconds inside each stage (its own work, the graph's routing excluded)."""
    clock = SimClock(events[0].receive_ts_ns)
    graph = build_graph(config, clock)
    spent: dict[str, float] = {}

    def timed(node: Node) -> Callable[[str, InMsg], list[OutMsg]]:
        run = node.run

        def wrapper(topic: str, msg: InMsg) -> list[OutMsg]:
            t0 = time.perf_counter()
            out = run(topic, msg)
            spent[node.name] = spent.get(node.name, 0.0) + time.perf_counter() - t0
            return out

        return wrapper

    graph.nodes = [Node(n.name, n.inputs, timed(n), n.deferred) for n in graph.nodes]
    graph.subscribers = {
        topic: [next(m for m in graph.nodes if m.name == n.name) for n in nodes]
        for topic, nodes in graph.subscribers.items()
    }
    t0 = time.perf_counter()
    for event in events:
        clock.now_ns = max(clock.now_ns, event.key[1])
        graph.push(event.topic, InMsg(None, None, None, None, event.record), lambda *_: None)
    total = time.perf_counter() - t0
    stages = {name: round(s, 3) for name, s in sorted(spent.items(), key=lambda kv: -kv[1])}
    return {
        "total_seconds": round(total, 3),
        "stage_seconds": stages,
        "graph_and_loop_seconds": round(total - sum(spent.values()), 3),
        "us_per_event": {name: round(s / len(events) * 1e6, 2) for name, s in stages.items()},
    }


def profile(config: StreamsConfig, events: list[MarketEvent], top: int) -> list[str]:
    profiler = cProfile.Profile()
    profiler.enable()
    replay(config, events, **_window(events))
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(top)
    lines = [line.rstrip() for line in text.getvalue().splitlines() if line.strip()]
    return [line.replace(str(ROOT) + "/", "") for line in lines[-(top + 1) :]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40_000, help="simulated md.raw frames")
    parser.add_argument("--runs", type=int, default=5, help="runs per mode (alternated)")
    parser.add_argument("--top", type=int, default=20, help="functions in the profile")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    args = parser.parse_args()
    config = load_config(ROOT / "examples" / "demo.toml").streams_config("bench-backtest")
    events, history = _history(args.frames)
    print(json.dumps(history), flush=True)
    replay(config, events[:2000], **_window(events[:2000]))  # warm-up
    results: list[dict[str, Any]] = []
    load_before = os.getloadavg()[0]
    for i in range(args.runs):
        order = ("untimed", "timed") if i % 2 == 0 else ("timed", "untimed")
        for mode in order:
            result = run_once(config, events, mode)
            results.append(result)
            print(json.dumps(result), flush=True)
    medians = {
        mode: statistics.median(r["events_per_s"] for r in results if r["mode"] == mode)
        for mode in ("untimed", "timed")
    }
    ratios = []
    for i in range(0, len(results), 2):
        rate = {r["mode"]: r["events_per_s"] for r in results[i : i + 2]}
        ratios.append(rate["untimed"] / rate["timed"])
    shares = stage_shares(config, events)
    print(json.dumps(shares), flush=True)
    summary: dict[str, Any] = {
        "benchmark": "bench/bench_backtest.py",
        "machine": machine(),
        "load_avg_1m_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "history": history,
        "runs_per_mode": args.runs,
        "median_events_per_s": medians,
        "untimed_over_timed_median_ratio": round(statistics.median(ratios), 3),
        "stages": shares,
        "profile_top_tottime": profile(config, events, args.top),
        "runs": results,
    }
    print(json.dumps({k: summary[k] for k in ("median_events_per_s", "stages")}, indent=2))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
