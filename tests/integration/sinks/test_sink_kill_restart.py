"""Acceptance 3: SIGKILL the ClickHouse sink mid-stream, restart it, and find every trade
exactly once (real broker, real chDB; the sink runs in a subprocess that owns the chDB
directory, and this test reads the directory after the subprocess has exited)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from tapewire.core.kafka import client_config
from tapewire.runtime.kafka_io import produce_all
from tapewire.schemas.codec import Codec
from tapewire.sinks.clickhouse.client import connect
from tests.fixtures.kafka import TopicFactory

N_TRADES = 20_000
PARTITIONS = 3
BASE_NS = 1_704_067_200_000_000_000  # 2024-01-01T00:00:00Z
ROOT = Path(__file__).resolve().parents[3]


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


def _committed(bootstrap: str, group: str, topic: str) -> int:
    consumer = Consumer(client_config(bootstrap) | {"group.id": group})
    try:
        tps = consumer.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], 10)
        return sum(max(tp.offset, 0) for tp in tps)
    finally:
        consumer.close()


def _start(args: list[str], log: Path, crash_after: int | None = None) -> subprocess.Popen[bytes]:
    module = ["tapewire.sinks.clickhouse.sink"]
    if crash_after is not None:
        module = ["tapewire.testing.faults", f"--sink-crash-after-inserts={crash_after}"]
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", *module, *args, "--metrics-port", "0"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def test_sigkill_and_restart_leave_every_trade_exactly_once(
    kafka_bootstrap: str, kafka_topic: TopicFactory, tmp_path: Path
) -> None:
    codec = Codec()
    trades_topic = kafka_topic("md.trades", partitions=PARTITIONS)
    dlq_topic = kafka_topic("dlq.sink")
    expected = [_trade(i) for i in range(N_TRADES)]
    items = [(codec.key("md.trades", t), codec.encode("md.trades", t)) for t in expected]
    poison = [(b"bad", b"\x00\x00\x00\x00\x01garbage"), (b"bad", b"not avro at all")]
    produce_all(kafka_bootstrap, trades_topic, items[:10_000] + poison + items[10_000:])

    group = f"sink-{uuid.uuid4().hex[:8]}"
    url = f"chdb://{tmp_path / 'chdb'}"
    args = [
        f"--bootstrap={kafka_bootstrap}",
        f"--clickhouse-url={url}",
        "--database=killtest",
        f"--topic={trades_topic}=md.trades",
        f"--group={group}",
        f"--dlq-topic={dlq_topic}",
        "--grid=500",
        "--flush-interval=0.05",
    ]
    log = tmp_path / "sink.log"

    # Run 1: the sink kills itself right after its 3rd insert, before committing it.
    first = _start(args, log, crash_after=3)
    assert first.wait(timeout=120) == -signal.SIGKILL
    after_first = _committed(kafka_bootstrap, group, trades_topic)
    assert 0 < after_first < N_TRADES

    # Run 2: killed from outside, mid-stream, once it has committed more.
    second = _start(args, log)
    try:
        deadline = time.monotonic() + 120
        while _committed(kafka_bootstrap, group, trades_topic) <= after_first + 1000:
            assert second.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "sink made no progress"
            time.sleep(0.02)
        second.send_signal(signal.SIGKILL)
    finally:
        second.kill()
        second.wait(timeout=30)
    after_second = _committed(kafka_bootstrap, group, trades_topic)
    assert after_second < N_TRADES + len(poison), "run 2 finished before it was killed"

    # Run 3: to the end.
    third = _start([*args, "--stop-when-caught-up"], log)
    try:
        assert third.wait(timeout=180) == 0, log.read_text()
    finally:
        third.kill()
        third.wait(timeout=30)
    assert _committed(kafka_bootstrap, group, trades_topic) == N_TRADES + len(poison)

    with connect(url, database="killtest") as client:
        columns = (
            "trade_id, toString(price), toString(size), toString(side), "
            "toUnixTimestamp64Nano(exchange_ts), toUnixTimestamp64Nano(receive_ts), venue, "
            "instrument"
        )
        final_rows = client.query(f"SELECT {columns} FROM trades FINAL").result_rows
        raw_count = int(str(client.command("SELECT count() FROM trades")))
        offsets_unique = int(
            str(client.command("SELECT uniqExact(kafka_partition, kafka_offset) FROM trades"))
        )
    got = sorted(tuple(row) for row in final_rows)
    want = sorted(
        (
            t["trade_id"],
            _text(t["price"]),
            _text(t["size"]),
            t["side"].lower(),
            t["exchange_ts_ns"],
            t["receive_ts_ns"],
            t["venue"],
            t["instrument"],
        )
        for t in expected
    )
    assert len(got) == N_TRADES
    assert got == want
    # Every Kafka record stored once; the token dedup keeps even the non-FINAL read exact
    # when a replayed chunk has the same offsets (run 1's crash), see docs/sink.md.
    assert offsets_unique == N_TRADES
    print(f"rows without FINAL: {raw_count} (FINAL: {len(got)})")

    dead = Consumer(
        client_config(kafka_bootstrap)
        | {"group.id": f"check-{uuid.uuid4().hex[:8]}", "auto.offset.reset": "earliest"}
    )
    try:
        dead.subscribe([dlq_topic])
        letters: list[dict[str, Any]] = []
        deadline = time.monotonic() + 30
        while len(letters) < len(poison) and time.monotonic() < deadline:
            msg = dead.poll(0.2)
            if msg is not None and msg.error() is None:
                letters.append(codec.decode("dlq.sink", msg.value() or b""))
    finally:
        dead.close()
    # At least one DeadLetter per poison record (a replay after SIGKILL may repeat one).
    assert {bytes(letter["payload"]) for letter in letters} >= {v for _, v in poison}
    assert all(letter["stage"] == "sink" for letter in letters)


def _text(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
