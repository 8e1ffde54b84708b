"""Tick-to-order latency through the real broker: a frame on md.raw -> the paper venue's submit.

Run: ``.venv/bin/python bench/bench_tick_to_order.py [--samples 200] [--warmup 20]
[--configs 2000:0.05,2000:0.001,2000:0.0001,1:0.05] [--modes thread,subprocess]
[--trigger nbbo|quote] [--json FILE]``. Uses ``KAFKA_BOOTSTRAP_SERVERS`` (or ``--bootstrap``)
if set, else starts the local broker (free ports) and stops it at the end.

Each configuration (``batch_size:batch_within_s``, worker in a thread of this process or in
a subprocess) gets a fresh topic prefix and consumer group, one partition per topic. The
worker runs the real agents (normalize, bars, nbbo-rekey, nbbo, strategy, risk, router,
positions); the router's one paper venue is wrapped so that ``submit`` records
``time.time_ns()`` (t1) before the real paper venue runs. The strategy is bench-local
(:class:`TriggerStrategy`): every quote (``--trigger quote``) or NBBO (``--trigger nbbo``)
that comes from a bench frame emits exactly one IOC limit order, alternating sides, and
stamps the upstream timestamps into the request's tags (per-hop breakdown).

Priming: a seeded simulator run (Binance, BTC/USDT: markets, depth snapshot, book, trades,
bookTicker) is published to md.raw and the test waits until the normalizer's group has
committed it. Then, one at a time, a Binance ``bookTicker`` frame whose bid alternates
between two prices (so every frame changes the NBBO) is published as a RawFrame by the live
connector's own producer (:class:`tapewire.connectors.live.sink.KafkaRawSink`); t0 =
``time.time_ns()`` right before that call; the next frame is sent ``--gap-ms``
(plus up to ``--jitter-ms``) after the previous order arrived, or after ``--timeout-s``.

Per hop (wall clock, same host): normalize = quote ``process_ts_ns`` - t0; nbbo = NBBO
``process_ts_ns`` - quote's; strategy = strategy clock - previous; risk = decision
``decision_ts_ns`` - strategy's; router = t1 - decision's. Each hop contains one Kafka
produce (acks=all, idempotent) + fetch + Faust's ``take_events`` window + executor handoff.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import queue
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from confluent_kafka import Consumer, TopicPartition

from tapewire.connectors.capture.simulated import raw_frames
from tapewire.connectors.live.sink import KafkaRawSink
from tapewire.connectors.simulator import InstrumentSpec, MarketSimulator, SimConfig
from tapewire.core import metrics
from tapewire.core.kafka import client_config
from tapewire.core.records import Record
from tapewire.core.settings import load_settings
from tapewire.runtime.kafka_io import delete_topics, produce_all
from tapewire.runtime.kafka_resolve import kafka_for
from tapewire.runtime.topics import declare_topics
from tapewire.schemas.codec import Codec
from tapewire.streams.agents.app import create_app, serve
from tapewire.streams.agents.router import register_router
from tapewire.streams.execution.paper import PaperConfig
from tapewire.streams.hotpath import HotPathWorker, build_hot_path
from tapewire.streams.hotpath.colocated import RAW_LINGER_MS, ColocatedFrames
from tapewire.streams.oms import OrderAction, OrderRequest, OrderType, Side, TimeInForce
from tapewire.streams.oms.reports import Reports
from tapewire.streams.risk import AccountLimits, InstrumentLimits, RiskConfig
from tapewire.streams.router.venue import PaperVenueAdapter
from tapewire.streams.stages.config import StreamsConfig
from tapewire.streams.trading.config import TradingConfig
from tapewire.streams.trading.strategy import Strategy

VENUE = "binance"
INSTRUMENT = "BTC-USDT-SPOT"
ACCOUNT = "bench"
AGENTS = ("normalize", "bars", "nbbo", "strategy", "risk", "positions")
"""Registered by ``create_app``; the router is registered by the bench (timed venue)."""
BIDS = ("64990.00000000", "64991.00000000")
ASK = "65010.00000000"
D = Decimal
Sample = dict[str, Any]


# -- worker side (thread or subprocess) ---------------------------------------------------


class TriggerStrategy(Strategy):
    """One IOC order per bench frame: fires on a quote or NBBO received at/after ``arm_ns``.

    Priming frames carry simulator receive times (2024) and never fire. Tags carry the
    sample id (the frame's receive time) and the upstream processing timestamps.
    """

    strategy_id = "bench"
    account = ACCOUNT

    def __init__(self, arm_ns: int, trigger: str) -> None:
        self.arm_ns = arm_ns
        self.trigger = trigger
        self.count = 0

    def on_quote(self, quote: Record) -> list[OrderRequest]:
        if self.trigger != "quote" or quote["venue"] != VENUE:
            return []
        sample = int(quote["receive_ts_ns"])
        if sample < self.arm_ns:
            return []
        return [self._order(sample, {"t_norm": str(quote["process_ts_ns"])})]

    def on_nbbo(self, nbbo: Record) -> list[OrderRequest]:
        if self.trigger != "nbbo":
            return []
        sample = int(nbbo.get("bid_receive_ts_ns") or 0)
        if sample < self.arm_ns:
            return []
        return [self._order(sample, {"t_nbbo": str(nbbo["process_ts_ns"])})]

    def _order(self, sample: int, tags: dict[str, str]) -> OrderRequest:
        now = time.time_ns()
        self.count += 1
        side = Side.BUY if self.count % 2 else Side.SELL
        return OrderRequest(
            client_order_id=self.client_order_id(sample, self.count),
            account=ACCOUNT,
            venue=VENUE,
            instrument=INSTRUMENT,
            side=side,
            order_type=OrderType.LIMIT,
            time_in_force=TimeInForce.IOC,
            quantity=D("0.001"),
            limit_price=D(ASK) if side is Side.BUY else D(BIDS[0]),
            action=OrderAction.NEW,
            requested_by="strategy:bench",
            request_ts_ns=now,
            strategy_id=self.strategy_id,
            tags={"sample": str(sample), "t_strategy": str(now), **tags},
        )


class TimedVenue(PaperVenueAdapter):
    """The paper venue, with ``time.time_ns()`` taken when the router calls ``submit``."""

    def __init__(self, config: PaperConfig, report: Callable[[Sample], None]) -> None:
        super().__init__(config)
        self.report = report

    def submit(self, request: Record, now_ns: int) -> Reports:
        t1 = time.time_ns()
        cpu1 = time.thread_time_ns()  # co-located: the thread that called the frame sink
        tags = request.get("tags") or {}
        if "sample" in tags:
            sample = {"t1": t1, "cpu1": cpu1, "t_risk": now_ns}
            self.report(sample | {k: int(v) for k, v in tags.items()})
        return super().submit(request, now_ns)


def risk_config() -> RiskConfig:
    """Limits that never bind in the bench (every request approved)."""
    big = D(10) ** 12
    limits = InstrumentLimits(
        max_order_qty=big, max_order_notional=big, max_position=big, price_band_bps=D(10_000)
    )
    account = AccountLimits(
        instruments={INSTRUMENT: limits},
        max_open_orders=10**9,
        max_orders_per_window=10**9,
        rate_window_ms=1000,
        daily_loss_limit=big,
        stale_quote_ms=10**12,
    )
    return RiskConfig(accounts={ACCOUNT: account})


def streams_config(app_id: str, prefix: str, batch_size: int, within: float, arm_ns: int,
                   trigger: str) -> StreamsConfig:  # fmt: skip
    """One partition per topic; the trading config with the bench strategy."""
    trading = TradingConfig(
        risk=risk_config(),
        paper_venues=(PaperConfig(VENUE),),
        strategies=(lambda: TriggerStrategy(arm_ns, trigger),),
    )
    return StreamsConfig(
        app_id=app_id,
        topic_prefix=prefix,
        partitions=1,
        batch_size=batch_size,
        batch_within_s=within,
        trading=trading,
    )


def run_worker_loop(
    bootstrap: str,
    config: StreamsConfig,
    report: Callable[[Sample], None],
    stop: threading.Event,
    ready: threading.Event,
    topology: str = "agents",
) -> None:
    """The agents of :data:`AGENTS` plus a router over :class:`TimedVenue`, until ``stop``;
    or (``topology="fused"``) the fused hot path with the same stages and venue."""
    if topology == "colocated":
        raise SystemExit("--topology colocated runs in --modes thread only")
    if topology == "fused":
        hot = build_hot_path(Codec(), config, venues=[TimedVenue(PaperConfig(VENUE), report)])
        HotPathWorker(bootstrap, config, hot).run(stop, ready)
        return

    async def main() -> None:
        app = create_app(load_settings(), config, agents=AGENTS, bootstrap=bootstrap)
        register_router(app, [TimedVenue(PaperConfig(VENUE), report)])

        async def wait_stop() -> None:
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.05)

        await serve(app, wait_stop)

    asyncio.run(main())


def child_main(args: argparse.Namespace) -> None:
    """Subprocess worker: prints READY, then one ``SUBMIT <json>`` line per timed submit."""
    config = streams_config(
        args.app_id, args.prefix, args.batch_size, args.within, args.arm_ns, args.trigger
    )
    stop, ready = threading.Event(), threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    lock = threading.Lock()

    def report(sample: Sample) -> None:
        with lock:
            sys.stdout.write("SUBMIT " + json.dumps(sample) + "\n")
            sys.stdout.flush()

    def announce() -> None:
        ready.wait()
        print("READY", flush=True)

    threading.Thread(target=announce, daemon=True).start()
    run_worker_loop(args.bootstrap, config, report, stop, ready, args.topology)


# -- the driver ---------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """CPU model, cores, RAM, Python, kernel, load average at the start."""
    cpu = platform.processor() or platform.machine()
    ram_gb = 0.0
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": ram_gb,
        "python": platform.python_version(),
        "kernel": f"{platform.system()} {platform.release()}",
        "loadavg_start": list(os.getloadavg()),
    }


def prime_frames(codec: Codec) -> list[tuple[bytes | None, bytes]]:
    """A short seeded Binance BTC/USDT run (markets, snapshot, book, trades, bookTicker)."""
    sim = MarketSimulator(
        SimConfig(
            seed=11,
            venues=(VENUE,),  # the validator turns names into VenueSpec
            instruments=(
                InstrumentSpec(symbol="BTC/USDT", start_price=D(65000), typical_size=D("0.4")),
            ),
            n_frames=400,
            ground_truth=False,
        )
    )
    encode = codec.for_topic("md.raw").encode
    return [(codec.key("md.raw", r), encode(r)) for r in raw_frames(sim.frames())]


def bbo_frame(sequence: int, update_id: int, bid: str, receive_ns: int) -> dict[str, Any]:
    """A Binance ``bookTicker`` frame as a RawFrame record (what the connector publishes)."""
    payload = (
        '{"stream":"btcusdt@bookTicker","data":{"u":' + str(update_id) + ',"s":"BTCUSDT",'
        f'"b":"{bid}","B":"1.00000000","a":"{ASK}","A":"1.00000000"}}}}'
    ).encode()
    record = {
        "venue": VENUE,
        "connection_id": f"{VENUE}-bench-1",
        "sequence": sequence,
        "transport": "WEBSOCKET",
        "origin": "SIMULATOR",
        "channel": "bbo",
        "symbol": "BTCUSDT",
        "payload": payload,
        "binary": False,
        "receive_ts_ns": receive_ns,
        "request_ts_ns": None,
        "rest_url": None,
        "rest_status": None,
    }
    return record


@contextlib.contextmanager
def background(bootstrap: str, topic: str, codec: Codec, rate: float) -> Iterator[None]:
    """Live market load while sampling: a seeded OKX ETH/USDT simulator run published to
    ``topic`` at ``rate`` frames/s by the connector's producer, on a thread. Its frames
    carry simulator times (2024) and another venue, so they never trigger the strategy,
    but every one goes through the same consumer, normalizer and NBBO as the samples."""
    stop = threading.Event()
    sim = MarketSimulator(
        SimConfig(
            seed=23,
            venues=("okx",),
            instruments=(
                InstrumentSpec(symbol="ETH/USDT", start_price=D(3500), typical_size=D("2")),
            ),
            n_frames=10_000_000,
            ground_truth=False,
        )
    )

    def run() -> None:
        with KafkaRawSink(bootstrap, topic=topic, codec=codec, tap=tap()) as sink:
            started = time.monotonic()
            for sent, record in enumerate(raw_frames(sim.frames()), start=1):
                if stop.is_set():
                    return
                sink(record)
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0.002:
                    time.sleep(ahead)

    thread = threading.Thread(target=run, name="bench-background", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


def wait_committed(bootstrap: str, group: str, topic: str, n: int, timeout_s: float) -> None:
    """Until ``group`` committed offset ``n`` on partition 0 of ``topic``."""
    consumer = Consumer(client_config(bootstrap) | {"group.id": group})
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            [tp] = consumer.committed([TopicPartition(topic, 0)], timeout=10)
            if tp.offset >= n:
                return
            if time.monotonic() > deadline:
                raise SystemExit(f"{topic}: {tp.offset}/{n} consumed after {timeout_s}s")
            time.sleep(0.1)
    finally:
        consumer.close()


@contextlib.contextmanager
def worker(
    args: argparse.Namespace, bootstrap: str, config: StreamsConfig, mode: str, arm_ns: int
) -> Iterator[queue.Queue[Sample]]:
    """A worker in a thread or a subprocess; yields the queue of timed submits."""
    samples: queue.Queue[Sample] = queue.Queue()
    if args.topology == "colocated":
        yield from colocated_worker(bootstrap, config, mode, samples)
        return
    if mode == "thread":
        stop, ready = threading.Event(), threading.Event()
        thread = threading.Thread(
            target=run_worker_loop,
            args=(bootstrap, config, samples.put, stop, ready, args.topology),
            name="bench-worker",
            daemon=True,
        )
        thread.start()
        if not ready.wait(120):
            raise SystemExit("worker thread did not start")
        try:
            yield samples
        finally:
            stop.set()
            thread.join(60)
        return
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        f"--bootstrap={bootstrap}",
        f"--app-id={config.app_id}",
        f"--prefix={config.topic_prefix}",
        f"--batch-size={config.batch_size}",
        f"--within={config.batch_within_s}",
        f"--arm-ns={arm_ns}",
        f"--trigger={args.trigger}",
        f"--topology-child={args.topology}",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, bufsize=1)
    started = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("READY"):
                started.set()
            elif line.startswith("SUBMIT "):
                samples.put(json.loads(line[7:]))

    threading.Thread(target=read, name="bench-child-reader", daemon=True).start()
    try:
        if not started.wait(120):
            raise SystemExit("worker subprocess did not start")
        yield samples
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


COLOCATED_VENUES = frozenset((VENUE, "okx"))
"""Venues whose frames the bench hands to the hot path in-process (the samples, the
background load)."""


def colocated_worker(
    bootstrap: str, config: StreamsConfig, mode: str, samples: queue.Queue[Sample]
) -> Iterator[queue.Queue[Sample]]:
    """The co-located topology (``docs/hot-path.md``, the trade role's
    ``colocate_connector``): the hot path's Kafka loop in a thread of this process, and
    its in-process frame tap published in :data:`LOCAL`, which the bench's frame sink
    calls right after each produce to md.raw. The same stages run as in ``fused``:
    normalize in the tap; NBBO, strategy, risk, router and positions in the graph."""
    if mode != "thread":
        raise SystemExit("--topology colocated: the connector is in the trade process; "
                         "use --modes thread")  # fmt: skip
    hot = build_hot_path(
        Codec(),
        config,
        stages=COLOCATED_STAGES,
        venues=[TimedVenue(PaperConfig(VENUE), samples.put)],
    )
    worker = HotPathWorker(bootstrap, config, hot)
    LOCAL[0] = ColocatedFrames(worker, Codec(), COLOCATED_VENUES)
    stop, ready = threading.Event(), threading.Event()
    thread = threading.Thread(
        target=worker.run, args=(stop, ready), name="bench-worker", daemon=True
    )
    thread.start()
    if not ready.wait(120):
        raise SystemExit("worker thread did not start")
    try:
        yield samples
    finally:
        stop.set()
        thread.join(60)
        LOCAL[0] = None


COLOCATED_STAGES = ("nbbo", "strategy", "risk", "router", "positions")
LOCAL: list[ColocatedFrames | None] = [None]
"""The in-process frame tap while a co-located worker runs (else None)."""


def tap() -> Callable[[bytes, bytes], None] | None:
    """The co-located worker's frame tap, or None (frames go through md.raw only)."""
    return LOCAL[0]


def batch_times() -> dict[str, tuple[float, float]]:
    """(sum seconds, count) of every agent's ``stream_batch_seconds`` (this process only)."""
    out: dict[str, tuple[float, float]] = {}
    for family in metrics.stream_batch_seconds.collect():
        for s in family.samples:
            if s.name.endswith(("_sum", "_count")):
                key = f"{s.labels['agent']}/{s.labels['phase']}"
                total, count = out.get(key, (0.0, 0.0))
                if s.name.endswith("_sum"):
                    out[key] = (s.value, count)
                else:
                    out[key] = (total, s.value)
    return out


def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(values: Sequence[float]) -> dict[str, float]:
    """P50/P95/P99/max/mean in ms."""
    return {
        "p50": round(pct(values, 50), 3),
        "p95": round(pct(values, 95), 3),
        "p99": round(pct(values, 99), 3),
        "max": round(max(values), 3),
        "mean": round(statistics.fmean(values), 3),
    }


def hops(sample: Mapping[str, int], t0: int, trigger: str) -> dict[str, float]:
    """Per-hop milliseconds along the chain (see the module docstring)."""
    chain = ["t_norm", "t_strategy", "t_risk", "t1"]
    names = ["normalize", "strategy", "risk", "router"]
    if trigger == "nbbo":
        chain = ["t_nbbo", "t_strategy", "t_risk", "t1"]
        names = ["normalize+nbbo", "strategy", "risk", "router"]
    out, prev = {}, t0
    for name, key in zip(names, chain, strict=True):
        out[name] = (sample[key] - prev) / 1e6
        prev = sample[key]
    return out


def run_config(
    args: argparse.Namespace, bootstrap: str, codec: Codec, batch_size: int, within: float,
    mode: str,
) -> dict[str, Any]:  # fmt: skip
    """One configuration: fresh topics, prime, warm up, measure; topics deleted after."""
    tag = uuid.uuid4().hex[:8]
    arm_ns = time.time_ns()
    config = streams_config(
        f"bench-t2o-{tag}", f"b{tag}.", batch_size, within, arm_ns, args.trigger
    )
    declare_topics(bootstrap, config)
    topics = config.topics
    primed = prime_frames(codec)
    produce_all(bootstrap, topics.raw, primed)
    # the live connector's own producer (idempotent, acks=all, linger 0, Nagle off, lz4)
    colocated = args.topology == "colocated"
    # co-located, md.raw is the record and no longer the order path: it lingers
    linger = {"linger.ms": RAW_LINGER_MS} if colocated else None
    sink = KafkaRawSink(bootstrap, topic=topics.raw, codec=codec, extra=linger)
    cpu: list[float] = []
    cpu_to_submit: list[float] = []
    rng = random.Random(7)
    latencies: list[float] = []
    per_hop: dict[str, list[float]] = {}
    lost = 0
    load: list[float] = []
    before = batch_times()
    stack = contextlib.ExitStack()
    try:
        with stack, worker(args, bootstrap, config, mode, arm_ns) as samples:
            local = tap()
            if colocated and local is not None:  # primed in-process: md.raw is not read
                sink.tap = local
                for key, value in primed:
                    local(key or b"", value)
            else:
                group = config.app_id + ("-hotpath" if args.topology == "fused" else "")
                wait_committed(bootstrap, group, topics.raw, len(primed), 120)
            if args.background_rate > 0:
                stack.enter_context(background(bootstrap, topics.raw, codec, args.background_rate))
            time.sleep(1.0)
            for i in range(args.warmup + args.samples):
                receive_ns = time.time_ns()
                record = bbo_frame(10_000 + i, 10**12 + i, BIDS[i % 2], receive_ns)
                c0 = time.thread_time_ns()
                t0 = time.time_ns()
                sink(record)
                c1 = time.thread_time_ns()
                got = None
                deadline = time.monotonic() + args.timeout_s
                while got is None and time.monotonic() < deadline:
                    try:
                        candidate = samples.get(timeout=max(0.0, deadline - time.monotonic()))
                    except queue.Empty:
                        break
                    if candidate["sample"] == receive_ns:
                        got = candidate
                sink.flush(10)
                if i >= args.warmup:
                    if got is None:
                        lost += 1
                    else:
                        latencies.append((got["t1"] - t0) / 1e6)
                        if colocated:  # the whole path ran in this thread, inside sink()
                            cpu.append((c1 - c0) / 1e6)
                            cpu_to_submit.append((got["cpu1"] - c0) / 1e6)
                        for name, ms in hops(got, t0, args.trigger).items():
                            per_hop.setdefault(name, []).append(ms)
                    if i % 50 == 0:
                        load.append(os.getloadavg()[0])
                time.sleep((args.gap_ms + rng.uniform(0, args.jitter_ms)) / 1000)
    finally:
        sink.flush(10)
        delete_topics(bootstrap, topics.all())
    result: dict[str, Any] = {
        "topology": args.topology,
        "mode": mode,
        "trigger": args.trigger,
        "batch_size": batch_size,
        "batch_within_s": within,
        "background_rate": args.background_rate,
        "samples": len(latencies),
        "lost": lost,
        "loadavg_1m_during": [round(x, 2) for x in load],
    }
    if mode == "thread":  # the worker's histograms live in this process
        after = batch_times()
        result["mean_batch_ms"] = {
            key: round((total - before.get(key, (0.0, 0.0))[0]) * 1000 / n, 3)
            for key, (total, count) in sorted(after.items())
            if (n := count - before.get(key, (0.0, 0.0))[1]) > 0
        }
    if cpu:  # CPU time of the in-process path: what the machine's load does not add
        result["in_process_cpu_ms"] = summary(cpu)
        result["tick_to_order_cpu_ms"] = summary(cpu_to_submit)
    if latencies:
        result["tick_to_order_ms"] = summary(latencies)
        result["per_hop_ms"] = {k: summary(v) for k, v in per_hop.items()}
    return result


def print_result(r: Mapping[str, Any]) -> None:
    """One line per configuration plus its hops."""
    head = f"{r['topology']:<6} {r['mode']:<10} "
    if r["topology"] == "agents":
        head += f"batch_size={r['batch_size']:<5} within={r['batch_within_s']:<7}"
    if r["background_rate"]:
        head += f"background={r['background_rate']:g}/s "
    if "tick_to_order_ms" not in r:
        print(f"{head} no samples (lost {r['lost']})", flush=True)
        return
    s = r["tick_to_order_ms"]
    print(
        f"{head} n={r['samples']} lost={r['lost']}  P50 {s['p50']:.2f}  P95 {s['p95']:.2f}  "
        f"P99 {s['p99']:.2f}  max {s['max']:.2f} ms",
        flush=True,
    )
    if "in_process_cpu_ms" in r:
        c = r["in_process_cpu_ms"]
        print(f"    in-process CPU  P50 {c['p50']:8.2f}  P95 {c['p95']:8.2f}  P99 {c['p99']:8.2f}")
        c = r["tick_to_order_cpu_ms"]
        print(f"    CPU to submit   P50 {c['p50']:8.2f}  P95 {c['p95']:8.2f}  P99 {c['p99']:8.2f}")
    for name, h in r["per_hop_ms"].items():
        print(f"    {name:<15} P50 {h['p50']:8.2f}  P95 {h['p95']:8.2f}  P99 {h['p99']:8.2f}")


def parse_configs(text: str) -> list[tuple[int, float]]:
    """``2000:0.05,1:0.05`` -> [(2000, 0.05), (1, 0.05)]."""
    out = []
    for item in text.split(","):
        size, within = item.split(":")
        out.append((int(size), float(within)))
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments; run every (configuration, mode); print and write JSON."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--samples", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--configs", default="2000:0.05,2000:0.001,2000:0.0001,1:0.05")
    p.add_argument("--modes", default="thread,subprocess")
    p.add_argument("--trigger", choices=("nbbo", "quote"), default="nbbo")
    p.add_argument(
        "--topology",
        dest="topologies",
        default="agents",
        help="comma-separated: agents (one Faust agent per stage), fused (the hot path, "
        "docs/hot-path.md, reading md.raw), colocated (frames handed to the hot path "
        "in-process as well as produced to md.raw: the trade role's colocate_connector; "
        "--modes thread)",
    )
    p.add_argument("--rounds", type=int, default=1, help="repeat every configuration, alternated")
    p.add_argument("--topology-child", dest="topology", default="agents", help=argparse.SUPPRESS)
    p.add_argument(
        "--background-rate",
        type=float,
        default=0.0,
        help="frames/s of other market data on md.raw while sampling (a live feed's load)",
    )
    p.add_argument("--gap-ms", type=float, default=20.0)
    p.add_argument("--jitter-ms", type=float, default=10.0)
    p.add_argument("--timeout-s", type=float, default=5.0)
    p.add_argument("--bootstrap", default=None)
    p.add_argument("--json", default=None, help="result file (default bench/results/...)")
    # child (worker subprocess) arguments
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--app-id", default="", help=argparse.SUPPRESS)
    p.add_argument("--prefix", default="", help=argparse.SUPPRESS)
    p.add_argument("--batch-size", type=int, default=2000, help=argparse.SUPPRESS)
    p.add_argument("--within", type=float, default=0.05, help=argparse.SUPPRESS)
    p.add_argument("--arm-ns", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child_main(args)
        return
    settings = load_settings()
    codec = Codec.from_settings(settings)
    results: list[dict[str, Any]] = []
    info = machine()
    with contextlib.ExitStack() as stack:
        bootstrap = args.bootstrap
        kind = "external"
        if not bootstrap:
            target = stack.enter_context(kafka_for(settings, any_free_port=True))
            bootstrap, kind = target.bootstrap_servers, target.kind
        print(f"kafka: {kind} at {bootstrap}; {info['cores']} cores, load {info['loadavg_start']}")
        for round_no in range(1, args.rounds + 1):  # alternated: noise hits every topology
            for topology in args.topologies.split(","):
                run = argparse.Namespace(**(vars(args) | {"topology": topology}))
                for mode in args.modes.split(","):
                    for batch_size, within in parse_configs(args.configs):
                        result = run_config(run, bootstrap, codec, batch_size, within, mode)
                        result["round"] = round_no
                        results.append(result)
                        print_result(result)
    out = Path(args.json) if args.json else (
        Path(__file__).resolve().parent / "results" / f"tick_to_order-{dt.date.today()}.json"
    )  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "benchmark": "tick_to_order",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "kafka": kind,
        "machine": info | {"loadavg_end": list(os.getloadavg())},
        "settings": {
            k: getattr(args, k)
            for k in (
                "samples",
                "warmup",
                "trigger",
                "topologies",
                "rounds",
                "background_rate",
                "gap_ms",
                "jitter_ms",
                "timeout_s",
            )
        },
        "results": results,
    }
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
