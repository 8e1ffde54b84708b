"""Soak: ``tapewire run all`` on the demo deployment for an hour; RSS of every role.

Run: ``make soak`` (or ``.venv/bin/python bench/soak.py [--minutes 60] [--every 10]``;
needs the ``soak`` extra for the plot: ``pip install -e '.[soak]'``).

Starts ``run all`` on ``examples/demo.toml`` (local Kafka started by ``run all``, chDB,
the simulator at the demo's 2,000 frames/s, paper trading) in a fresh data directory,
samples the resident set size (``VmRSS`` of ``/proc/<pid>/status``) of every role process
and of the broker JVM every ``--every`` seconds, then writes to ``bench/results/``:

- ``<stamp>-soak-<sha>.csv``: elapsed seconds, process, RSS MiB;
- ``<stamp>-soak-<sha>.png``: RSS per process over time;
- ``<stamp>-soak-<sha>.json``: machine, per-process RSS at 10 min / half-time / end, the
  growth over the second half (the target: under 5 %), restarts, frames and stored rows.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_end_to_end import machine  # noqa: E402

ROLES = ("connector", "normalize", "aggregate", "trade", "sink")


def _children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (from /proc/<pid>/task/*/children)."""
    out: list[int] = []
    stack = [pid]
    while stack:
        parent = stack.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
            out += kids
            stack += kids
    return out


def _name(pid: int) -> str | None:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    words = [a.decode(errors="replace") for a in argv]
    if any("kafka.Kafka" in w for w in words):
        return "kafka broker"
    if "run" in words:
        after = words[words.index("run") + 1 : words.index("run") + 2]
        if after and after[0] in ROLES:
            return after[0]
    return None


def _rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _at(samples: list[tuple[float, float]], t: float) -> float:
    """The median RSS of the samples within 60 s of ``t`` (smooths GC sawtooth)."""
    near = sorted(v for s, v in samples if abs(s - t) <= 60) or [samples[-1][1]]
    return near[len(near) // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--config", type=Path, default=ROOT / "examples" / "demo.toml")
    args = parser.parse_args()
    duration = int(args.minutes * 60)
    sha = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = ROOT / "bench" / "results" / f"{stamp}-soak-{sha}"
    work = Path(tempfile.mkdtemp(prefix="tapewire-soak-"))
    env = os.environ | {"TAPEWIRE_DATA_DIR": str(work / "data"), "TAPEWIRE_KAFKA_PORT": "29092"}
    logs = work / "logs"
    print(f"soak: {args.minutes:g} min of run all on {args.config}; work dir {work}", flush=True)
    started = time.monotonic()
    command = [sys.executable, "-m", "tapewire.cli", "run", "all", "--config", str(args.config)]
    supervisor = subprocess.Popen(
        [*command, "--duration", str(duration), "--log-dir", str(logs)],
        env=env,
        cwd=work,
        stdout=(work / "run-all.out").open("wb"),
        stderr=subprocess.STDOUT,
    )
    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    pids_seen: dict[str, set[int]] = defaultdict(set)
    rows: list[tuple[float, str, float]] = []
    try:
        while supervisor.poll() is None:
            elapsed = time.monotonic() - started
            for pid in _children(supervisor.pid):
                name = _name(pid)
                rss = _rss_mib(pid) if name else None
                if name and rss is not None:
                    series[name].append((elapsed, rss))
                    pids_seen[name].add(pid)
                    rows.append((round(elapsed, 1), name, round(rss, 1)))
            if int(elapsed) % 300 < args.every:
                latest = {n: round(s[-1][1]) for n, s in series.items() if s}
                print(f"soak: {elapsed / 60:5.1f} min  RSS MiB {latest}", flush=True)
            time.sleep(args.every)
    except KeyboardInterrupt:
        supervisor.send_signal(signal.SIGINT)
    supervisor.wait(120)
    total = time.monotonic() - started

    stored = subprocess.run(
        [sys.executable, "-m", "tapewire.cli", "sql", "SELECT count() FROM raw_frames FINAL"],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    delivered = [
        line
        for line in (logs / "connector.log").read_text(errors="replace").splitlines()
        if "frames delivered" in line
    ]
    summary: dict[str, Any] = {
        "machine": machine(),
        "config": str(
            args.config.relative_to(ROOT) if args.config.is_relative_to(ROOT) else args.config
        ),
        "minutes": round(total / 60, 1),
        "sample_every_s": args.every,
        "exit_code": supervisor.returncode,
        "processes": {},
        "connector": delivered[-1:] or None,
        "raw_frames_stored": stored,
    }
    half = total / 2
    for name, samples in sorted(series.items()):
        warm, mid, end = _at(samples, 600), _at(samples, half), _at(samples, samples[-1][0])
        summary["processes"][name] = {
            "pids": len(pids_seen[name]),
            "rss_mib_at_10min": round(warm, 1),
            "rss_mib_at_half": round(mid, 1),
            "rss_mib_at_end": round(end, 1),
            "rss_mib_max": round(max(v for _, v in samples), 1),
            "growth_second_half_pct": round(100 * (end - mid) / mid, 2),
        }
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.with_suffix(".csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(("elapsed_s", "process", "rss_mib"))
        writer.writerows(rows)
    out.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
    _plot(series, out.with_suffix(".png"), summary)
    print(json.dumps(summary["processes"], indent=2))
    print(f"soak: results in {out}.{{csv,json,png}}; logs in {logs}")
    return 0 if supervisor.returncode == 0 else 1


def _plot(
    series: dict[str, list[tuple[float, float]]], path: Path, summary: dict[str, Any]
) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("soak: matplotlib missing (pip install -e '.[soak]'): no plot", file=sys.stderr)
        return
    fig, ax = plt.subplots(figsize=(10, 5))
    for name, samples in sorted(series.items()):
        ax.plot([t / 60 for t, _ in samples], [v for _, v in samples], label=name)
    ax.set_xlabel("minutes")
    ax.set_ylabel("RSS (MiB)")
    cpu = summary["machine"].get("cpu", "")
    ax.set_title(f"tapewire run all, demo config: RSS per process ({cpu})")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    raise SystemExit(main())
