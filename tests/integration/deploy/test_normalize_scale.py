"""Three ``tapewire run normalize`` processes share md.raw and produce exactly what one
process produces (issue 10, acceptance 2).

md.raw is keyed by ``venue:connection_id``; the simulator opens one connection per venue
and instrument plus one per venue for market metadata, so a run spreads over partitions.
The processes join first (one consumer group), then the frames are published, so each
process normalizes exactly the partitions it was assigned: the per-process frame counts
come from the group's assignment and md.raw's per-partition counts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import (
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from tapewire.connectors.capture.simulated import publish_raw, simulator_records
from tapewire.connectors.simulator import SimConfig
from tapewire.core.kafka import client_config
from tapewire.runtime.kafka_io import delete_topics, read_to_end
from tapewire.runtime.topics import declare_topics
from tapewire.schemas.codec import Codec
from tapewire.streams.stages.config import StreamsConfig

TAPEWIRE = (sys.executable, "-m", "tapewire.cli")
SIM = SimConfig(seed=17, n_frames=6_000)
PARTITIONS = 12
"""The 8 simulator connections' keys land on 6 of 12 partitions (murmur2)."""
OUTPUTS = ("md.trades", "md.book", "md.quotes", "md.coverage", "dlq.normalize")
VOLATILE = frozenset({"process_ts_ns", "dead_at_ns"})
"""Fields stamped with the processing wall clock: they differ between any two runs."""


@dataclass
class Run:
    outputs: dict[str, Counter[tuple[Any, ...]]]
    frames_per_member: list[int]
    partitions_per_member: list[list[int]]


def _config(bootstrap: str, prefix: str, shell: str) -> str:
    return f"""
[kafka]
bootstrap = "{bootstrap}"
topic_prefix = "{prefix}"
partitions = {PARTITIONS}

[normalize]
shell = "{shell}"
"""


def _comparable(record: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted((k, repr(v)) for k, v in record.items() if k not in VOLATILE))


def _assignment(admin: AdminClient, group: str) -> list[list[int]] | None:
    """Partitions of each member of a stable group, or None while it is rebalancing."""
    (future,) = admin.describe_consumer_groups([group], request_timeout=10).values()
    try:
        description = future.result()
    except KafkaException:  # the coordinator is not there yet (a new group): ask again
        return None
    if description.state != ConsumerGroupState.STABLE:
        return None
    return [
        sorted(tp.partition for tp in member.assignment.topic_partitions if "md.raw" in tp.topic)
        for member in description.members
    ]


def _run(
    bootstrap: str, tmp_path: Path, frames: list[dict[str, Any]], processes: int, shell: str
) -> Run:
    prefix = f"scale{uuid.uuid4().hex[:8]}."
    streams = StreamsConfig(topic_prefix=prefix, partitions=PARTITIONS)
    work = tmp_path / f"{processes}-processes"
    work.mkdir()
    config = work / "normalize.toml"
    config.write_text(_config(bootstrap, prefix, shell))
    env = os.environ | {"TAPEWIRE_DATA_DIR": str(work / "data")}
    declare_topics(bootstrap, streams)
    admin = AdminClient(client_config(bootstrap))
    group = f"{prefix}tapewire-normalize" + ("-hotpath" if shell == "hotpath" else "")
    children: list[subprocess.Popen[bytes]] = []
    try:
        for i in range(processes):
            (work / f"p{i}").mkdir()
            children.append(
                subprocess.Popen(
                    [*TAPEWIRE, "run", "normalize", "--config", str(config)],
                    env=env,
                    cwd=work / f"p{i}",
                    stdout=(work / f"p{i}.log").open("wb"),
                    stderr=subprocess.STDOUT,
                )
            )
        deadline = time.monotonic() + 120
        assignment = None
        while assignment is None or len(assignment) != processes:
            assert time.monotonic() < deadline, [
                (work / f"p{i}.log").read_text()[-2000:] for i in range(processes)
            ]
            assert all(c.poll() is None for c in children), "a normalize process died"
            time.sleep(0.5)
            assignment = _assignment(admin, group)
        codec = Codec()
        landed = publish_raw(
            bootstrap, streams.topics.raw, frames, codec, markets_topic=streams.topics.markets
        )
        per_partition = Counter(r.partition for r in landed)
        deadline = time.monotonic() + 180
        ends = {tp: n for tp, n in per_partition.items()}
        while True:
            request = [_group_request(group, streams.topics.raw, PARTITIONS)]
            committed = admin.list_consumer_group_offsets(request)[group].result()
            done = {tp.partition: tp.offset for tp in committed.topic_partitions or ()}
            if all(done.get(p, -1) >= n for p, n in ends.items()):
                break
            assert time.monotonic() < deadline, (done, ends)
            assert all(c.poll() is None for c in children), "a normalize process died"
            time.sleep(0.5)
        final = _assignment(admin, group)
        assert final == assignment, "the group rebalanced while the frames were processed"
        outputs = {
            topic: Counter(
                _comparable(codec.read(topic, r.value or b"").to_dict())
                for r in read_to_end(bootstrap, streams.topics.name(topic))
            )
            for topic in OUTPUTS
        }
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
        delete_topics(bootstrap, streams.topics.all())
    return Run(
        outputs=outputs,
        frames_per_member=[sum(per_partition[p] for p in ps) for ps in assignment],
        partitions_per_member=assignment,
    )


def _group_request(group: str, topic: str, partitions: int) -> Any:

    return ConsumerGroupTopicPartitions(
        group, [TopicPartition(topic, p) for p in range(partitions)]
    )


@pytest.mark.parametrize("shell", ["agents", "hotpath"])
def test_three_normalize_processes_split_md_raw_and_match_one(
    kafka_bootstrap: str, tmp_path: Path, shell: str
) -> None:
    frames = list(simulator_records(SIM))
    one = _run(kafka_bootstrap, tmp_path, frames, 1, shell)
    three = _run(kafka_bootstrap, tmp_path, frames, 3, shell)

    assert one.frames_per_member == [len(frames)]
    assert sum(three.frames_per_member) == len(frames)
    assert all(three.partitions_per_member), three
    # the group assigns partitions, not load: with 6 busy partitions of 12, at least two
    # processes get frames (all three in the runs seen so far)
    assert sum(1 for n in three.frames_per_member if n) >= 2, three
    print(
        f"\n3 normalize processes ({shell}): partitions {three.partitions_per_member}, "
        f"frames {three.frames_per_member} of {len(frames)}"
    )
    dead = {
        run: Counter(dict(k)["error_type"] for k in r.outputs["dlq.normalize"].elements())
        for run, r in (("one", one), ("three", three))
    }
    for topic in OUTPUTS:
        assert three.outputs[topic] == one.outputs[topic], (topic, dead)
    assert sum(one.outputs["md.trades"].values()) > 1_000
    assert sum(one.outputs["md.book"].values()) > 1_000
    assert sum(one.outputs["dlq.normalize"].values()) == 0
