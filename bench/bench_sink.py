"""Benchmark of the ClickHouse sink: rows/s through the real broker into chDB, and insert-only.

Usage: ``.venv/bin/python bench/bench_sink.py [--rows 200000] [--repeat 3]``. Starts a local
Kafka (or uses ``KAFKA_BOOTSTRAP_SERVERS``), produces encoded trades, and reports the median
of ``--repeat`` runs: (1) insert-only (rows already mapped, ``client.insert`` into
``trades``), (2) decode + map only, (3) the Avro insert only (message values -> container
file -> ``INSERT ... SELECT`` decoded by ClickHouse, :mod:`tapewire.sinks.clickhouse.avro_insert`),
(4) the whole sink (consume, insert, commit) from a fresh consumer group until caught up.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from tapewire.core.settings import load_settings
from tapewire.runtime.kafka_io import create_topic, produce_all
from tapewire.runtime.kafka_resolve import kafka_for
from tapewire.schemas.codec import Codec
from tapewire.sinks.clickhouse.avro_insert import AvroInsert
from tapewire.sinks.clickhouse.batch import dedup_token
from tapewire.sinks.clickhouse.client import connect
from tapewire.sinks.clickhouse.migrations import migrate
from tapewire.sinks.clickhouse.rows import mapping_for_topic
from tapewire.sinks.clickhouse.sink import SinkConfig, run_sink

BASE_NS = 1_704_067_200_000_000_000


def _trade(i: int) -> dict[str, Any]:
    return {
        "venue": ("binance", "coinbase", "kraken")[i % 3],
        "instrument": ("BTC-USDT-SPOT", "ETH-USDT-SPOT")[i % 2],
        "trade_id": f"t{i}",
        "price": Decimal(f"{40000 + i % 977}.{i % 100000:05d}"),
        "size": Decimal(f"0.{(i * 7919) % 10**8:08d}"),
        "side": ("BUY", "SELL", "UNKNOWN")[i % 3],
        "exchange_ts_ns": BASE_NS + i * 1_000_003,
        "receive_ts_ns": BASE_NS + i * 1_000_003 + 5_000,
        "process_ts_ns": BASE_NS + i * 1_000_003 + 9_000,
    }


def main() -> None:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--grid", type=int, default=50_000)
    args = parser.parse_args()
    codec = Codec()
    trades = [_trade(i) for i in range(args.rows)]
    values = [codec.encode("md.trades", t) for t in trades]
    mapping = mapping_for_topic("md.trades")
    serde = codec.for_topic("md.trades")
    work = Path(tempfile.mkdtemp(prefix="bench-sink-"))
    url = f"chdb://{work / 'chdb'}"
    results: dict[str, list[float]] = {
        "insert only": [],
        "decode + map": [],
        "avro insert": [],
        "sink e2e": [],
    }
    assert mapping.sql is not None
    avro = AvroInsert(
        mapping.table, serde.schema, serde.schema_id, mapping.columns[:-3], mapping.sql
    )

    for run in range(args.repeat):
        started = time.perf_counter()
        rows = [mapping.row(serde.decode(v), "md.trades", 0, i) for i, v in enumerate(values)]
        results["decode + map"].append(args.rows / (time.perf_counter() - started))
        database = f"bench_insert_{run}"
        with connect(url, database=database, missing_database="create") as client:
            migrate(client, database)
            started = time.perf_counter()
            for first in range(0, len(rows), args.grid):
                chunk = rows[first : first + args.grid]
                token = dedup_token("trades", "md.trades", 0, first, first + len(chunk) - 1)
                client.insert(
                    "trades",
                    chunk,
                    column_names=list(mapping.columns),
                    settings={"insert_deduplication_token": token},
                )
            results["insert only"].append(args.rows / (time.perf_counter() - started))
            client.command("TRUNCATE TABLE trades")
            started = time.perf_counter()
            for first in range(0, len(values), args.grid):
                part = values[first : first + args.grid]
                offsets = list(range(first, first + len(part)))
                token = dedup_token("trades", "md.trades", 0, first, first + len(part) - 1)
                avro.insert(
                    client,
                    part,
                    offsets,
                    "md.trades",
                    0,
                    {"insert_deduplication_token": token, "insert_deduplicate": 1},
                )
            results["avro insert"].append(args.rows / (time.perf_counter() - started))
            stored = int(str(client.command("SELECT count() FROM trades")))
            assert stored == args.rows, stored

    settings = load_settings(data_dir=work / "data")
    with kafka_for(settings, any_free_port=True) as kafka:
        bootstrap = kafka.bootstrap_servers
        topic = f"md.trades.bench{uuid.uuid4().hex[:6]}"
        create_topic(bootstrap, topic, partitions=1)
        create_topic(bootstrap, "dlq.sink", exist_ok=True)
        produce_all(
            bootstrap,
            topic,
            [(codec.key("md.trades", t), v) for t, v in zip(trades, values, strict=True)],
            extra={"linger.ms": 50, "batch.num.messages": 10000},
        )
        for run in range(args.repeat):
            config = SinkConfig(
                topics={topic: "md.trades"},
                group_id=f"bench-{uuid.uuid4().hex[:8]}",
                grid=args.grid,
                stop_when_caught_up=True,
            )
            started = time.perf_counter()
            stats = run_sink(
                settings,
                stop_event=threading.Event(),
                config=config,
                bootstrap=bootstrap,
                clickhouse_url=url,
                database=f"bench_sink_{run}",
            )
            elapsed = time.perf_counter() - started
            assert stats.rows.get("trades") == args.rows, stats
            results["sink e2e"].append(args.rows / elapsed)

    uname = platform.uname()
    print(
        f"machine: {uname.system} {uname.machine}, {os.cpu_count()} cores, "
        f"{platform.processor() or _cpu()}, Python {platform.python_version()}"
    )
    print(f"rows per run: {args.rows}, runs: {args.repeat}, grid: {args.grid}")
    print(f"{'measure':<14} {'median rows/s':>14} {'runs':>40}")
    for name, rates in results.items():
        runs = ", ".join(f"{r:,.0f}" for r in rates)
        print(f"{name:<14} {statistics.median(rates):>14,.0f} {runs:>40}")


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    main()
