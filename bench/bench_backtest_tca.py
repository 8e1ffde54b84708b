"""What the TCA stage adds to a backtest replay, in instructions per market event.

Run each mode under valgrind's cachegrind (instruction counts do not depend on the load of
a shared machine), with the same hash seed::

    PYTHONHASHSEED=0 valgrind --tool=cachegrind --cache-sim=no \\
        .venv/bin/python bench/bench_backtest_tca.py --mode tca

for ``--mode tca`` (the backtest graph: TCA included), ``--mode no-tca`` (the same graph
without the TCA node) and ``--mode load`` (events built and the graph made, nothing
replayed: the fixed cost); ``--checked`` checks every record the stages emit against its
schema, as ``replay(checked=True)`` (the command does not). Instructions per event =
(``I refs`` of a mode - those of ``load``) / events; the TCA share = the difference of the
two replays / events. The events are the demo's simulated market made in memory (as
``tests/unit/backtest``), the strategy is ``examples/demo.toml``'s. Prints one JSON line;
figures go to docs/benchmarks.md and bench/results/.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tapewire.backtest import engine
from tapewire.backtest.history import order_records
from tapewire.deploy.config import load_config
from tapewire.testing.history import simulated_records

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    """Replay once in the chosen mode and print what it produced."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("tca", "no-tca", "load"), required=True)
    parser.add_argument("--frames", type=int, default=8_000, help="simulated md.raw frames")
    parser.add_argument("--checked", action="store_true", help="schema-check every record")
    args = parser.parse_args()
    if args.mode == "no-tca":
        engine.STAGES = tuple(s for s in engine.STAGES if s != "tca")
    events = order_records(simulated_records(frames=args.frames), order="receive")
    config = load_config(ROOT / "examples" / "demo.toml").streams_config("bench")
    start, end = events[0].receive_ts_ns, events[-1].receive_ts_ns + 1
    replayed = events if args.mode != "load" else events[:0]
    outputs = engine.replay(
        config, replayed, start_ns=start, end_ns=end, interval_ns=10**9, checked=args.checked
    )
    print(
        json.dumps(
            {
                "mode": args.mode,
                "checked": args.checked,
                "events": len(events),
                "counts": outputs.counts,
            }
        )
    )


if __name__ == "__main__":
    main()
