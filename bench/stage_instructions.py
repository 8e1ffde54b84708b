"""Load-independent cost of the normalize stage: run it under valgrind and count instructions.

The shared machine makes wall-clock figures noisy; instruction counts are not. One process
builds the stage twice per workload (generated codec and fastavro only, see
``bench_normalize.py``), warms each on 200 frames, then runs the side MODE names on N frames
(``none`` runs nothing: the baseline). Instructions per frame =
(I refs of MODE - I refs of ``none``) / N::

    for mode in none trades-compiled trades-fastavro deltas-compiled deltas-fastavro; do
      valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \\
        .venv/bin/python bench/stage_instructions.py $mode 3000 2>&1 | grep "I *refs"
    done
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_normalize as bench

from tapewire.schemas.codec import Codec
from tapewire.streams.stages.base import InMsg
from tapewire.streams.stages.normalize import NormalizeStage

WARM = 200


def main() -> None:
    """Build every side, then run the one named on the command line."""
    mode, count = sys.argv[1], int(sys.argv[2])
    sides: dict[str, tuple[NormalizeStage, list[InMsg]]] = {}
    for name, make in (("trades", bench.trades), ("deltas", bench.deltas)):
        frames = make(count + WARM)
        head = [bench._markets_frame()]
        if frames[0]["transport"] == "REST":
            head.append(frames.pop(0))
        for compiled in (True, False):
            codec = Codec(compiled=compiled)
            stage = NormalizeStage(codec, republish_markets=False)
            stage.process(
                [InMsg(0, i, None, codec.encode("md.raw", f)) for i, f in enumerate(head)]
            )
            msgs = [
                InMsg(0, len(head) + i, None, codec.encode("md.raw", f))
                for i, f in enumerate(frames)
            ]
            stage.process(msgs[:WARM])
            sides[f"{name}-{'compiled' if compiled else 'fastavro'}"] = (stage, msgs[WARM:])
    if mode != "none":
        stage, msgs = sides[mode]
        for i in range(0, len(msgs), 1_000):
            stage.process(msgs[i : i + 1_000])


if __name__ == "__main__":
    main()
