"""The market hot path's collector settings."""

from __future__ import annotations

import gc

from tapewire.streams.hotpath.gc_tuning import THRESHOLDS, tune_for_throughput


def test_tuning_raises_the_thresholds_and_freezes_the_heap_built_so_far() -> None:
    before = gc.get_threshold()
    kept = {"a": [1, 2]}  # a tracked container alive now
    try:
        tune_for_throughput()
        assert gc.get_threshold() == THRESHOLDS
        assert gc.get_freeze_count() > 0
        assert gc.is_tracked(kept)
        assert not any(o is kept for o in gc.get_objects(0))  # moved out of the young gen
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
    assert gc.get_freeze_count() == 0
