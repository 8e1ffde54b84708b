"""Run every Tapewire benchmark N times; medians, ranges, machine; a results file per run.

Run: ``.venv/bin/python bench/run_all.py [--runs 3] [--only normalizer,sink,...]
[--e2e-frames 200000] [--sink-rows 200000] [--pipeline-frames 20000]``.

Benchmarks (see docs/benchmarks.md for method and targets):

- ``normalizer``: frames/s of one process, in process, on a seeded simulator run
  (binance + okx, trades, book deltas and snapshots, BBO): the pure core
  (``Normalizer.process_batch``) and the whole agent stage (Avro decode + core + encode);
  plus ``bench/bench_normalize.py``'s Binance trade and book-delta workloads;
- ``pipeline``: the normalize agent alone through Faust on the real broker
  (``bench/bench_pipeline.py``, backlog drain);
- ``sink``: rows/s of the ClickHouse sink (``bench/bench_sink.py``): broker -> chDB end to
  end, insert only, decode + map;
- ``e2e``: simulated frames on md.raw -> agents -> sink -> rows in chDB through the real
  broker (``bench/bench_end_to_end.py``), seconds, with the extrapolation to 1,000,000.

Writes ``bench/results/<UTC date>-<git sha>.json`` (machine, load averages before and
after each benchmark, every run) and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_end_to_end import machine  # noqa: E402

BENCHMARKS = ("normalizer", "pipeline", "sink", "sink-steady", "e2e")

TARGETS: dict[str, tuple[str, float]] = {
    "normalizer stage, simulator mix": (">=", 50_000),
    "normalizer core, simulator mix": (">=", 50_000),
    "normalizer core, binance trades": (">=", 50_000),
    "normalizer core, binance book deltas": (">=", 50_000),
    "normalize agent through Faust": (">=", 50_000),
    "sink end to end (broker -> chDB)": (">=", 200_000),
    "sink steady state (first to last commit)": (">=", 200_000),
    "end to end, 1,000,000 frames (s)": ("<=", 60),
}


class Results:
    """Figures by name: unit, every run, the load average around each run."""

    def __init__(self) -> None:
        self.figures: dict[str, dict[str, Any]] = {}

    def add(
        self, name: str, unit: str, value: float, load: tuple[float, float], **extra: Any
    ) -> None:
        figure = self.figures.setdefault(name, {"unit": unit, "runs": [], "load": []})
        figure["runs"].append(round(value, 3))
        figure["load"].append([round(load[0], 2), round(load[1], 2)])
        figure.update(extra)

    def summary(self) -> dict[str, dict[str, Any]]:
        out = {}
        for name, fig in self.figures.items():
            runs = fig["runs"]
            target = TARGETS.get(name)
            out[name] = {
                **fig,
                "median": statistics.median(runs),
                "min": min(runs),
                "max": max(runs),
                "target": None if target is None else f"{target[0]} {target[1]:,}",
            }
            if target is not None:
                op, bound = target
                med = out[name]["median"]
                out[name]["meets_target"] = med >= bound if op == ">=" else med <= bound
        return out


def _load() -> float:
    return os.getloadavg()[0]


def _timed(results: Results, name: str, unit: str, fn: Callable[[], float], **extra: Any) -> None:
    before = _load()
    value = fn()
    results.add(name, unit, value, (before, _load()), **extra)


def _script(args: list[str]) -> str:
    proc = subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stdout[-2000:]}{proc.stderr[-4000:]}")
    return proc.stdout


def run_normalizer(results: Results, runs: int) -> None:
    """In-process normalizer figures (no Kafka)."""
    import bench_normalize

    from tapewire.connectors.capture.simulated import raw_frames
    from tapewire.connectors.simulator import MarketSimulator, SimConfig
    from tapewire.schemas.codec import Codec
    from tapewire.streams.normalize import Normalizer
    from tapewire.streams.stages.base import InMsg
    from tapewire.streams.stages.normalize import NormalizeStage

    frames = list(raw_frames(MarketSimulator(SimConfig(seed=7, n_frames=40_000)).frames()))
    codec = Codec()
    encode = codec.for_topic("md.raw").encode
    msgs = [InMsg(0, i, None, encode(f)) for i, f in enumerate(frames)]

    def core() -> float:
        started = time.perf_counter()
        Normalizer().process_batch(frames)
        return len(frames) / (time.perf_counter() - started)

    def stage() -> float:
        s = NormalizeStage(codec)
        started = time.perf_counter()
        for i in range(0, len(msgs), 2000):
            s.process(msgs[i : i + 2000])
        return len(msgs) / (time.perf_counter() - started)

    for _ in range(runs):
        _timed(results, "normalizer core, simulator mix", "frames/s", core, frames=len(frames))
        _timed(results, "normalizer stage, simulator mix", "frames/s", stage, frames=len(frames))
        for name, make in (
            ("trades", bench_normalize.trades),
            ("book deltas", bench_normalize.deltas),
        ):
            _timed(
                results,
                f"normalizer core, binance {name}",
                "frames/s",
                lambda make=make: bench_normalize.measure(make, 20_000, 1),  # type: ignore[misc]
                frames=20_000,
            )


def run_pipeline(results: Results, runs: int, frames: int) -> None:
    """``bench_pipeline.py``: the normalize agent through Faust, one worker."""
    before = _load()
    out = _script(["bench/bench_pipeline.py", "--frames", str(frames), "--runs", str(runs)])
    after = _load()
    for rate in re.findall(r"^run \d+: ([\d,]+) frames/s", out, re.M):
        results.add(
            "normalize agent through Faust",
            "frames/s",
            float(rate.replace(",", "")),
            (before, after),
            frames=frames,
        )


def run_sink(results: Results, runs: int, rows: int) -> None:
    """``bench_sink.py``: rows/s of the sink, insert only, decode + map."""
    before = _load()
    out = _script(["bench/bench_sink.py", "--rows", str(rows), "--repeat", str(runs)])
    after = _load()
    names = {
        "sink e2e": "sink end to end (broker -> chDB)",
        "insert only": "sink insert only (mapped rows -> chDB)",
        "decode + map": "sink decode + map",
        "avro insert": "sink Avro insert only (message values -> chDB)",
    }
    for line in out.splitlines():
        for prefix, name in names.items():
            if line.startswith(prefix):
                values = line[len(prefix) :].split()[1:]
                for value in values:
                    results.add(
                        name,
                        "rows/s",
                        float(value.strip(",").replace(",", "")),
                        (before, after),
                        rows=rows,
                    )


def run_sink_steady(results: Results, runs: int, rows: int) -> None:
    """The sink on a backlog of encoded trades: rows/s from its first commit to its last
    (steady state), and from the call (startup included: migrations, group join); each
    run also with the Avro insert off (every record decoded in Python), for comparison.
    Every run checks that chDB holds all the rows."""
    import threading
    import uuid

    from bench_end_to_end import publish
    from bench_sink import _trade

    from tapewire.core.settings import load_settings
    from tapewire.runtime.kafka_io import create_topic
    from tapewire.runtime.kafka_resolve import kafka_for
    from tapewire.schemas.codec import Codec
    from tapewire.sinks.clickhouse.client import connect
    from tapewire.sinks.clickhouse.sink import SinkConfig, SinkStats, run_sink

    codec = Codec()
    trades = [_trade(i) for i in range(rows)]
    items = [(codec.key("md.trades", t), codec.encode("md.trades", t)) for t in trades]
    with tempfile.TemporaryDirectory(prefix="tapewire-bench-sink-") as tmp:
        work = Path(tmp)
        settings = load_settings(data_dir=work / "data")
        with kafka_for(settings, any_free_port=True) as kafka:
            bootstrap = kafka.bootstrap_servers
            topic = f"md.trades.bench{uuid.uuid4().hex[:6]}"
            create_topic(bootstrap, topic, partitions=1)
            publish(bootstrap, topic, items)
            url = f"chdb://{work / 'chdb'}"
            for run in range(runs):
                for avro in (True, False):
                    commits: list[tuple[float, int]] = []

                    def progress(stats: SinkStats, out: list[tuple[float, int]] = commits) -> None:
                        out.append((time.perf_counter(), stats.rows.get("trades", 0)))

                    database = f"bench_steady_{run}_{'avro' if avro else 'python'}"
                    before = _load()
                    started = time.perf_counter()
                    stats = run_sink(
                        settings,
                        stop_event=threading.Event(),
                        config=SinkConfig(
                            topics={topic: "md.trades"},
                            group_id=f"bench-{uuid.uuid4().hex[:8]}",
                            stop_when_caught_up=True,
                            avro_insert=avro,
                        ),
                        bootstrap=bootstrap,
                        clickhouse_url=url,
                        database=database,
                        on_progress=progress,
                    )
                    total = time.perf_counter() - started
                    assert stats.rows.get("trades") == rows, stats
                    with connect(url, database=database) as client:
                        stored = int(str(client.command("SELECT count() FROM trades")))
                    assert stored == rows, f"{stored} rows in chDB, expected {rows}"
                    load = (before, _load())
                    (t_first, n_first), (t_last, n_last) = commits[0], commits[-1]
                    steady = (n_last - n_first) / (t_last - t_first) if t_last > t_first else 0.0
                    extra = {"rows": rows, "commits": len(commits)}
                    if not avro:
                        results.add(
                            "sink steady state, Python decode (Avro insert off)",
                            "rows/s",
                            steady,
                            load,
                            **extra,
                        )
                        continue
                    results.add(
                        "sink steady state (first to last commit)", "rows/s", steady, load, **extra
                    )
                    results.add(
                        "sink incl. startup (call to caught up)",
                        "rows/s",
                        rows / total,
                        load,
                        **extra,
                    )


def run_e2e(results: Results, runs: int, frames: int, workers: int) -> dict[str, Any]:
    """``bench_end_to_end.py``: md.raw -> agents -> sink -> chDB."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "e2e.json"
        _script(
            [
                "bench/bench_end_to_end.py",
                "--frames",
                str(frames),
                "--runs",
                str(runs),
                "--workers",
                str(workers),
                "--json",
                str(path),
            ]
        )
        report: dict[str, Any] = json.loads(path.read_text())
    label = f"{workers} worker process{'es' if workers > 1 else ''} + sink process"
    for run in report["runs"]:
        load = (run["load_before"][0], run["load_after"][0])
        extra = {"frames": frames, "config": label}
        results.add(f"end to end, {frames:,} frames (s)", "s", run["e2e_s"], load, **extra)
        results.add(
            "end to end, 1,000,000 frames (s)",
            "s (extrapolated)" if frames < 1_000_000 else "s",
            run["extrapolated_1m_s"],
            load,
            **extra,
        )
        results.add("end to end, rows stored per s", "rows/s", run["rows_per_s"], load, **extra)
        results.add(
            "end to end, normalize agent (md.raw drained)",
            "frames/s",
            run["normalizer_frames_per_s"],
            load,
            **extra,
        )
        results.add("end to end, publish to md.raw", "frames/s", run["publish_frames_per_s"], load)
    return report


def git_sha() -> str:
    """Short HEAD, ``-dirty`` when the work tree has changes."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    sha = git("rev-parse", "--short", "HEAD") or "nogit"
    return sha + ("-dirty" if git("status", "--porcelain") else "")


def table(summary: dict[str, dict[str, Any]]) -> str:
    """The markdown table of the summary."""
    lines = [
        "| figure | unit | median | range | runs | target | load (1 min) |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for name, fig in summary.items():
        fmt = "{:,.1f}" if fig["median"] < 1000 else "{:,.0f}"
        loads = [x for pair in fig["load"] for x in pair]
        target = fig["target"] or ""
        if "meets_target" in fig:
            target += " (met)" if fig["meets_target"] else " (not met)"
        lines.append(
            f"| {name} | {fig['unit']} | {fmt.format(fig['median'])} | "
            f"{fmt.format(fig['min'])} to {fmt.format(fig['max'])} | {len(fig['runs'])} | "
            f"{target} | {min(loads):.1f} to {max(loads):.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Run the chosen benchmarks, write the results file, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated subset")
    parser.add_argument("--e2e-frames", type=int, default=200_000)
    parser.add_argument("--e2e-workers", type=int, default=1)
    parser.add_argument(
        "--sink-rows", type=int, default=100_000, help="bench_sink.py (at most 100,000)"
    )
    parser.add_argument("--steady-rows", type=int, default=300_000)
    parser.add_argument("--pipeline-frames", type=int, default=20_000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args()
    chosen = [b.strip() for b in args.only.split(",") if b.strip()]
    unknown = sorted(set(chosen) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {', '.join(BENCHMARKS)}")
    results = Results()
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    jobs: dict[str, Callable[[], object]] = {
        "normalizer": lambda: run_normalizer(results, args.runs),
        "pipeline": lambda: run_pipeline(results, args.runs, args.pipeline_frames),
        "sink": lambda: run_sink(results, args.runs, args.sink_rows),
        "sink-steady": lambda: run_sink_steady(results, args.runs, args.steady_rows),
        "e2e": lambda: run_e2e(results, args.runs, args.e2e_frames, args.e2e_workers),
    }
    errors: dict[str, str] = {}
    for name in BENCHMARKS:
        if name in chosen:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            try:
                jobs[name]()
            except (Exception, SystemExit) as exc:  # record it, run the others
                errors[name] = str(exc)[-2000:]
                print(f"{name} failed: {errors[name]}", file=sys.stderr, flush=True)
    summary = results.summary()
    sha = git_sha()
    report = {
        "started": started.isoformat(timespec="seconds"),
        "git": sha,
        "machine": machine(),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "wall_s": round(time.perf_counter() - t0, 1),
        "runs": args.runs,
        "figures": summary,
        "errors": errors,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{started:%Y%m%dT%H%M%SZ}-{sha}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    m = report["machine"]
    print(
        f"machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM, Python {m['python']}, "
        f"{m['kernel']}; load {report['load_before']} -> {report['load_after']}; git {sha}"
    )
    print(table(summary))
    for name, error in errors.items():
        print(f"FAILED {name}: {error.splitlines()[-1] if error else ''}")
    print(f"results: {path}")


if __name__ == "__main__":
    main()
