"""At-least-once offset bookkeeping for the hot path (pure: no Kafka, no clock).

Offsets of consumed messages may be committed only once every output produced before
them was acknowledged. The worker tells the tracker what it consumed, what it produced
and what the broker acknowledged; every commit interval it takes a *checkpoint* (the
offsets consumed so far, and the id of the next output), and :meth:`ready` hands back the
newest checkpoint whose outputs are all acknowledged. Nothing ever waits: a checkpoint
becomes committable when its deliveries arrive.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

Offsets = dict[tuple[str, int], int]
"""(topic, partition) -> next offset to read."""


class CommitTracker:
    """Which consumed offsets are safe to commit, given the acknowledged outputs."""

    def __init__(self) -> None:
        self.offsets: Offsets = {}
        """(topic, partition) -> next offset to read, of what was consumed (one dict for
        the tracker's life: the worker writes it directly, as :meth:`consumed`)."""
        self.committed: Offsets = {}
        self._next_id = 0
        self._outstanding: deque[int] = deque()
        self._acked: set[int] = set()
        self.ack = self._acked.add
        """:meth:`acked` as one C call (the producer's delivery callback runs it per
        output)."""
        self._checkpoints: deque[tuple[int, Offsets]] = deque()
        self._last: Offsets = {}

    def consumed(self, topic: str, partition: int, offset: int) -> None:
        """Message ``offset`` of ``topic``/``partition`` was processed (outputs sent)."""
        self.offsets[(topic, partition)] = offset + 1

    def sent(self) -> int:
        """A new output was handed to the producer; returns its id."""
        output_id = self._next_id
        self._next_id += 1
        self._outstanding.append(output_id)
        return output_id

    def acked(self, output_id: int) -> None:
        """The broker acknowledged output ``output_id``."""
        self._acked.add(output_id)

    def low_watermark(self) -> int:
        """The id of the oldest unacknowledged output (the next id if there is none)."""
        outstanding, acked = self._outstanding, self._acked
        while outstanding and outstanding[0] in acked:
            acked.remove(outstanding.popleft())
        return outstanding[0] if outstanding else self._next_id

    def checkpoint(self) -> None:
        """Remember the offsets consumed so far, committable once every output sent
        until now is acknowledged."""
        if self.offsets != self._last:
            self._last = dict(self.offsets)
            self._checkpoints.append((self._next_id, self._last))

    def ready(self) -> Offsets:
        """The not yet committed offsets of the newest fully acknowledged checkpoint."""
        low = self.low_watermark()
        newest: Offsets = {}
        while self._checkpoints and self._checkpoints[0][0] <= low:
            newest = self._checkpoints.popleft()[1]
        return {k: v for k, v in newest.items() if self.committed.get(k) != v}

    def everything(self) -> Offsets:
        """All consumed, not yet committed offsets (once every output is acknowledged)."""
        return {k: v for k, v in self.offsets.items() if self.committed.get(k) != v}

    def forget(self, partitions: Iterable[tuple[str, int]]) -> None:
        """Drop ``(topic, partition)`` pairs this consumer no longer owns (a rebalance
        revoked them): their offsets are the new owner's to commit from now on."""
        gone = set(partitions)
        self._checkpoints = deque(
            (output_id, {k: v for k, v in offsets.items() if k not in gone})
            for output_id, offsets in self._checkpoints
        )
        self._last = {k: v for k, v in self._last.items() if k not in gone}
        for key in gone:
            self.offsets.pop(key, None)
            self.committed.pop(key, None)

    def mark_committed(self, offsets: Offsets) -> None:
        """``offsets`` were handed to the consumer's commit."""
        self.committed.update(offsets)
