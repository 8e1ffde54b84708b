"""A 3-node local KRaft cluster keeps producing and consuming (acks=all) when one broker
stops, and takes the broker back when it restarts."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka.admin import AdminClient

from tapewire.core.kafka import client_config
from tapewire.core.settings import load_settings
from tapewire.runtime.kafka_io import Record, create_topic, produce_all
from tapewire.runtime.kafka_local import LocalKafkaCluster
from tests.fixtures.kafka import consume_n, unique_topic_name

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

PARTITIONS = 3


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafkaCluster]:
    settings = load_settings()
    with LocalKafkaCluster(
        tmp_path_factory.mktemp("kafka3") / "kafka",
        nodes=3,
        version=settings.kafka_version,
        cache_dir=settings.kafka_cache_dir,
        base_port=None,
    ) as running:
        yield running


def _partitions(admin: AdminClient, topic: str) -> dict[int, tuple[int, list[int]]]:
    """partition -> (leader, isr)."""
    metadata = admin.list_topics(topic=topic, timeout=10)
    return {p.id: (p.leader, list(p.isrs)) for p in metadata.topics[topic].partitions.values()}


def _wait_until(what: str, check: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting until {what}")
        time.sleep(0.25)


def _batch(tag: str, n: int) -> list[tuple[bytes | None, bytes | None]]:
    return [(f"okx:ETH/USDT:{i % 5}".encode(), f"{tag}-{i}|0.00000812".encode()) for i in range(n)]


def _values(records: list[Record]) -> list[bytes]:
    """Sorted values: equal lists mean nothing lost and nothing doubled."""
    return sorted(r.value or b"" for r in records)


def test_three_nodes_survive_losing_one_broker(cluster: LocalKafkaCluster) -> None:
    bootstrap = cluster.bootstrap_servers
    admin = AdminClient(client_config(bootstrap))
    # All three registered at start; on 2 cores a JVM can miss a heartbeat while the
    # others warm up and be fenced for a moment: wait for all three, bounded.
    _wait_until(
        "all three brokers are in the metadata",
        lambda: sorted(admin.list_topics(timeout=10).brokers) == [0, 1, 2],
        60,
    )

    topic = unique_topic_name("cluster")
    create_topic(
        bootstrap,
        topic,
        partitions=PARTITIONS,
        replication_factor=3,
        config={"min.insync.replicas": "2"},
    )
    _wait_until(
        "every partition has 3 in-sync replicas",
        lambda: all(len(isr) == 3 for _, isr in _partitions(admin, topic).values()),
        60,
    )
    group = f"cluster-test-{topic}"

    # Consume once with every broker up: this also creates __consumer_offsets (replicated
    # 3 times), which could not be created with a broker down.
    first = produce_all(bootstrap, topic, _batch("a", 200))
    assert _values(consume_n(bootstrap, topic, len(first), group=group, commit=True)) == _values(
        first
    )

    victim = _partitions(admin, topic)[0][0]
    victim_pid = cluster.pid(victim)
    assert victim_pid is not None
    cluster.stop_node(victim)
    assert cluster.pid(victim) is None
    with pytest.raises(ProcessLookupError):
        os.kill(victim_pid, 0)
    assert cluster.status().partially_running

    def leadership_moved() -> bool:
        parts = _partitions(admin, topic)
        return (
            all(leader not in (victim, -1) for leader, _ in parts.values())
            and all(victim not in isr for _, isr in parts.values())
            and victim not in admin.list_topics(timeout=10).brokers
        )

    _wait_until(f"node {victim} is out of the metadata, leaders and ISRs", leadership_moved, 60)

    # acks=all with min.insync.replicas=2 still succeeds with 2 of 3 replicas, and the same
    # group resumes from its committed offsets (its coordinator moved if it was the victim).
    second = produce_all(bootstrap, topic, _batch("b", 200))
    got = consume_n(bootstrap, topic, len(second), group=group, commit=True)
    assert _values(got) == _values(second)

    cluster.start_node(victim)
    assert cluster.status().running
    _wait_until(
        f"node {victim} is back in every ISR",
        lambda: all(len(isr) == 3 for _, isr in _partitions(admin, topic).values()),
        90,
    )
    third = produce_all(bootstrap, topic, _batch("c", 100))
    got = consume_n(bootstrap, topic, len(third), group=group)
    assert _values(got) == _values(third)
    # A fresh group reads everything ever written, exactly once.
    everything = consume_n(bootstrap, topic, 500)
    assert _values(everything) == sorted(_values(first) + _values(second) + _values(third))
