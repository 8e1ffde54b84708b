"""Microbenchmark of tapewire.schemas.codec: median records/s of encode and decode per record type.

Run: ``.venv/bin/python bench/bench_codec.py [--runs 7] [--seconds 0.5]``. For context it
also times fastavro alone (``schemaless_writer``/``schemaless_reader`` with the same parsed
schema, no checks, no header), and prints the encoded sizes. No thresholds: numbers only.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import fastavro
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from tapewire.schemas.codec import Codec
from tapewire.schemas.loading import for_fastavro

TS = 1_700_000_000_123_456_789


def _levels(count: int, start: str, step: str) -> list[dict[str, Any]]:
    return [
        {"price": Decimal(start) + Decimal(step) * i, "size": Decimal("0.00000812") * (i + 1)}
        for i in range(count)
    ]


def sample_records() -> dict[str, dict[str, Any]]:
    """One realistic record per benchmarked topic."""
    frame = (
        b'{"e":"trade","E":1700000000123,"s":"BTCUSDT","t":3275884721,"p":"68123.45000000",'
        b'"q":"0.00000812","T":1700000000122,"m":true,"M":true}'
    )
    return {
        "md.raw": {
            "venue": "binance",
            "connection_id": "3f1c2a9e-5d4b-4c1e-9a7f-0c2d8e6b1a42",
            "sequence": 1_234_567,
            "transport": "WEBSOCKET",
            "origin": "LIVE",
            "channel": "trade",
            "symbol": "BTCUSDT",
            "payload": frame,
            "binary": False,
            "receive_ts_ns": TS,
        },
        "md.trades": {
            "venue": "binance",
            "instrument": "BTC-USDT",
            "trade_id": "3275884721",
            "price": Decimal("68123.45"),
            "size": Decimal("0.00000812"),
            "side": "SELL",
            "exchange_ts_ns": 1_700_000_000_122_000_000,
            "receive_ts_ns": TS,
            "process_ts_ns": TS + 85_000,
            "connection_id": "3f1c2a9e-5d4b-4c1e-9a7f-0c2d8e6b1a42",
            "frame_sequence": 1_234_567,
        },
        "md.book": {
            "venue": "binance",
            "instrument": "BTC-USDT",
            "kind": "SNAPSHOT",
            "bids": _levels(20, "68123.45", "-0.01"),
            "asks": _levels(20, "68123.46", "0.01"),
            "depth": 20,
            "last_sequence": 51_234_567_890,
            "exchange_ts_ns": 1_700_000_000_122_000_000,
            "receive_ts_ns": TS,
            "process_ts_ns": TS + 85_000,
        },
        "oms.events": {
            "event_id": "ev-000001",
            "client_order_id": "strat1-000042",
            "venue_order_id": "8123456789",
            "account": "main",
            "venue": "binance",
            "instrument": "BTC-USDT",
            "side": "BUY",
            "order_type": "LIMIT",
            "time_in_force": "GTC",
            "status": "PARTIALLY_FILLED",
            "exec_type": "TRADE",
            "quantity": Decimal("0.5"),
            "limit_price": Decimal("68123.45"),
            "cum_qty": Decimal("0.2"),
            "leaves_qty": Decimal("0.3"),
            "avg_price": Decimal("68120.1"),
            "last_qty": Decimal("0.2"),
            "last_price": Decimal("68120.1"),
            "exec_id": "T-99",
            "event_ts_ns": TS,
        },
    }


def _rate(call: Callable[[], object], seconds: float) -> float:
    count = 0
    batch = 64
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(batch):
            call()
        count += batch
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def _median_rate(call: Callable[[], object], runs: int, seconds: float) -> float:
    call()
    rates = [_rate(call, seconds) for _ in range(runs)]
    _SPREADS.append((max(rates) - min(rates)) / statistics.median(rates))
    return statistics.median(rates)


_SPREADS: list[float] = []


def _plain_fastavro(schema: Mapping[str, Any], record: Mapping[str, Any]) -> tuple[Any, Any]:
    parsed = parse_schema(for_fastavro(schema, decimals=True))
    buffer = io.BytesIO()
    schemaless_writer(buffer, parsed, record)
    data = buffer.getvalue()

    def write() -> bytes:
        out = io.BytesIO()
        schemaless_writer(out, parsed, record)
        return out.getvalue()

    def read() -> object:
        return schemaless_reader(io.BytesIO(data), parsed)

    return write, read


def main() -> None:
    """Print median records/s for each sample record."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7, help="timed runs per figure (median)")
    parser.add_argument("--seconds", type=float, default=0.5, help="length of one timed run")
    args = parser.parse_args()

    codec = Codec()
    print(
        f"Python {platform.python_version()}, fastavro {fastavro.__version__}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f}, median of {args.runs} runs x {args.seconds}s"
    )
    header = (
        f"{'topic':<11} {'bytes':>6} {'encode/s':>10} {'decode/s':>10} "
        f"{'fastavro write/s':>17} {'fastavro read/s':>16}"
    )
    print(header)
    print("-" * len(header))
    for topic, record in sample_records().items():
        serde = codec.for_topic(topic)
        data = serde.encode(record)
        assert serde.decode(data)["venue"] == record["venue"]
        encode = _median_rate(partial(serde.encode, record), args.runs, args.seconds)
        decode = _median_rate(partial(serde.decode, data), args.runs, args.seconds)
        write, read = _plain_fastavro(serde.schema, record)
        plain_write = _median_rate(write, args.runs, args.seconds)
        plain_read = _median_rate(read, args.runs, args.seconds)
        print(
            f"{topic:<11} {len(data):>6} {encode:>10,.0f} {decode:>10,.0f} "
            f"{plain_write:>17,.0f} {plain_read:>16,.0f}"
        )
    print(
        f"largest (max - min) / median over the runs of one figure: {max(_SPREADS):.0%} "
        "(a busy machine shows here; rerun when idle)"
    )


if __name__ == "__main__":
    main()
