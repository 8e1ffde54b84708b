"""The fused hot path through the real broker (``docs/hot-path.md``).

A seeded two-venue run on ``md.raw`` (3 partitions) → one ``HotPathWorker`` → every
output topic. Checked: each topic holds exactly what the same graph produces in-process
(counts and records, timestamps aside); the worker reads back its own requests and
skips them (one decision per request); an external kill switch on ``oms.requests`` is
decided and cancels the resting orders; offsets are committed, and a restarted worker
with the same group processes nothing twice.
"""

from __future__ import annotations

import time
import uuid
from functools import partial
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from tapewire.core.kafka import client_config
from tapewire.runtime.kafka_io import committed_offsets, delete_topics, produce_all, read_markets
from tapewire.runtime.topics import declare_topics
from tapewire.streams.hotpath import HotPathWorker, build_hot_path
from tapewire.streams.stages.base import InMsg
from tapewire.streams.stages.config import StreamsConfig
from tests.fixtures.kafka import consume_n
from tests.fixtures.workers import running
from tests.hotpath_cases import CODEC, config, frames, kill_switch

TOPICS = (
    "md.trades",
    "md.book",
    "md.quotes",
    "md.coverage",
    "md.nbbo",
    "oms.requests",
    "oms.approved",
    "oms.denied",
    "oms.events",
    "oms.fills",
    "positions",
)
VOLATILE = frozenset(
    {"process_ts_ns", "decision_ts_ns", "decision_id", "event_ts_ns", "venue_ts_ns"}
    | {"update_ts_ns"}
)
"""Fields stamped from the wall clock by the stages (and the paper venue's clock)."""


def stable(topic: str, record: dict[str, Any]) -> dict[str, Any]:
    """A record without the fields stamped from the wall clock."""
    drop = VOLATILE | ({"receive_ts_ns"} if topic == "oms.fills" else set())
    out = {k: v for k, v in record.items() if k not in drop}
    if isinstance(out.get("request"), dict):
        out["request"] = stable("", out["request"])
    return out


def run_pure(cfg: StreamsConfig, inputs: list[InMsg]) -> list[tuple[str, bytes]]:
    """(canonical topic, value) of every output of the graph run in-process."""
    out: list[tuple[str, bytes]] = []
    pure = build_hot_path(CODEC, cfg)
    for msg in inputs:
        pure.graph.push("md.raw", msg, lambda t, m: out.append((t, m[2])))
    return out


def committed(bootstrap: str, group: str, topic: str, partitions: int) -> int:
    consumer = Consumer(client_config(bootstrap) | {"group.id": group})
    try:
        tps = committed_offsets(consumer, [TopicPartition(topic, p) for p in range(partitions)])
        return sum(max(tp.offset, 0) for tp in tps)
    finally:
        consumer.close()


def test_hot_path_through_the_broker(kafka_bootstrap: str) -> None:
    prefix = f"hp{uuid.uuid4().hex[:8]}."
    cfg = config(prefix, partitions=3)
    names = declare_topics(kafka_bootstrap, cfg)
    try:
        # the same graph in-process: what every topic must hold
        expected: dict[str, list[dict[str, Any]]] = {t: [] for t in TOPICS}
        inputs = frames()
        for topic, value in run_pure(cfg, inputs):
            if topic in expected:
                expected[topic].append(CODEC.decode(topic, value))
        assert len(expected["oms.requests"]) == 7
        assert len(expected["oms.fills"]) > 0

        # one key, so one partition: the worker then reads the frames in the total order
        # the in-process run had (md.raw's connection keys would spread them over the 3
        # partitions, and NBBO and strategy would see another interleaving of the venues)
        produce_all(kafka_bootstrap, cfg.topics.raw, [(b"sim", m.value) for m in inputs])
        group = f"{cfg.app_id}-{uuid.uuid4().hex[:6]}"
        worker = HotPathWorker(kafka_bootstrap, cfg, build_hot_path(CODEC, cfg), group_id=group)
        with running(worker) as stats:
            got = {
                t: consume_n(kafka_bootstrap, cfg.topics.name(t), len(expected[t]), timeout_s=90)
                for t in TOPICS
                if expected[t]
            }
            for topic, records in got.items():
                decoded = [CODEC.decode(topic, r.value or b"") for r in records]
                # one partition per key: compare per key in order, then as a whole
                key = sorted if topic != "md.nbbo" else list
                assert len(decoded) == len(expected[topic]), topic
                a = key([repr(stable(topic, r)) for r in decoded])
                b = key([repr(stable(topic, r)) for r in expected[topic]])
                for x, y in zip(a, b, strict=True):
                    assert x == y, topic
            # own requests came back on oms.requests and were skipped, not re-decided
            deadline = time.monotonic() + 30
            while stats.skipped_own < 7 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert stats.skipped_own == 7

            produce_all(
                kafka_bootstrap,
                cfg.topics.name("oms.requests"),
                [(b"*", kill_switch(time.time_ns()))],
            )
            events = consume_n(
                kafka_bootstrap,
                cfg.topics.name("oms.events"),
                len(expected["oms.events"]) + 3,
                timeout_s=60,
            )
            before = {(e["client_order_id"], e["status"]) for e in expected["oms.events"]}
            after = {
                (e["client_order_id"], e["status"])
                for e in (CODEC.decode("oms.events", r.value or b"") for r in events)
            }
            resting = sorted(c for c, status in before if c.startswith("taker:okx:"))
            assert len(resting) == 3
            assert after - before == {(c, "CANCELED") for c in resting}
            approved = consume_n(
                kafka_bootstrap, cfg.topics.name("oms.approved"), 7 + 1, timeout_s=30
            )
            assert len(approved) == 8  # 7 intents + the kill switch's CANCEL_ALL, once each
        assert stats.consumed == len(inputs) + 7 + 1
        assert committed(kafka_bootstrap, group, cfg.topics.raw, 3) == len(inputs)
        assert committed(kafka_bootstrap, group, cfg.topics.name("oms.requests"), 3) == 8

        # a restart with the same group starts after the committed offsets: nothing is
        # processed twice, and the markets (published before the restart) come from
        # md.markets, so the frames that follow normalize without NoMarkets dead letters
        later = frames(3000)[len(inputs) :]
        all_trades = [t for t, _ in run_pure(cfg, frames(3000)) if t == "md.trades"]
        markets = partial(read_markets, kafka_bootstrap, cfg.topics.name("md.markets"), CODEC)
        hot = build_hot_path(CODEC, cfg, markets_reader=markets)
        again = HotPathWorker(kafka_bootstrap, cfg, hot, group_id=group)
        with running(again) as stats2:
            time.sleep(2.0)
            assert (stats2.consumed, stats2.published) == (0, 0)
            produce_all(kafka_bootstrap, cfg.topics.raw, [(b"sim", m.value) for m in later])
            trades = consume_n(
                kafka_bootstrap, cfg.topics.name("md.trades"), len(all_trades), timeout_s=90
            )
            assert len(trades) == len(all_trades)
        assert stats2.consumed == len(later) + stats2.skipped_own  # + its own new requests
        assert stats2.by_topic.get("dlq.normalize", 0) == 0
        # books cannot continue across the restart: one `rebalance` gap per book, no more
        assert stats2.by_topic.get("md.coverage") == 2
    finally:
        delete_topics(kafka_bootstrap, names)
