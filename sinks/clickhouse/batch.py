"""Per-partition batches cut on deterministic offset boundaries, with their insert tokens.

Each Kafka partition's rows accumulate in a :class:`Chunk`. A chunk is closed when the
next offset is a multiple of ``grid`` (so a sink restarted from the same committed offset
re-cuts the same chunks and sends the same tokens), or earlier by :meth:`Batcher.drain`
(flush interval, shutdown, rebalance). A chunk's token names exactly the offsets it covers:
``tapewire-sink:<table>:<topic>:<partition>:<first>-<last>``. The sink inserts the chunks
of one topic drained together (by the flush timer) as one INSERT, whose token names every
range: :func:`group_token`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from hashlib import blake2b
from typing import Any

from tapewire.sinks.clickhouse.rows import Row

__all__ = ["Batcher", "Chunk", "dedup_token", "group_token"]


def dedup_token(table: str, topic: str, partition: int, first: int, last: int) -> str:
    """The insert deduplication token of rows from offsets ``first..last`` (inclusive)."""
    return f"tapewire-sink:{table}:{topic}:{partition}:{first}-{last}"


def group_token(chunks: Sequence[Chunk]) -> str:
    """The token of one INSERT of ``chunks`` (one topic, distinct partitions).

    One chunk keeps its own token (:func:`dedup_token`); several give
    ``tapewire-sink:<table>:<topic>:<p>:<first>-<last>,<p>:<first>-<last>...`` in partition
    order, a pure function of the offset ranges (hashed when longer than 200 characters).
    """
    if len(chunks) == 1:
        return chunks[0].token
    first = chunks[0]
    ranges = ",".join(
        f"{c.partition}:{c.first_offset}-{c.last_offset}"
        for c in sorted(chunks, key=lambda c: c.partition)
    )
    if len(ranges) > 200:
        ranges = "h" + blake2b(ranges.encode(), digest_size=20).hexdigest()
    return f"tapewire-sink:{first.table}:{first.topic}:{ranges}"


@dataclass
class Chunk:
    """Rows read from one partition, offsets ``first_offset..last_offset`` inclusive.

    Offsets whose record was dead-lettered are covered but have no row. A chunk of a topic
    that the sink inserts as Avro (:mod:`tapewire.sinks.clickhouse.avro_insert`) holds its Kafka
    messages, undecoded, in ``messages`` (and their offsets) instead of rows.
    """

    table: str
    topic: str
    partition: int
    first_offset: int
    last_offset: int
    rows: list[Row] = field(default_factory=list)
    messages: list[Any] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    """The offsets of ``messages``."""

    @property
    def token(self) -> str:
        """Deterministic insert deduplication token for this chunk."""
        return dedup_token(
            self.table, self.topic, self.partition, self.first_offset, self.last_offset
        )

    @property
    def next_offset(self) -> int:
        """The offset to commit once this chunk is stored."""
        return self.last_offset + 1


class Batcher:
    """Collects rows per (topic, partition) and closes chunks on the offset grid."""

    def __init__(self, grid: int) -> None:
        if grid < 1:
            raise ValueError(f"grid must be >= 1, got {grid}")
        self.grid = grid
        self._open: dict[tuple[str, int], Chunk] = {}
        self.pending_rows = 0

    def add(
        self, table: str, topic: str, partition: int, offset: int, row: Row | None
    ) -> Chunk | None:
        """Add the row of one record (``None`` when it was dead-lettered).

        Returns the chunk that this record closed, if any.
        """
        key = (topic, partition)
        chunk = self._open.get(key)
        if chunk is None:
            chunk = self._open[key] = Chunk(table, topic, partition, offset, offset)
        chunk.last_offset = offset
        if row is not None:
            chunk.rows.append(row)
            self.pending_rows += 1
        if (offset + 1) % self.grid == 0:
            return self._close(key)
        return None

    def add_messages(
        self,
        table: str,
        topic: str,
        partition: int,
        messages: Sequence[Any],
        offsets: Sequence[int],
    ) -> list[Chunk]:
        """Add records kept undecoded (their Kafka messages), read in this order from one
        partition at ``offsets`` (increasing). The same chunks as :meth:`add` per record,
        cut with a search on the offsets instead of a check per record.

        Returns the chunks these records closed, in order.
        """
        key = (topic, partition)
        grid = self.grid
        closed: list[Chunk] = []
        start, count = 0, len(offsets)
        while start < count:
            chunk = self._open.get(key)
            if chunk is None:
                first = offsets[start]
                chunk = self._open[key] = Chunk(table, topic, partition, first, first)
            # the first record at or after ``start`` whose offset + 1 is on the grid
            end = count
            boundary = (offsets[start] // grid + 1) * grid - 1
            while True:
                index = bisect_left(offsets, boundary, start)
                if index >= count:
                    break
                if offsets[index] == boundary:
                    end = index + 1
                    break
                boundary = (offsets[index] // grid + 1) * grid - 1
            chunk.messages.extend(messages[start:end])
            chunk.offsets.extend(offsets[start:end])
            chunk.last_offset = offsets[end - 1]
            self.pending_rows += end - start
            if (chunk.last_offset + 1) % grid == 0:
                closed.append(self._close(key))
            start = end
        return closed

    def drain(self, partitions: set[tuple[str, int]] | None = None) -> list[Chunk]:
        """Close and return the open chunks (of ``partitions`` only, when given)."""
        keys = [k for k in self._open if partitions is None or k in partitions]
        return [self._close(k) for k in keys]

    def _close(self, key: tuple[str, int]) -> Chunk:
        chunk = self._open.pop(key)
        self.pending_rows -= len(chunk.rows) + len(chunk.messages)
        return chunk

    def __len__(self) -> int:
        return len(self._open)
