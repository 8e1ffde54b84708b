"""Broker CPU seconds per 100,000 frames, by JVM profile, with the JIT and network threads
broken out (issue 10: "efficient use of the broker").

Run: ``.venv/bin/python bench/bench_broker_cpu.py [--frames 100000] [--runs 3]``.

Each run starts a fresh one-node local broker with a JVM profile, publishes ``--frames``
simulator frames to ``md.raw`` (the demo feed's producer settings) and drains them through
the normalize hot path (the role's consumer and producer settings, outputs on md.trades,
md.book, md.quotes), then reads the broker JVM's CPU time per thread from
``/proc/<pid>/task/*/stat``: C1/C2 compiler threads (JIT), the ``data-plane-kafka-*``
network and request-handler threads (one group: Linux keeps 15 characters of a thread
name), GC threads, the rest. A thread that ended during the run (a compiler thread) takes
its CPU time with it, so a group can come out slightly negative. The
start-up (format, boot, topic creation) is measured apart from the workload. Profiles
alternate run by run; medians and ranges go to ``bench/results/<stamp>-broker-cpu-<sha>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from bench_end_to_end import machine  # noqa: E402
from confluent_kafka import Producer  # noqa: E402

from tapewire.connectors.capture.paced import feed_producer_config  # noqa: E402
from tapewire.connectors.capture.simulated import simulator_records  # noqa: E402
from tapewire.connectors.simulator import SimConfig  # noqa: E402
from tapewire.core.settings import load_settings  # noqa: E402
from tapewire.runtime.kafka_local import LocalKafkaCluster  # noqa: E402
from tapewire.runtime.kafka_local.cluster import (  # noqa: E402
    DEFAULT_JVM_OPTIONS,
    KAFKA_SCRIPT_JVM_OPTIONS,
)
from tapewire.runtime.topics import declare_topics  # noqa: E402
from tapewire.schemas.codec import Codec  # noqa: E402
from tapewire.streams.hotpath.worker import HotPathWorker, build_hot_path  # noqa: E402
from tapewire.streams.stages.config import StreamsConfig  # noqa: E402

PROFILES: dict[str, tuple[str, ...]] = {
    "g1-default": KAFKA_SCRIPT_JVM_OPTIONS,
    "c1-serial": DEFAULT_JVM_OPTIONS,
}
"""``g1-default``: Kafka's start-script G1 settings, tiered JIT up to C2 (the local broker
before 2026-12-03). ``c1-serial``: the client compiler only (no C2 compilations: they cost
the most CPU on a short-lived broker) and the serial collector (no concurrent GC threads
on 2 cores): the local broker's default since."""

TICK = os.sysconf("SC_CLK_TCK")


def _threads(pid: int) -> dict[str, float]:
    """CPU seconds per thread group of ``pid``."""
    out: dict[str, float] = defaultdict(float)
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            comm = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds = (int(fields[11]) + int(fields[12])) / TICK
        if "CompilerThre" in comm:
            group = "jit"
        elif comm.startswith("data-plane-kaf") or "network-thre" in comm:
            # network and request-handler threads share the 15-character name prefix
            group = "network + request handlers"
        elif "GC" in comm or comm.startswith("G1 "):
            group = "gc"
        else:
            group = "other"
        out[group] += seconds
    out["total"] = sum(out.values())
    return dict(out)


def _diff(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: round(after.get(k, 0.0) - before.get(k, 0.0), 2) for k in after}


def one_run(profile: str, frames: list[dict[str, Any]], work: Path) -> dict[str, Any]:
    settings = load_settings()
    with LocalKafkaCluster(
        work / "kafka",
        nodes=1,
        version=settings.kafka_version,
        cache_dir=settings.kafka_cache_dir,
        base_port=None,
        jvm_options=PROFILES[profile],
    ) as cluster:
        pid = cluster.pid(0)
        assert pid is not None
        bootstrap = cluster.bootstrap_servers
        config = StreamsConfig(topic_prefix="bench.", partitions=6)
        declare_topics(bootstrap, config)
        startup = _threads(pid)
        codec = Codec()
        started = time.monotonic()
        producer = Producer(feed_producer_config(bootstrap))
        encode = codec.for_topic("md.raw").encode
        for record in frames:
            while True:
                try:
                    producer.produce(config.topics.raw, encode(record), codec.key("md.raw", record))
                    break
                except BufferError:
                    producer.poll(0.05)
            producer.poll(0)
        producer.flush(60)
        hot = build_hot_path(codec, config, stages=("normalize",))
        worker = HotPathWorker(bootstrap, config, hot, group_id="bench-normalize")
        stop = threading.Event()
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        thread.start()
        deadline = time.monotonic() + 600
        while worker.stats.consumed < len(frames) and time.monotonic() < deadline:
            time.sleep(0.2)
        stop.set()
        thread.join(60)
        seconds = time.monotonic() - started
        workload = _diff(_threads(pid), startup)
    per_100k = {k: round(v * 100_000 / len(frames), 2) for k, v in workload.items()}
    return {
        "profile": profile,
        "startup_cpu_s": {k: round(v, 2) for k, v in startup.items()},
        "workload_cpu_s": workload,
        "cpu_s_per_100k_frames": per_100k,
        "wall_s": round(seconds, 1),
        "consumed": worker.stats.consumed,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    frames = list(simulator_records(SimConfig(seed=5, n_frames=args.frames, ground_truth=False)))
    runs: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    for i in range(args.runs):
        for profile in PROFILES if i % 2 == 0 else reversed(PROFILES):
            with tempfile.TemporaryDirectory(prefix="tapewire-broker-cpu-") as tmp:
                result = one_run(profile, frames, Path(tmp))
            print(json.dumps(result), flush=True)
            runs.append(result)
    summary: dict[str, Any] = {}
    for profile in PROFILES:
        mine = [r for r in runs if r["profile"] == profile]
        summary[profile] = {
            key: {
                "median": statistics.median(r[field].get(key, 0.0) for r in mine),
                "range": [
                    min(r[field].get(key, 0.0) for r in mine),
                    max(r[field].get(key, 0.0) for r in mine),
                ],
            }
            for field, keys in (
                (
                    "cpu_s_per_100k_frames",
                    ("total", "jit", "network + request handlers", "gc"),
                ),
            )
            for key in keys
        }
        summary[profile]["startup_total_cpu_s_median"] = statistics.median(
            r["startup_cpu_s"]["total"] for r in mine
        )
        summary[profile]["wall_s_median"] = statistics.median(r["wall_s"] for r in mine)
    sha = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = ROOT / "bench" / "results" / f"{stamp}-broker-cpu-{sha}.json"
    out.write_text(
        json.dumps(
            {
                "machine": machine(),
                "load_before": load_before,
                "load_after": os.getloadavg(),
                "frames": args.frames,
                "profiles": {k: list(v) for k, v in PROFILES.items()},
                "summary": summary,
                "runs": runs,
            },
            indent=2,
        )
        + "\n"
    )
    print(json.dumps(summary, indent=2))
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
