"""Instruction counts of the fused hot path's per-frame work, as the e2e bench runs it.

The hot-path worker's ``_handle`` (canonical topic, commit bookkeeping, graph push through
normalize and NBBO, publish with a real confluent-kafka producer, metrics) over the e2e
bench's simulated frames (seed 7, spread over 6 partitions and handed over in chunks of
500 partition by partition, as fetched from a backlog), without a broker: the producer
points at a closed port and only queues. Everything is built first; MODE ``none`` stops
there (the baseline), ``run`` handles N frames (in batches of the worker's ``max_batch``
when it has one, as its loop takes them from a fetched backlog). Under cachegrind::

    for mode in none run; do
      valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \\
        .venv/bin/python bench/hotpath_instructions.py $mode 5000 2>&1 | grep "I *refs"
    done

(run - none) / N is the instructions per frame. ``--profile FILE`` (third argument) writes
cProfile stats of the run instead.
"""

from __future__ import annotations

import cProfile
import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from confluent_kafka import Message

from tapewire.connectors.capture.simulated import raw_frames
from tapewire.connectors.simulator import MarketSimulator, SimConfig
from tapewire.schemas.codec import Codec
from tapewire.streams.hotpath.worker import HotPathWorker, build_hot_path
from tapewire.streams.stages.config import StreamsConfig

WARM = 2_000
PARTITIONS = 6
CHUNK = 500


def main() -> None:
    """Build the worker and the messages, then handle them (MODE ``run``)."""
    mode, count = sys.argv[1], int(sys.argv[2])
    profile_to = sys.argv[3] if len(sys.argv) > 3 else None
    codec = Codec()
    config = StreamsConfig(app_id="hpi", topic_prefix="hpi.", partitions=PARTITIONS)
    sim = MarketSimulator(SimConfig(seed=7, n_frames=count + WARM))
    raw = config.topics.name("md.raw")
    messages = []
    offsets: dict[int, int] = {}
    for frame in raw_frames(sim.frames()):
        key = codec.key("md.raw", frame)
        partition = zlib.crc32(key) % PARTITIONS  # stable; one connection stays in order
        offset = offsets.get(partition, 0)
        offsets[partition] = offset + 1
        value = codec.encode("md.raw", frame)
        messages.append(
            Message(topic=raw, partition=partition, offset=offset, key=key, value=value)
        )
    hot_path = build_hot_path(codec, config, stages=("normalize", "nbbo"))
    worker = HotPathWorker("127.0.0.1:9", config, hot_path)
    worker._producer = worker._new_producer()
    for msg in messages[:WARM]:
        worker._handle(msg)
    # as a fetch hands them over: each chunk of CHUNK frames partition by partition
    # (every partition's order kept)
    run = []
    for i in range(WARM, len(messages), CHUNK):
        run += sorted(messages[i : i + CHUNK], key=lambda m: m.partition() or 0)
    if mode == "none":
        return
    profile = cProfile.Profile() if profile_to else None
    if profile is not None:
        profile.enable()
    batch = getattr(worker, "max_batch", 1)  # as the worker's loop hands them over
    for i in range(0, len(run), batch):
        if batch > 1:
            worker._handle_many(run[i : i + batch])
        else:
            worker._handle(run[i])
    if profile is not None and profile_to is not None:
        profile.disable()
        profile.dump_stats(profile_to)
    print(f"handled {len(run)}, published {worker.stats.published}", file=sys.stderr)


if __name__ == "__main__":
    main()
