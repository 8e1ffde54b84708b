"""One INSERT for the chunks of several partitions (real broker, chDB): the same rows,
provenance and dead letters by the Avro insert and the Python path; a bad record in one
partition makes ClickHouse refuse the multi-partition Avro insert, and then each chunk is
inserted alone (the bad one decoded in Python and dead-lettered)."""

from __future__ import annotations

import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

from tapewire.runtime.kafka_io import produce_all
from tapewire.sinks.clickhouse.client import connect
from tapewire.sinks.clickhouse.migrations import migrate
from tapewire.sinks.clickhouse.sink import ClickHouseSink, SinkConfig
from tests.fixtures.kafka import TopicFactory
from tests.integration.sinks.test_sink_avro_insert import (
    BAD_VALUES,
    BASE_NS,
    CODEC,
    TRADES,
    _dead_letter_payloads,
    _table_text,
)

PARTITIONS = 3


def test_one_insert_for_every_partition_either_way(
    kafka_bootstrap: str, kafka_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = kafka_topic("md.trades", partitions=PARTITIONS)
    items = [
        (
            f"k{i % 7}".encode(),
            CODEC.encode(
                "md.trades",
                {
                    **TRADES[i % 3],
                    "trade_id": f"t{i}",
                    "price": Decimal(f"{40000 + i}.{i:05d}"),
                    "exchange_ts_ns": BASE_NS + i * 1_000_003,
                    "receive_ts_ns": BASE_NS + i * 1_000_003 + 5_000,
                },
            ),
        )
        for i in range(300)
    ]
    bad = BAD_VALUES["truncated"]
    items.insert(140, (b"k3", bad))
    produce_all(kafka_bootstrap, topic, items)

    url = f"chdb://{tmp_path / 'chdb'}"
    texts = {}
    for avro in (True, False):
        database = "by_avro" if avro else "by_python"
        dlq = kafka_topic("dlq.sink")
        # no grid chunk and no timer flush: everything is stored by the final drain, one
        # INSERT for the three partitions
        config = SinkConfig(
            topics={topic: "md.trades"},
            group_id=f"sink-{uuid.uuid4().hex[:8]}",
            grid=1_000_000,
            flush_interval_s=3600.0,
            dlq_topic=dlq,
            avro_insert=avro,
        )
        with connect(url, database=database, missing_database="create") as client:
            migrate(client, database)
            sink = ClickHouseSink(kafka_bootstrap, client, config, CODEC, avro_insert=avro)
            stop = threading.Event()
            runner = threading.Thread(target=sink.run, args=(stop,))
            runner.start()
            deadline = time.monotonic() + 120
            while sink.stats.records < len(items) and time.monotonic() < deadline:
                time.sleep(0.05)
            stop.set()
            runner.join(120)
            stats = sink.stats
            assert stats.records == len(items)
            assert stats.rows == {"trades": 300}
            assert stats.dead_letters == 1
            assert stats.commits == 1
            # Avro: the 3-partition insert is refused, then one insert per partition (the
            # bad record's partition through Python); Python path: one insert
            assert stats.avro_fallbacks == (1 if avro else 0)
            assert stats.inserts == (PARTITIONS if avro else 1)
            texts[avro] = _table_text(client, "trades")
            partitions = client.query(
                "SELECT DISTINCT kafka_partition FROM trades ORDER BY 1"
            ).result_rows
        assert [p for (p,) in partitions] == list(range(PARTITIONS))
        assert _dead_letter_payloads(kafka_bootstrap, dlq, 1) == [bad]
    assert texts[True] == texts[False]
    assert texts[True].count("\n") == 300
