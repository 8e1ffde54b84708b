"""Instruction counts of the fused hot path's per-frame work, as the e2e bench runs it.

The hot-path worker's ``_handle`` (canonical topic, commit bookkeeping, graph push through
the market stages, publish with a real confluent-kafka producer, metrics) over the e2e
bench's simulated frames (seed 7, spread over 6 partitions and handed over in chunks of
500 partition by partition, as fetched from a backlog), without a broker: the producer
points at a closed port and only queues. Everything is built first; MODE ``none`` stops
there (the baseline), ``run`` handles N frames (in batches of the worker's ``max_batch``
when it has one, as its loop takes them from a fetched backlog), ``normalize`` runs only
the normalize stage over the same batches (outputs dropped: the normalize stage's share;
``run - normalize`` is the rest of the hot path). Under cachegrind::

    for mode in none normalize run; do
      valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \\
        .venv/bin/python bench/hotpath_instructions.py $mode 5000 --fused 2>&1 | grep "I *refs"
    done

(MODE - none) / N is the instructions per frame. ``--fused`` runs what the e2e bench's
hot-path child runs (normalize, nbbo and bars; the collector tuned for throughput);
without it, normalize and nbbo on the default collector (the figures before bars were
fused). ``--profile FILE`` writes cProfile stats of the run instead.
"""

from __future__ import annotations

import argparse
import cProfile
import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from confluent_kafka import Message

from tapewire.connectors.capture.simulated import raw_frames
from tapewire.connectors.simulator import MarketSimulator, SimConfig
from tapewire.schemas.codec import Codec
from tapewire.streams.hotpath.gc_tuning import tune_for_throughput
from tapewire.streams.hotpath.worker import HotPathWorker, build_hot_path
from tapewire.streams.stages.base import InMsg
from tapewire.streams.stages.config import StreamsConfig

WARM = 2_000
PARTITIONS = 6
CHUNK = 500
FUSED = ("normalize", "nbbo", "bars")
"""The e2e bench's ``--topology fused`` hot path (``MARKET_STAGES`` there)."""
UNFUSED = ("normalize", "nbbo")


def stage_input(msg: Message) -> InMsg:
    """What the worker hands the normalize stage for ``msg``."""
    return InMsg(msg.partition(), msg.offset(), msg.key(), msg.value())


def main() -> None:
    """Build the worker and the messages, then handle them (MODE ``run``/``normalize``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=("none", "run", "normalize"))
    parser.add_argument("count", type=int)
    parser.add_argument("--fused", action="store_true", help="normalize, nbbo, bars; GC tuned")
    parser.add_argument("--profile", metavar="FILE", help="cProfile stats of the run to FILE")
    args = parser.parse_args()
    mode, count = args.mode, args.count
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
    hot_path = build_hot_path(codec, config, stages=FUSED if args.fused else UNFUSED)
    worker = HotPathWorker("127.0.0.1:9", config, hot_path)
    worker._producer = worker._new_producer()
    # as fetched: each chunk of CHUNK frames partition by partition (each one's order kept)
    run = []
    for i in range(WARM, len(messages), CHUNK):
        run += sorted(messages[i : i + CHUNK], key=lambda m: m.partition() or 0)
    if args.fused:  # as the role's process start does (inputs built: not walked again)
        tune_for_throughput()
    batch = getattr(worker, "max_batch", 1)  # as the worker's loop hands them over
    batches = [run[i : i + batch] for i in range(0, len(run), batch)]
    normalize = hot_path.graph.subscribers["md.raw"][0]
    assert normalize.run_batch is not None
    # mode normalize: the stage's own input, built here (the baseline builds it too)
    stage_batches = [[stage_input(m) for m in b] for b in batches]
    for msg in messages[:WARM]:  # every mode: the same baseline and stage state
        worker._handle(msg)
    if mode == "none":
        return
    profile = cProfile.Profile() if args.profile else None
    if profile is not None:
        profile.enable()
    if mode == "normalize":
        for msgs in stage_batches:
            normalize.run_batch("md.raw", msgs)
    elif batch > 1:
        for chunk in batches:
            worker._handle_many(chunk)
    else:
        for msg in run:
            worker._handle(msg)
    if profile is not None:
        profile.disable()
        profile.dump_stats(args.profile)
    if mode == "run":
        print(f"handled {len(run)}, published {worker.stats.published}", file=sys.stderr)


if __name__ == "__main__":
    main()
