"""Where the normalize stage's instructions go on bench_mappers' ``binance depth deltas``.

Under callgrind (a venv with cryptofeed, e.g. ``.venv-bench``; any tree: ``ROOT``)::

    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=OUT.%p \\
        .venv-bench/bin/python bench/stage_parts_mappers.py [ROOT]
    python bench/instr_mappers.py --report OUT.*   # or read the dumps' totals

Three rounds of: the whole stage pass as ``bench_mappers.py`` times it (``stage``), then its
parts on the same frames, each counted alone: the md.raw decode to dicts (``decode``), the
native core (``core``: mapper, book sync, BookUpdate records), the generated md.book writer
and the key function on the core's records (``write``, ``key``), and the writer on the 4
published REST snapshots (``snapwrite``, per snapshot). Stage shell = stage - the parts.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]).resolve()
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import bench_mappers as bm  # noqa: E402
from instr_mappers import _helper  # noqa: E402

from tapewire.schemas.codec import Codec  # noqa: E402
from tapewire.streams.normalize import Normalizer  # noqa: E402
from tapewire.streams.normalize.normalizer import BOOK  # noqa: E402


def main() -> None:
    lib = _helper()
    w = next(w for w in bm.binance_workloads(100) if w.name == "binance depth deltas")
    n = w.counted
    codec = Codec()
    serde = codec.for_topic("md.raw")
    values = [serde.encode(f) for f in w.frames]
    setup = [serde.decode(serde.encode(f)) for f in w.setup]
    write = codec.for_topic(BOOK).fast_writer
    key_of = codec.key_of(BOOK)
    assert write is not None
    run = bm.stage_side(w)

    def counted(name: str, frames: int, part: Any) -> Any:
        lib.cg_start()
        result = part()
        lib.cg_stop(f"{name}|{frames}|0".encode())
        return result

    class Toggle:  # stands in for ``time`` in bench_mappers: counts its timed loop only
        on = False
        process_time = staticmethod(time.process_time)

        def perf_counter(self) -> float:
            if self.on:
                lib.cg_stop(f"stage|{n}|0".encode())
            else:
                lib.cg_start()
            self.on = not self.on
            return time.perf_counter()

    for _ in range(3):
        run(False)()
        timed = run(False)  # fresh state and set-up frames: before counting starts
        bm.time = Toggle()  # type: ignore[assignment]
        timed()
        bm.time = time  # type: ignore[assignment]
        decoded = counted("decode", n, lambda: [serde.decode(v) for v in values])
        norm = Normalizer(markets={w.venue: w.markets})
        snapshots = [r for r in norm.process_batch(setup)[BOOK] if r.kind == "SNAPSHOT"]
        records = counted("core", n, lambda: norm.process_batch(decoded))[BOOK]  # noqa: B023
        counted("write", n, lambda: list(map(write, records)))  # noqa: B023
        counted("key", n, lambda: list(map(key_of, records)))  # noqa: B023
        counted("snapwrite", len(snapshots), lambda: list(map(write, snapshots)))  # noqa: B023


if __name__ == "__main__":
    main()
