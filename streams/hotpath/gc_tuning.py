"""Cyclic garbage collector settings for a market-data hot-path process.

Such a process allocates a few container objects per frame (decoded dicts, events, records)
over a large long-lived heap (ccxt markets, codecs, books). With CPython's default
thresholds ``(700, 10, 10)`` a young collection runs every 700 net allocations and a full
one, walking the whole heap, every 100 young ones: in the fused hot path over a 300,000-frame
run that was 15-20% of the process's CPU (docs/benchmarks.md). Raising the thresholds keeps
collections rare; cycles are still collected (a young collection every 50,000 net
allocations, and CPython's own rule runs a full one when a quarter of the old heap is new).

Not for processes on the order path: a young collection over 50,000 objects is a pause of
about a millisecond, which tick-to-order would see.
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 50, 100)
"""Young-generation allocations, then young and middle collections between older ones."""


def tune_for_throughput() -> None:
    """Freeze what exists now (imports, config, codecs: never walked again) and raise the
    collector's thresholds to :data:`THRESHOLDS`. Process-wide."""
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
