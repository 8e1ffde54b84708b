"""A message near the broker's size limit on md.raw does not stop the hot path.

Its dead letter used to repeat the whole message: over the broker's 1,000,000-byte limit,
so the produce failed, the worker died, and died again at the same offset after every
restart. Now the dead letter carries an excerpt (``tapewire.schemas.dead_letters``), the
worker goes on, and every valid frame after the bad one is processed.
"""

from __future__ import annotations

import uuid

from tapewire.connectors.capture.simulated import raw_frames
from tapewire.connectors.simulator import MarketSimulator, SimConfig
from tapewire.runtime.kafka_io import delete_topics, produce_all
from tapewire.runtime.topics import declare_topics
from tapewire.schemas.dead_letters import MAX_PAYLOAD_BYTES
from tapewire.streams.hotpath import HotPathWorker, build_hot_path
from tapewire.streams.stages.base import InMsg
from tests.fixtures.kafka import consume_n
from tests.fixtures.workers import running
from tests.hotpath_cases import CODEC, config, frames

PAYLOAD_BYTES = 999_846
OUTPUTS = ("md.trades", "md.book", "md.quotes", "dlq.normalize")


def huge_frame() -> InMsg:
    """A binance websocket RawFrame whose payload (not JSON) nearly fills a Kafka message."""
    records = raw_frames(MarketSimulator(SimConfig(seed=1, n_frames=50)).frames())
    record = next(r for r in records if r["transport"] == "WEBSOCKET")
    record = record | {"payload": b"\x00" * PAYLOAD_BYTES}
    value = CODEC.encode("md.raw", record)
    assert 999_000 < len(value) < 1_000_000  # a default producer still sends it
    return InMsg(None, None, CODEC.key("md.raw", record), value)


def test_a_frame_near_the_size_limit_is_one_small_dead_letter_and_the_rest_goes_on(
    kafka_bootstrap: str,
) -> None:
    cfg = config(f"poison{uuid.uuid4().hex[:8]}.", partitions=1)
    names = declare_topics(kafka_bootstrap, cfg)
    try:
        inputs = [huge_frame(), *frames(400)]
        expected: dict[str, int] = dict.fromkeys(OUTPUTS, 0)
        pure = build_hot_path(CODEC, cfg, stages=("normalize",))
        for msg in inputs:
            pure.graph.push(
                "md.raw",
                msg,
                lambda t, _m: expected.__setitem__(t, expected[t] + 1) if t in expected else None,
            )
        assert expected["dlq.normalize"] >= 1
        assert expected["md.trades"] > 0

        produce_all(kafka_bootstrap, cfg.topics.raw, [(m.key, m.value) for m in inputs])
        worker = HotPathWorker(
            kafka_bootstrap,
            cfg,
            build_hot_path(CODEC, cfg, stages=("normalize",)),
            group_id=f"poison-{uuid.uuid4().hex[:6]}",
        )
        with running(worker):
            got = {
                t: consume_n(kafka_bootstrap, cfg.topics.name(t), n, timeout_s=90)
                for t, n in expected.items()
                if n
            }
        letters = [CODEC.decode("dlq.normalize", r.value or b"") for r in got["dlq.normalize"]]
        big = [d for d in letters if d["labels"].get("payload_truncated") == "true"]
        assert len(big) == 1
        assert len(big[0]["payload"]) == MAX_PAYLOAD_BYTES
        assert int(big[0]["labels"]["payload_bytes"]) > PAYLOAD_BYTES
        assert (big[0]["source_topic"], big[0]["source_offset"]) == ("md.raw", 0)
        for topic in ("md.trades", "md.book", "md.quotes"):
            assert len(got.get(topic, [])) == expected[topic], topic
    finally:
        delete_topics(kafka_bootstrap, names)
