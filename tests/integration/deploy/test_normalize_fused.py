"""``tapewire run normalize`` with ``[normalize] fuse = ["bars", "nbbo"]``: one hot-path
process makes the bars and the NBBO from the trades and quotes of its own graph, through
the real broker, with no aggregate process.

Checked: every bar on ``md.bars.<interval>`` equals what the pure bars stage makes from
the pure normalize stage's trades of the same frames (bars are per ``venue:instrument``,
so the order in which the process reads md.raw's partitions cannot change them); the NBBO
is published; nothing goes through the re-key topic the aggregate role would use.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from tapewire.connectors.capture.simulated import publish_raw, simulator_records
from tapewire.connectors.simulator import SimConfig
from tapewire.core.kafka import client_config
from tapewire.runtime.kafka_io import delete_topics, read_to_end
from tapewire.runtime.topics import declare_topics
from tapewire.schemas.codec import Codec
from tapewire.streams.aggregate import BarConfig
from tapewire.streams.stages.bars import BarsStage
from tapewire.streams.stages.base import InMsg
from tapewire.streams.stages.config import StreamsConfig
from tapewire.streams.stages.normalize import NormalizeStage

TAPEWIRE = (sys.executable, "-m", "tapewire.cli")
SIM = SimConfig(seed=17, n_frames=40_000)
"""About 4 s of simulated time: bars of 250 ms and 1 s close (1 s allowed lateness)."""
BARS = ("250ms", "1s")
PARTITIONS = 6


def _comparable(record: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted((k, repr(v)) for k, v in record.items() if k != "process_ts_ns"))


def _expected_bars(frames: list[dict[str, Any]], codec: Codec) -> dict[str, Counter[Any]]:
    """Bars of the pure stages: normalize in frame order, then the bars stage."""
    encode = codec.for_topic("md.raw").encode
    raw = [InMsg(0, i, codec.key("md.raw", f), encode(f)) for i, f in enumerate(frames)]
    normalized = NormalizeStage(codec).process(raw)
    trades = [
        InMsg(0, i, m.key, m.value)
        for i, m in enumerate(m for m in normalized if m.topic == "md.trades")
    ]
    bars = BarsStage(codec, config=BarConfig.from_strings(BARS)).process(trades)
    expected: dict[str, Counter[Any]] = {f"md.bars.{b}": Counter() for b in BARS}
    for out in bars:
        if out.topic in expected:
            expected[out.topic][_comparable(codec.read(out.topic, out.value).to_dict())] += 1
    return expected


def test_one_normalize_process_runs_the_fused_bars_and_nbbo(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    prefix = f"fused{uuid.uuid4().hex[:8]}."
    streams = StreamsConfig(
        topic_prefix=prefix, partitions=PARTITIONS, bars=BarConfig.from_strings(BARS)
    )
    config = tmp_path / "normalize.toml"
    config.write_text(
        f'[kafka]\nbootstrap = "{kafka_bootstrap}"\ntopic_prefix = "{prefix}"\n'
        f"partitions = {PARTITIONS}\n\n"
        '[normalize]\nshell = "hotpath"\nfuse = ["bars", "nbbo"]\n\n'
        f"[aggregate]\nbars = {json.dumps(list(BARS))}\n"
    )
    frames = list(simulator_records(SIM))
    codec = Codec()
    declare_topics(kafka_bootstrap, streams)
    landed = publish_raw(
        kafka_bootstrap, streams.topics.raw, frames, codec, markets_topic=streams.topics.markets
    )
    ends = Counter(r.partition for r in landed)
    # reads the group's committed offsets without joining it (AdminClient's
    # list_consumer_group_offsets crashed this process while the group did not exist yet)
    probe = Consumer(
        client_config(kafka_bootstrap) | {"group.id": f"{prefix}tapewire-normalize-hotpath"}
    )
    wanted = [TopicPartition(streams.topics.raw, p) for p in range(PARTITIONS)]
    log = tmp_path / "normalize.log"
    child = subprocess.Popen(
        [*TAPEWIRE, "run", "normalize", "--config", str(config)],
        env=os.environ | {"TAPEWIRE_DATA_DIR": str(tmp_path / "data")},
        cwd=tmp_path,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            done = {tp.partition: tp.offset for tp in probe.committed(wanted, timeout=10)}
            if all(done.get(p, -1) >= n for p, n in ends.items()):
                break
            assert child.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, (done, ends, log.read_text()[-3000:])
            time.sleep(0.5)
        stored = {
            f"md.bars.{b}": Counter(
                _comparable(codec.read(f"md.bars.{b}", r.value or b"").to_dict())
                for r in read_to_end(kafka_bootstrap, streams.topics.bars(b))
            )
            for b in BARS
        }
        nbbo = read_to_end(kafka_bootstrap, streams.topics.name("md.nbbo"))
        rekeyed = read_to_end(
            kafka_bootstrap, streams.topics.name("md.quotes.by-consolidated"), missing_ok=True
        )
    finally:
        probe.close()
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
        delete_topics(kafka_bootstrap, streams.topics.all())
    assert "stages ['normalize', 'bars', 'nbbo']" in log.read_text()
    expected = _expected_bars(frames, codec)
    assert sum(expected["md.bars.250ms"].values()) > 20
    assert sum(expected["md.bars.1s"].values()) > 5
    assert stored == expected
    assert len(nbbo) > 100
    assert rekeyed == []
