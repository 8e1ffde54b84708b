"""Fault injection, enabled only from here (production code only offers the hook points).

As a process, the ClickHouse sink that SIGKILLs itself right after its Nth insert (stored,
offsets not yet committed):

    python -m tapewire.testing.faults --sink-crash-after-inserts 3 <sink arguments>
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Sequence

from tapewire.sinks.clickhouse import sink
from tapewire.sinks.clickhouse.sink import SinkStats


def crash_sink_after_inserts(count: int) -> Callable[[SinkStats], None]:
    """Make every sink of this process SIGKILL the process once it has done ``count`` inserts."""

    def hook(stats: SinkStats) -> None:
        if stats.inserts >= count:
            os.kill(os.getpid(), signal.SIGKILL)

    sink.AFTER_INSERT.append(hook)
    return hook


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sink's own ``main`` with the faults named on the command line."""
    parser = argparse.ArgumentParser(prog="python -m tapewire.testing.faults")
    parser.add_argument("--sink-crash-after-inserts", type=int, required=True, metavar="N")
    args, rest = parser.parse_known_args(argv)
    crash_sink_after_inserts(args.sink_crash_after_inserts)
    return sink.main(rest)


if __name__ == "__main__":
    sys.exit(main())
