"""Normalizer throughput through Faust on the real broker: md.raw -> md.trades/book/quotes.

Run: ``.venv/bin/python bench/bench_pipeline.py [--frames 20000] [--runs 3] [--batch 2000]``.
Uses ``KAFKA_BOOTSTRAP_SERVERS`` if set, else starts the local broker (free ports, temporary
data directory). Each run publishes a seeded simulator run to a fresh ``md.raw`` first, then
starts one in-process worker with only the ``normalize`` agent and times it from its first
batch to its last (backlog drain: the worker's capacity, not the producer's). Printed: the
median frames/s, the batch sizes Faust handed the agent, where the time went (the pure
core alone on the same frames, the agent's process/send phases, the rest = Faust), and the
machine. No thresholds: numbers only (see docs/streams.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tapewire.connectors.capture.simulated import publish_raw, raw_frames
from tapewire.connectors.simulator import MarketSimulator, SimConfig
from tapewire.core import metrics
from tapewire.core.settings import load_settings
from tapewire.runtime.kafka_io import delete_topics
from tapewire.runtime.kafka_resolve import kafka_for
from tapewire.runtime.topics import declare_topics
from tapewire.schemas.codec import Codec
from tapewire.streams.agents.app import run_worker
from tapewire.streams.normalize import Normalizer
from tapewire.streams.stages.config import StreamsConfig
from tapewire.streams.stages.normalize import NormalizeStage


def _sample(name: str, labels: dict[str, str]) -> float:
    value = metrics.REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else value


def one_run(bootstrap: str, frames: list[dict[str, Any]], batch: int) -> dict[str, float]:
    """Publish ``frames``, drain them with a normalize-only worker; timings of the drain."""
    tag = uuid.uuid4().hex[:10]
    config = StreamsConfig(
        app_id=f"bench-{tag}", topic_prefix=f"bench{tag}.", partitions=1, batch_size=batch
    )
    declare_topics(bootstrap, config)
    publish_raw(bootstrap, config.topics.raw, frames, Codec())
    agent = {"agent": "normalize"}
    before = {
        "count": _sample("tapewire_stream_batch_size_count", agent),
        "sum": _sample("tapewire_stream_batch_size_sum", agent),
        "process": _sample("tapewire_stream_batch_seconds_sum", agent | {"phase": "process"}),
        "send": _sample("tapewire_stream_batch_seconds_sum", agent | {"phase": "send"}),
    }
    stop, ready = threading.Event(), threading.Event()
    thread = threading.Thread(
        target=run_worker,
        args=(load_settings(),),
        kwargs={
            "config": config,
            "agents": ("normalize",),
            "stop_event": stop,
            "ready": ready,
            "bootstrap": bootstrap,
            "declare": False,
        },
        daemon=True,
    )
    thread.start()
    first = last = None
    try:
        ready.wait(60)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            done = _sample("tapewire_stream_batch_size_sum", agent) - before["sum"]
            now = time.perf_counter()
            if done > 0 and first is None:
                first = now
            if done >= len(frames):
                last = now
                break
            time.sleep(0.005)
    finally:
        stop.set()
        thread.join(60)
        delete_topics(bootstrap, config.topics.all())
    if first is None or last is None:
        raise SystemExit("the worker did not drain md.raw within 600 s")
    batches = _sample("tapewire_stream_batch_size_count", agent) - before["count"]
    process = _sample("tapewire_stream_batch_seconds_sum", agent | {"phase": "process"})
    send = _sample("tapewire_stream_batch_seconds_sum", agent | {"phase": "send"})
    seconds = last - first
    return {
        "seconds": seconds,
        "fps": len(frames) / seconds,
        "batches": batches,
        "mean_batch": len(frames) / batches,
        "process_s": process - before["process"],
        "send_s": send - before["send"],
    }


def pure_core(frames: list[dict[str, Any]]) -> tuple[float, float]:
    """Seconds of the pure Normalizer alone, and of the whole stage (codec both ways)."""
    t0 = time.perf_counter()
    Normalizer().process_batch(frames)
    core = time.perf_counter() - t0
    codec = Codec()
    encode = codec.for_topic("md.raw").encode
    from tapewire.streams.stages.base import InMsg

    msgs = [InMsg(0, i, None, encode(f)) for i, f in enumerate(frames)]
    stage = NormalizeStage(codec)
    t0 = time.perf_counter()
    for i in range(0, len(msgs), 2000):
        stage.process(msgs[i : i + 2000])
    return core, time.perf_counter() - t0


def main() -> None:
    """Parse arguments, run, print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sim = MarketSimulator(SimConfig(seed=args.seed, n_frames=args.frames))
    frames = list(raw_frames(sim.frames()))
    core_s, stage_s = pure_core(frames)
    with ExitStack() as stack:
        data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="tapewire-bench-"))
        settings = load_settings(data_dir=Path(data_dir))
        target = stack.enter_context(kafka_for(settings, any_free_port=True))
        runs = [one_run(target.bootstrap_servers, frames, args.batch) for _ in range(args.runs)]
    med = statistics.median(r["fps"] for r in runs)
    n = len(frames)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )
    print(f"kafka: {target.description}")
    print(
        f"workload: simulator seed {args.seed}, {n} frames (binance+okx, 3 instruments), "
        f"take_events({args.batch}, within=0.05)"
    )
    print(f"pure Normalizer.process_batch: {n / core_s:,.0f} frames/s")
    print(f"NormalizeStage (decode + core + encode): {n / stage_s:,.0f} frames/s")
    for i, r in enumerate(runs, 1):
        other = r["seconds"] - r["process_s"] - r["send_s"]
        print(
            f"run {i}: {r['fps']:,.0f} frames/s through Faust ({r['seconds']:.2f} s; "
            f"{r['batches']:.0f} batches, mean {r['mean_batch']:.0f} frames; "
            f"process {r['process_s']:.2f} s, send+delivery {r['send_s']:.2f} s, "
            f"Faust/other {other:.2f} s)"
        )
    print(f"median: {med:,.0f} frames/s per worker process")


if __name__ == "__main__":
    main()
