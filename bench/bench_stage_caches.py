"""The normalize stage on bench_mappers' Binance depth deltas with warm and with cold caches.

Run: ``.venv-bench/bin/python bench/bench_stage_caches.py`` (about 1 minute).

Settled like ``bench_mappers.py`` (a block's states are built first, the collector runs once
and everything alive is frozen out of its reach, then each pass is timed). ``warm``: one
Codec for every pass, as ``bench_mappers`` runs the stage side, so from the second pass on
the writer's remembered decimal bytes and the wire-text Decimal memo hit on every level.
``cold``: each pass its own new Codec (empty writer caches) and the Decimal memo cleared
right before its timed loop, so every decimal of the pass is met for the first time by
both (the worst case: a stream whose every size and price is new). 4 blocks per side,
alternated, 40 passes each; the figure is the median of the blocks' medians.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_mappers as bm

from tapewire.schemas.codec import Codec
from tapewire.streams.normalize import Normalizer, decimals
from tapewire.streams.stages.base import InMsg
from tapewire.streams.stages.normalize import NormalizeStage

BLOCKS, PASSES = 4, 40


def prepare(w: bm.Workload, shared: Codec, cold: bool) -> Callable[[], float]:
    """A stage with the workload's set-up applied; the returned call times one pass."""
    codec = Codec() if cold else shared
    encode = codec.for_topic("md.raw").encode
    setup = [InMsg(0, i, None, encode(f)) for i, f in enumerate(w.setup)]
    msgs = [InMsg(0, len(setup) + i, None, encode(f)) for i, f in enumerate(w.frames)]
    states = [Normalizer(markets={w.venue: w.markets}) for _ in range(2)]
    stage = NormalizeStage(codec, new_normalizer=states.pop)
    stage.normalizers[0] = states.pop()
    stage.process(setup)

    def run() -> float:
        if cold:
            decimals._EXACT_TEXT.clear()
        start = time.perf_counter()
        out = stage.process(msgs)
        seconds = time.perf_counter() - start
        if any(m.topic.startswith("dlq") for m in out):
            raise SystemExit("dead letters")
        return seconds / w.counted

    return run


def main() -> None:
    """Time both sides, alternated by block; print µs per frame and frames/s."""
    w = next(x for x in bm.binance_workloads(500) if x.name == "binance depth deltas")
    shared = Codec()
    blocks: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(BLOCKS):
        for cold in (False, True):
            runs = [prepare(w, shared, cold) for _ in range(PASSES)]
            gc.collect()
            gc.freeze()
            times = [run() for run in runs]
            gc.unfreeze()
            del runs
            blocks[cold].append(statistics.median(times))
    for cold, medians in blocks.items():
        med = statistics.median(medians)
        print(
            f"{'cold' if cold else 'warm'}: {med * 1e6:.2f} us/frame = {1 / med:,.0f} frames/s"
            f" (blocks {[round(m * 1e6, 2) for m in medians]})"
        )


if __name__ == "__main__":
    main()
