"""``peek_raw_markets`` on the real broker: the REST frames a consumer group has not
processed yet on md.raw, read without committing anything.

Expectations from the simulator run the test publishes (its REST frames, and the record
each one was published as)."""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer, TopicPartition

from tapewire.connectors.capture.simulated import publish_raw, raw_frames
from tapewire.connectors.simulator import MarketSimulator, SimConfig
from tapewire.core.kafka import client_config
from tapewire.runtime.kafka_io import committed_offsets, peek_raw_markets
from tapewire.schemas.codec import Codec
from tests.fixtures.kafka import TopicFactory

FRAMES = list(raw_frames(MarketSimulator(SimConfig(seed=19, n_frames=600)).frames()))


def _ids(frames: list[dict[str, object]]) -> list[tuple[object, object]]:
    return sorted((f["connection_id"], f["sequence"]) for f in frames)


def test_peek_reads_the_rest_frames_ahead_of_the_group_and_commits_nothing(
    kafka_bootstrap: str, kafka_topic: TopicFactory
) -> None:
    codec = Codec()
    topic = kafka_topic("md.raw", partitions=12)
    published = publish_raw(kafka_bootstrap, topic, FRAMES, codec)
    group = f"peek-{uuid.uuid4().hex[:8]}"
    rest = [f for f in FRAMES if f["transport"] == "REST"]
    assert len(rest) == 5  # binance + okx markets, 3 binance book snapshots

    # a group that processed nothing: every REST frame of the venues asked for
    got = peek_raw_markets(kafka_bootstrap, topic, group, codec, {"binance", "okx"})
    assert _ids(got) == _ids(rest)
    okx = peek_raw_markets(kafka_bootstrap, topic, group, codec, {"okx"})
    assert _ids(okx) == _ids([f for f in rest if f["venue"] == "okx"])

    # the group committed past binance's market frame: that one is not ahead any more
    market = next(f for f in FRAMES if f["connection_id"] == "binance-sim-1")
    where = next(r for r in published if r.value == codec.encode("md.raw", market))
    consumer = Consumer(client_config(kafka_bootstrap) | {"group.id": group})
    try:
        consumer.commit(
            offsets=[TopicPartition(topic, where.partition, where.offset + 1)], asynchronous=False
        )
        got = peek_raw_markets(kafka_bootstrap, topic, group, codec, {"binance"})
        assert _ids(got) == _ids([f for f in rest if f["venue"] == "binance" and f is not market])
        # the peek itself committed nothing
        committed = committed_offsets(
            consumer, [TopicPartition(topic, p) for p in range(12)], timeout_s=10
        )
        assert {tp.partition: tp.offset for tp in committed if tp.offset >= 0} == {
            where.partition: where.offset + 1
        }
    finally:
        consumer.close()

    # the bound: at most max_per_partition messages per partition are looked at
    first = {
        r.partition: codec.decode("md.raw", r.value or b"")
        for r in sorted(published, key=lambda r: -r.offset)
    }
    fresh = f"peek-{uuid.uuid4().hex[:8]}"
    got = peek_raw_markets(
        kafka_bootstrap, topic, fresh, codec, {"binance", "okx"}, max_per_partition=1
    )
    assert _ids(got) == _ids([f for f in first.values() if f["transport"] == "REST"])
