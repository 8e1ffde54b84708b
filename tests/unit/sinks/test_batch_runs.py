"""``Batcher.add_messages`` (whole runs of undecoded records) cuts exactly the chunks that
``Batcher.add`` cuts record by record: same offsets, same tokens, same order."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from tapewire.sinks.clickhouse.batch import Batcher, Chunk


def _per_record(offsets: list[int], grid: int) -> list[tuple[str, list[int]]]:
    batcher = Batcher(grid)
    chunks: list[Chunk] = []
    for offset in offsets:
        closed = batcher.add("trades", "md.trades", 3, offset, (offset,))
        if closed is not None:
            chunks.append(closed)
    chunks += batcher.drain()
    return [(c.token, [row[0] for row in c.rows]) for c in chunks]


def _per_run(offsets: list[int], grid: int, cuts: list[int]) -> list[tuple[str, list[int]]]:
    batcher = Batcher(grid)
    chunks: list[Chunk] = []
    bounds = [0, *sorted(c % (len(offsets) + 1) for c in cuts), len(offsets)]
    for start, end in itertools.pairwise(bounds):
        run = offsets[start:end]
        messages = [f"m{o}" for o in run]
        chunks += batcher.add_messages("trades", "md.trades", 3, messages, run)
    chunks += batcher.drain()
    assert batcher.pending_rows == 0
    for chunk in chunks:
        assert chunk.messages == [f"m{o}" for o in chunk.offsets]
        assert (chunk.first_offset, chunk.last_offset) == (chunk.offsets[0], chunk.offsets[-1])
    return [(c.token, c.offsets) for c in chunks]


@settings(deadline=None, max_examples=300)
@given(
    start=st.integers(0, 10_000),
    gaps=st.lists(st.integers(1, 9), min_size=1, max_size=400),
    grid=st.integers(1, 60),
    cuts=st.lists(st.integers(0, 10_000), max_size=6),
)
def test_runs_cut_the_same_chunks_as_single_records(
    start: int, gaps: list[int], grid: int, cuts: list[int]
) -> None:
    # increasing offsets with gaps (transaction markers, compaction) of 1..8 offsets
    offsets = [start]
    for gap in gaps[1:]:
        offsets.append(offsets[-1] + gap)
    assert _per_run(offsets, grid, cuts) == _per_record(offsets, grid)


def test_a_run_that_ends_on_the_grid_closes_its_chunk() -> None:
    batcher = Batcher(5)
    closed = batcher.add_messages("trades", "md.trades", 0, ["a", "b", "c"], [2, 3, 4])
    assert [(c.token, c.messages) for c in closed] == [
        ("tapewire-sink:trades:md.trades:0:2-4", ["a", "b", "c"])
    ]
    # a gap over the boundary (offset 9 missing) keeps the chunk open until the next one
    assert batcher.add_messages("trades", "md.trades", 0, ["d", "e"], [8, 10]) == []
    (chunk,) = batcher.add_messages("trades", "md.trades", 0, ["f", "g"], [14, 15])
    assert (chunk.first_offset, chunk.last_offset, chunk.offsets) == (8, 14, [8, 10, 14])
    assert batcher.pending_rows == 1
