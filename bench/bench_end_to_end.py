"""End to end through the real broker: simulated frames on md.raw -> agents -> sink -> chDB.

Run: ``.venv/bin/python bench/bench_end_to_end.py [--frames 200000] [--runs 1] [--workers 1]
[--json FILE] [--profile DIR]``. Uses ``KAFKA_BOOTSTRAP_SERVERS`` if set, else starts the
local broker (free ports, temporary data directory).

Each run: a seeded simulator run of ``--frames`` frames is encoded and published to a fresh
``md.raw`` first (publishing timed separately). Then, at t0, ``--workers`` Faust worker
processes (normalize, bars, nbbo agents; one consumer group) are started as subprocesses
(``--topology fused``: one hot-path process running normalize, nbbo and bars, as the
normalize role with ``[normalize] fuse = ["bars", "nbbo"]`` does; ``--bars faust`` keeps
the bars in a Faust process of their own, the arrangement before bars were fused),
and the ClickHouse sink runs in this process (its own thread; chDB is one engine per
process) reading every default ``md.*`` topic into a fresh chDB database. The run ends at
the first sink commit after which every table holds all the rows its topics hold, once
md.raw is fully consumed and no topic has grown for ``--quiet`` seconds. Checked at the
end: ``count()`` per table in chDB equals the sink's counts, raw_frames holds every frame,
trades equal the simulator's ground-truth trade count; a digest of the bars table (count
and a sum of row hashes without the wall-clock columns) is printed, to compare the bars
of the two arrangements. Printed: publish time, time to the workers' readiness, md.raw
drained (normalizer through Faust), all rows stored, and the linear extrapolation to
1,000,000 frames when fewer were run (labelled as such).

``--profile DIR`` runs the workers under cProfile (the Faust loop thread and each agent's
executor thread separately) and writes ``DIR/worker<i>-<thread>.pstats``; the sink thread
goes to ``DIR/sink.pstats``.

CPU seconds per component (``cpu`` in the results, also per 100,000 frames), read from
``/proc`` (``bench/proc_cpu.py``) so that they hold on a shared machine where wall time
does not: the simulator (generating the frames), encode + publish (this process) and the
broker during the publish; then from t0 to the moment everything is stored, the broker JVM
(JIT, network + request handlers, GC, other), the hot-path process, the bars (Faust)
process (``--bars faust``) and, in this process, the sink thread, librdkafka's threads and
chDB's threads (the sink's consumer and chDB run here; the monitor thread is reported
apart). Worker start-up (imports, group join, until READY) is reported apart from the
workload.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec
from proc_cpu import Snapshot, by_comm, find_java, jvm_group, snapshot

from tapewire.connectors.capture.simulated import raw_frames
from tapewire.connectors.markets import MARKETS_TOPIC, is_venue_metadata
from tapewire.connectors.simulator import MarketSimulator, SimConfig
from tapewire.core.kafka import producer_config
from tapewire.core.settings import load_settings
from tapewire.runtime.kafka_io import delete_topics
from tapewire.runtime.kafka_resolve import kafka_for
from tapewire.runtime.topics import declare_topics
from tapewire.schemas.codec import Codec
from tapewire.sinks.clickhouse.client import connect
from tapewire.sinks.clickhouse.rows import DEFAULT_TOPICS, mapping_for_topic
from tapewire.sinks.clickhouse.sink import SinkConfig, SinkStats, run_sink
from tapewire.streams.agents.app import create_app, serve
from tapewire.streams.hotpath.gc_tuning import tune_for_throughput
from tapewire.streams.hotpath.worker import run_hot_path
from tapewire.streams.stages.config import DEFAULT_AGENTS, StreamsConfig

MILLION = 1_000_000
MARKET_STAGES = ("normalize", "nbbo", "bars")
BARS_DIGEST = (
    "SELECT count(), sum(cityHash64(venue, instrument, interval, start_ts, end_ts, open, high, "
    "low, close, volume, quote_volume, vwap, trade_count, buy_volume, sell_volume, revision)) "
    "FROM bars"
)
"""The bars rows without the wall clock (process_ts) and Kafka coordinates."""


# -- the worker subprocess -----------------------------------------------------------------


def hot_path_main(args: argparse.Namespace, config: StreamsConfig, stop: threading.Event) -> None:
    """Child process, fused topology: the hot path's market stages (normalize, nbbo, and
    bars unless ``--bars faust``)."""
    tune_for_throughput()  # as the normalize role does (tapewire.deploy.roles)
    ready = threading.Event()
    profile = cProfile.Profile() if args.profile else None

    def announce() -> None:
        ready.wait()
        print("READY", flush=True)

    threading.Thread(target=announce, daemon=True).start()
    if profile is not None:
        profile.enable()
    # as the role runs it: md.markets read when a venue's markets are missing
    run_hot_path(
        load_settings(),
        config,
        stop_event=stop,
        ready=ready,
        bootstrap=args.bootstrap,
        stages=MARKET_STAGES if args.bars == "hotpath" else ("normalize", "nbbo"),
        declare=False,
        codec=Codec(),
    )
    if profile is not None:
        profile.disable()
        out = Path(args.profile)
        out.mkdir(parents=True, exist_ok=True)
        profile.dump_stats(str(out / f"worker{args.index}-hotpath.pstats"))


def worker_main(args: argparse.Namespace) -> None:
    """Child process: one Faust worker (or the hot path) until SIGTERM; prints READY."""
    import asyncio

    config = StreamsConfig(app_id=args.app_id, topic_prefix=args.prefix, partitions=args.partitions)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if args.role == "hotpath":
        hot_path_main(args, config, stop)
        return
    agents = DEFAULT_AGENTS if args.role == "agents" else ("bars",)
    profiles: dict[str, cProfile.Profile] = {}

    async def main() -> None:
        app = create_app(load_settings(), config, agents=agents, bootstrap=args.bootstrap)

        async def wait_stop() -> None:
            if args.profile:
                profiles["loop"] = cProfile.Profile()
                profiles["loop"].enable()
                for i, executor in enumerate(app.executors):
                    prof = profiles[f"agent{i}"] = cProfile.Profile()
                    executor.submit(prof.enable).result()
            print("READY", flush=True)
            while not stop.is_set():
                await asyncio.sleep(0.05)
            if args.profile:
                profiles["loop"].disable()
                for i, executor in enumerate(app.executors):
                    executor.submit(profiles[f"agent{i}"].disable).result()

        await serve(app, wait_stop)

    asyncio.run(main())
    if args.profile:
        out = Path(args.profile)
        out.mkdir(parents=True, exist_ok=True)
        for name, prof in profiles.items():
            prof.dump_stats(str(out / f"worker{args.index}-{name}.pstats"))


# -- the parent ------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """CPU model, cores, RAM, Python, kernel."""
    cpu = platform.processor() or platform.machine()
    ram_gb = 0.0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": ram_gb,
        "python": platform.python_version(),
        "kernel": f"{platform.system()} {platform.release()}",
    }


def publish(bootstrap: str, topic: str, items: Sequence[tuple[bytes, bytes]]) -> None:
    """Produce ``items`` with an idempotent producer (acks=all); raise on any failure."""
    producer = Producer(
        producer_config(bootstrap)
        | {
            "linger.ms": 20,
            "batch.num.messages": 10_000,
            "queue.buffering.max.messages": 200_000,
        }
    )
    errors: list[str] = []

    def on_delivery(err: Any, _msg: Any) -> None:
        if err is not None:
            errors.append(str(err))

    produce = producer.produce
    for key, value in items:
        while True:
            try:
                produce(topic, value, key, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    remaining = producer.flush(300)
    if remaining or errors:
        raise SystemExit(f"publishing failed: {remaining} undelivered, errors {errors[:3]}")


class Watch:
    """Sink progress (time, rows per table) as the sink commits, from its callback."""

    def __init__(self) -> None:
        self.history: list[tuple[float, dict[str, int]]] = []
        self.lock = threading.Lock()

    def __call__(self, stats: SinkStats) -> None:
        with self.lock:
            self.history.append((time.perf_counter(), dict(stats.rows)))

    def latest(self) -> dict[str, int]:
        with self.lock:
            return dict(self.history[-1][1]) if self.history else {}

    def reached(self, expected: dict[str, int]) -> float | None:
        """Time of the first commit after which every table held its expected rows."""
        with self.lock:
            for t, rows in self.history:
                if all(rows.get(table, 0) >= n for table, n in expected.items()):
                    return t
        return None


def _ends(admin: AdminClient, topics: Sequence[str], partitions: int) -> dict[str, int]:
    """Records per topic (end - start offsets), with two ListOffsets requests for all
    partitions (one per partition and watermark would load the measured broker)."""
    tps = [TopicPartition(t, p) for t in topics for p in range(partitions)]
    total = dict.fromkeys(topics, 0)
    for spec, sign in ((OffsetSpec.latest(), 1), (OffsetSpec.earliest(), -1)):
        futures = admin.list_offsets({tp: spec for tp in tps}, request_timeout=10)
        for tp, future in futures.items():
            total[tp.topic] += sign * future.result().offset
    return total


def _committed(consumer: Consumer, topic: str, partitions: int) -> int:
    """The group's committed offsets on ``topic``, summed; 0 while the broker answers with a
    retriable error (``NOT_COORDINATOR`` on a loaded broker moving the group): asked again
    at the next poll."""
    try:
        tps = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        if isinstance(error, KafkaError) and error.retriable():
            return 0
        raise
    return sum(max(tp.offset, 0) for tp in tps)


def _per_100k(cpu: dict[str, Any], frames: int) -> dict[str, Any]:
    return {
        k: _per_100k(v, frames) if isinstance(v, dict) else round(v * 100_000 / frames, 2)
        for k, v in cpu.items()
    }


def _dead_letter_reasons(bootstrap: str, topic: str, limit: int = 2000) -> dict[str, int]:
    """Counts of (error type: first 80 characters of the reason) of ``topic``'s first
    ``limit`` dead letters, to say why a run failed."""
    serde = Codec().for_topic("dlq.normalize")
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"e2e-dlq-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    reasons: dict[str, int] = {}
    seen, deadline = 0, time.monotonic() + 20
    while seen < limit and time.monotonic() < deadline:
        for msg in consumer.consume(500, timeout=1.0):
            if msg.error() is None:
                letter = serde.decode(msg.value() or b"")
                why = f"{letter['error_type']}: {str(letter['reason'])[:80]}"
                reasons[why] = reasons.get(why, 0) + 1
                seen += 1
    consumer.close()
    return reasons


def one_run(
    bootstrap: str,
    frames: list[dict[str, Any]],
    trades: int,
    args: argparse.Namespace,
    broker_pid: int | None = None,
) -> dict[str, Any]:
    """Publish, run the workers and the sink, return the timings of this run."""
    tag = uuid.uuid4().hex[:8]
    prefix = f"e2e{tag}."
    config = StreamsConfig(app_id=f"e2e-{tag}", topic_prefix=prefix, partitions=args.partitions)
    declare_topics(bootstrap, config)
    codec = Codec()
    encode, key = codec.for_topic("md.raw").encode, codec.key
    me = os.getpid()

    def broker() -> Snapshot | None:
        return snapshot(broker_pid) if broker_pid is not None else None

    cpu: dict[str, Any] = {}
    started, self0 = time.perf_counter(), snapshot(me)
    items = [(key("md.raw", f), encode(f)) for f in frames]
    encode_s = time.perf_counter() - started
    # as a connector does (tapewire.connectors.markets): the venue-wide REST frames go to
    # md.markets first, so a worker whose partitions lack a venue's markets finds them
    metadata = [(key(MARKETS_TOPIC, f), encode(f)) for f in frames if is_venue_metadata(f)]
    started, self1, broker0 = time.perf_counter(), snapshot(me), broker()
    publish(bootstrap, config.topics.markets, metadata)
    publish(bootstrap, config.topics.raw, items)
    publish_s = time.perf_counter() - started
    self2, broker1 = snapshot(me), broker()
    cpu["encode"] = round(self1.total - self0.total, 2)
    cpu["publish (producer)"] = round(self2.total - self1.total, 2)
    if broker0 is not None and broker1 is not None:
        cpu["broker during publish"] = broker1.minus(broker0).grouped(jvm_group)
    del items

    sink_topics = {f"{prefix}{t}": t for t in DEFAULT_TOPICS}
    tables: dict[str, list[str]] = {}
    for kafka_name, canonical in sink_topics.items():
        tables.setdefault(mapping_for_topic(canonical).table, []).append(kafka_name)
    work = Path(tempfile.mkdtemp(prefix="tapewire-e2e-"))
    url, database = f"chdb://{work / 'chdb'}", f"e2e_{tag}"
    load_before = os.getloadavg()
    watch, stop_sink = Watch(), threading.Event()
    sink_result: dict[str, Any] = {}

    def sink() -> None:
        sink_result["tid"] = threading.get_native_id()
        profile = cProfile.Profile() if args.profile else None
        if profile is not None:
            profile.enable()
        try:
            sink_result["stats"] = run_sink(
                load_settings(data_dir=work / "data"),
                stop_event=stop_sink,
                config=SinkConfig(topics=sink_topics, group_id=f"e2e-sink-{tag}"),
                bootstrap=bootstrap,
                clickhouse_url=url,
                database=database,
                on_progress=watch,
            )
        except BaseException as exc:  # reported by the parent
            sink_result["error"] = exc
        finally:
            if profile is not None:
                profile.disable()
                Path(args.profile).mkdir(parents=True, exist_ok=True)
                profile.dump_stats(str(Path(args.profile) / "sink.pstats"))

    t0 = time.perf_counter()
    self_t0, broker_t0 = snapshot(me), broker()
    workers_ready: list[Snapshot] = []
    workers = []
    if args.topology == "agents":
        roles = ["agents"] * args.workers
    else:
        roles = ["hotpath", "bars"] if args.bars == "faust" else ["hotpath"]
    for i, role in enumerate(roles):
        cmd = [
            sys.executable,
            __file__,
            "--child-worker",
            "--index",
            str(i),
            "--bootstrap",
            bootstrap,
            "--prefix",
            prefix,
            "--app-id",
            config.app_id,
            "--partitions",
            str(args.partitions),
            "--role",
            role,
            "--bars",
            args.bars,
        ]
        if args.profile:
            cmd += ["--profile", args.profile]
        workers.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True))
    sink_thread = threading.Thread(target=sink, name="e2e-sink", daemon=True)
    sink_thread.start()
    ready_at: list[float] = []

    def wait_ready(proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.strip() == "READY":
                ready_at.append(time.perf_counter())

    for proc in workers:
        threading.Thread(target=wait_ready, args=(proc,), daemon=True).start()

    group = config.app_id + ("-hotpath" if args.topology == "fused" else "")
    probe = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "log.connection.close": False}
    )
    admin = AdminClient({"bootstrap.servers": bootstrap, "log.connection.close": False})
    raw_done = None
    stable_since, last_ends = time.perf_counter(), dict[str, int]()
    deadline = t0 + args.timeout
    expected: dict[str, int] = {}
    try:
        while True:
            time.sleep(0.25)
            now = time.perf_counter()
            if "error" in sink_result:
                raise SystemExit(f"the sink failed: {sink_result['error']!r}")
            if any(p.poll() is not None for p in workers):
                raise SystemExit("a worker process exited early")
            if now > deadline:
                raise SystemExit(f"not done within {args.timeout} s: {watch.latest()}")
            if not workers_ready and len(ready_at) == len(workers):
                workers_ready = [snapshot(p.pid) for p in workers]
            if raw_done is None and _committed(probe, config.topics.raw, args.partitions) >= len(
                frames
            ):
                raw_done = now
            ends = _ends(admin, list(sink_topics), args.partitions)
            if ends != last_ends:
                last_ends, stable_since = ends, now
            if raw_done is None or now - stable_since < args.quiet:
                continue
            expected = {t: sum(ends[k] for k in names) for t, names in tables.items()}
            if watch.reached(expected) is not None:
                break
        workers_end = [snapshot(p.pid) for p in workers]
        self_end, broker_end = snapshot(me), broker()
        dlq = f"{prefix}dlq.normalize"
        normalizer_dead_letters = _ends(admin, [dlq], args.partitions)[dlq]
        if normalizer_dead_letters:
            print("dead letters:", _dead_letter_reasons(bootstrap, dlq), flush=True)
    finally:
        probe.close()
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        for proc in workers:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        stop_sink.set()
        sink_thread.join(120)
    done = watch.reached(expected)
    assert done is not None
    load_after = os.getloadavg()
    stats: SinkStats = sink_result["stats"]
    with connect(url, database=database) as client:
        stored = {t: int(str(client.command(f"SELECT count() FROM {t}"))) for t in tables}
        bars_digest = str(client.command(BARS_DIGEST))
    delete_topics(bootstrap, config.topics.all())
    # raw_frames has a 30-day TTL on receive_ts and the simulator's clock starts in 2024:
    # chDB drops those parts right away, so raw rows are checked by the sink's insert count.
    inserted = {t: stats.rows.get(t, 0) for t in tables}
    problems = []
    if {**stored, "raw_frames": 0} != {**inserted, "raw_frames": 0}:
        problems.append(f"chDB counts {stored} != sink counts {stats.rows}")
    if inserted["raw_frames"] != len(frames):
        problems.append(f"raw_frames inserted {inserted['raw_frames']} != {len(frames)} frames")
    if stored["trades"] != trades:
        problems.append(f"trades {stored['trades']} != ground truth {trades}")
    if normalizer_dead_letters:
        problems.append(f"{normalizer_dead_letters} dead letters on dlq.normalize")
    if stats.dead_letters:
        problems.append(f"{stats.dead_letters} dead letters in the sink")
    if problems:
        raise SystemExit("; ".join(problems))
    for role, ready_snap, end in zip(
        roles, workers_ready or [None] * len(roles), workers_end, strict=True
    ):
        name = {"hotpath": "hot path process", "bars": "bars process (Faust)"}.get(role, role)
        used = end.minus(ready_snap).grouped(by_comm({end.pid: "python main"}))
        cpu[name] = {"startup (until READY)": ready_snap.total if ready_snap else None} | used
    labels = {sink_result["tid"]: "sink thread", me: "monitor (benchmark main thread)"}
    cpu["sink process"] = self_end.minus(self_t0).grouped(by_comm(labels))
    if broker_end is not None:
        cpu["broker"] = broker_end.minus(broker_t0).grouped(jvm_group)
    ready = max(ready_at) if ready_at else t0
    total_rows = sum(inserted.values())
    e2e = done - t0
    return {
        "frames": len(frames),
        "encode_s": round(encode_s, 3),
        "publish_s": round(publish_s, 3),
        "publish_frames_per_s": round(len(frames) / publish_s),
        "workers_ready_s": round(ready - t0, 3),
        "raw_drained_s": round((raw_done or done) - t0, 3),
        "normalizer_frames_per_s": round(len(frames) / max((raw_done or done) - ready, 1e-9)),
        "e2e_s": round(e2e, 3),
        "e2e_from_ready_s": round(done - ready, 3),
        "rows": inserted,
        "bars_digest": bars_digest,
        "sink_inserts": stats.inserts,
        "sink_commits": stats.commits,
        "total_rows": total_rows,
        "rows_per_s": round(total_rows / e2e),
        # startup once, the rest scaled linearly with the frame count
        "extrapolated_1m_s": round(ready - t0 + (done - ready) * MILLION / len(frames), 1),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in load_after],
        "cpu_s": cpu,
        "cpu_s_per_100k_frames": _per_100k(cpu, len(frames)),
    }


def main() -> None:
    """Parse arguments; run as the benchmark or as one of its worker processes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1, help="Faust worker processes")
    parser.add_argument(
        "--topology",
        choices=("agents", "fused"),
        default="agents",
        help="agents: Faust workers (normalize, bars, nbbo); fused: one hot-path process "
        "(normalize, nbbo, bars; docs/hot-path.md)",
    )
    parser.add_argument(
        "--bars",
        choices=("hotpath", "faust"),
        default="hotpath",
        help="fused topology: bars in the hot-path process, or in a Faust process of their "
        "own reading md.trades (the arrangement before bars were fused)",
    )
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quiet", type=float, default=3.0, help="s without new records = done")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--profile", help="cProfile the workers into this directory")
    parser.add_argument("--child-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--role", default="agents", help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    parser.add_argument("--app-id", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_worker:
        worker_main(args)
        return
    started, cpu_started = time.perf_counter(), time.process_time()
    sim = MarketSimulator(SimConfig(seed=args.seed, n_frames=args.frames))
    frames = list(raw_frames(sim.frames()))
    trades = sim.ground_truth.trade_count
    simulate_s = time.perf_counter() - started
    simulate_cpu_s = time.process_time() - cpu_started
    runs = []
    with ExitStack() as stack:
        data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="tapewire-e2e-kafka-"))
        settings = load_settings(data_dir=Path(data_dir))
        target = stack.enter_context(kafka_for(settings, any_free_port=True))
        broker_pid = find_java(data_dir)
        for i in range(args.runs):
            run = one_run(target.bootstrap_servers, frames, trades, args, broker_pid)
            run["cpu_s"]["simulator"] = round(simulate_cpu_s, 2)
            run["cpu_s_per_100k_frames"]["simulator"] = round(
                simulate_cpu_s * 100_000 / len(frames), 2
            )
            runs.append(run)
            print(
                f"run {i + 1}: {run['frames']:,} frames, publish {run['publish_s']:.1f} s; "
                f"workers ready {run['workers_ready_s']:.1f} s, md.raw drained "
                f"{run['raw_drained_s']:.1f} s ({run['normalizer_frames_per_s']:,} frames/s), "
                f"all {run['total_rows']:,} rows stored {run['e2e_s']:.1f} s "
                f"({run['rows_per_s']:,} rows/s); load {run['load_before'][0]:.2f} -> "
                f"{run['load_after'][0]:.2f}",
                flush=True,
            )
            print("CPU s per 100,000 frames:", json.dumps(run["cpu_s_per_100k_frames"]), flush=True)
            print(f"bars rows, digest: {run['bars_digest']}", flush=True)
    e2e = [r["e2e_s"] for r in runs]
    summary = {
        "benchmark": "end_to_end",
        "machine": machine(),
        "kafka": target.description,
        "config": {
            "frames": len(frames),
            "seed": args.seed,
            "workers": args.workers,
            "topology": args.topology,
            "bars": args.bars if args.topology == "fused" else "agents",
            "partitions": args.partitions,
            "sink": "in the benchmark process (thread), chDB",
            "simulate_s": round(simulate_s, 2),
            "simulate_cpu_s": round(simulate_cpu_s, 2),
        },
        "runs": runs,
        "median_e2e_s": statistics.median(e2e),
        "median_extrapolated_1m_s": statistics.median(r["extrapolated_1m_s"] for r in runs),
    }
    m = summary["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB, Python {m['python']}")
    print(
        f"median end to end: {summary['median_e2e_s']:.1f} s for {len(frames):,} frames"
        + (
            ""
            if len(frames) >= MILLION
            else f" -> {summary['median_extrapolated_1m_s']:.0f} s for 1,000,000 frames "
            "(linear extrapolation, not measured)"
        )
    )
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
