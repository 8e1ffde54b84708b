"""The sink's CPU per row in the live regime: paced records on several partitioned topics.

Usage: ``.venv/bin/python bench/bench_sink_live.py --tree DIR[@FLUSH_S] [--tree ...] [--rounds 2]``
(``@FLUSH_S``: that run's ``--flush-interval``; the same tree may be given twice).
In the end-to-end run the sink keeps up with its input, so its cost is not the backlog rate
of ``bench_sink.py`` but the flushes: every ``flush_interval`` it inserts what each
partition got. Here a producer writes ``--rate`` trades per second (keys spread over
``--partitions`` partitions) to ``--topics`` topics (all read as ``md.trades``) for
``--seconds``; the sink runs as a subprocess (``python -m tapewire.sinks.clickhouse.sink`` of
each ``--tree``, with that tree's ``.venv``, own chDB directory, own consumer group), and the
benchmark reports the CPU seconds of the whole sink process (all threads: Python,
librdkafka, chDB inserts and merges, from ``/proc/<pid>/stat``) from the first record until
5 s after every record is committed, per 100,000 rows, and its inserts. Trees alternate
within each round (CPU seconds, not wall time: the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

from tapewire.core.kafka import client_config, producer_config
from tapewire.core.settings import load_settings
from tapewire.runtime.kafka_io import create_topic
from tapewire.runtime.kafka_resolve import kafka_for
from tapewire.schemas.codec import Codec

BASE_NS = 1_704_067_200_000_000_000
TICK = os.sysconf("SC_CLK_TCK")
VENUES = ("binance", "coinbase", "kraken", "okx")
INSTRUMENTS = ("BTC-USDT-SPOT", "ETH-USDT-SPOT", "SOL-USDT-SPOT")


def _trade(i: int) -> dict[str, Any]:
    return {
        "venue": VENUES[i % 4],
        "instrument": INSTRUMENTS[i % 3],
        "trade_id": f"t{i}",
        "price": Decimal(f"{40000 + i % 977}.{i % 100000:05d}"),
        "size": Decimal(f"0.{(i * 7919) % 10**8:08d}"),
        "side": ("BUY", "SELL", "UNKNOWN")[i % 3],
        "exchange_ts_ns": BASE_NS + i * 1_000_003,
        "receive_ts_ns": BASE_NS + i * 1_000_003 + 5_000,
        "process_ts_ns": BASE_NS + i * 1_000_003 + 9_000,
    }


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def _committed(bootstrap: str, group: str, topics: list[str], partitions: int) -> int:
    consumer = Consumer(client_config(bootstrap) | {"group.id": group})
    try:
        tps = [TopicPartition(t, p) for t in topics for p in range(partitions)]
        return sum(max(tp.offset, 0) for tp in consumer.committed(tps, 10))
    finally:
        consumer.close()


def _one(args: argparse.Namespace, spec: str, bootstrap: str, items: list[Any]) -> dict[str, Any]:
    tree_name, _, flush = spec.partition("@")
    tree = Path(tree_name)
    flush = flush or (str(args.flush_interval) if args.flush_interval else "")
    tag = uuid.uuid4().hex[:8]
    topics = [f"bench.live.{tag}.{k}" for k in range(args.topics)]
    for topic in topics:
        create_topic(bootstrap, topic, partitions=args.partitions)
    create_topic(bootstrap, f"bench.live.{tag}.dlq", exist_ok=True)
    group = f"bench-live-{tag}"
    work = Path(tempfile.mkdtemp(prefix="bench-sink-live-"))
    log = work / "sink.log"
    command = [
        str(tree / ".venv/bin/python"),
        "-m",
        "tapewire.sinks.clickhouse.sink",
        f"--bootstrap={bootstrap}",
        f"--clickhouse-url=chdb://{work / 'chdb'}",
        f"--group={group}",
        f"--dlq-topic=bench.live.{tag}.dlq",
        "--metrics-port=0",
        *[f"--topic={t}=md.trades" for t in topics],
        *([f"--flush-interval={flush}"] if flush else []),
    ]
    with log.open("wb") as out:
        sink = subprocess.Popen(command, cwd=tree, stdout=out, stderr=subprocess.STDOUT)
    try:
        time.sleep(args.warmup)  # imports, migrations, group join
        assert sink.poll() is None, log.read_text()
        producer = Producer(producer_config(bootstrap) | {"linger.ms": 5})
        cpu0 = _cpu_s(sink.pid)
        per_tick = max(1, round(args.rate * 0.02))
        started = time.monotonic()
        sent = 0
        while sent < len(items):
            for key, value in items[sent : sent + per_tick]:
                producer.produce(topics[sent % len(topics)], key=key, value=value)
                sent += 1
            producer.poll(0)
            delay = started + sent / args.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        producer.flush(30)
        while _committed(bootstrap, group, topics, args.partitions) < len(items):
            assert sink.poll() is None, log.read_text()
            time.sleep(0.2)
        time.sleep(5)
        cpu = _cpu_s(sink.pid) - cpu0
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.wait(60)
    done = [line for line in log.read_text().splitlines() if line.startswith("sink done")]
    inserts = int(done[-1].split("inserts=")[1].split()[0]) if done else -1
    return {
        "tree": spec,
        "rows": len(items),
        "cpu_s": round(cpu, 2),
        "cpu_s_per_100k_rows": round(cpu / len(items) * 100_000, 2),
        "inserts": inserts,
    }


def main() -> None:
    """Run the alternated rounds and print one JSON line per run, then the medians."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", action="append", required=True, help="DIR[@FLUSH_S]")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rate", type=int, default=4_000, help="records/s, all topics")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--topics", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--flush-interval", type=float, default=None, help="default: the tree's")
    parser.add_argument("--warmup", type=float, default=12.0)
    args = parser.parse_args()
    codec = Codec()
    count = int(args.rate * args.seconds)
    items = []
    for i in range(count):
        trade = _trade(i)
        key = f"{trade['venue']}:{trade['instrument']}".encode()
        items.append((key, codec.encode("md.trades", trade)))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    results: list[dict[str, Any]] = []
    with kafka_for(load_settings(), any_free_port=True) as kafka:
        for _round in range(args.rounds):
            for tree in args.tree:
                load = Path("/proc/loadavg").read_text().split()[0]
                result = _one(args, tree, kafka.bootstrap_servers, items) | {"load": load}
                print(json.dumps(result), flush=True)
                results.append(result)
    for tree in args.tree:
        mine = sorted(r["cpu_s_per_100k_rows"] for r in results if r["tree"] == tree)
        print(f"{tree}: CPU s per 100,000 rows {mine} (median {mine[len(mine) // 2]})")


if __name__ == "__main__":
    main()
