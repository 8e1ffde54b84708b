"""The hot path's at-least-once bookkeeping: offsets become committable only once every
output sent before their checkpoint is acknowledged, whatever order acks arrive in."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from tapewire.streams.hotpath.commits import CommitTracker


def test_checkpoint_waits_for_its_outputs() -> None:
    t = CommitTracker()
    t.consumed("md.raw", 0, 10)
    a, b = t.sent(), t.sent()
    t.checkpoint()
    assert t.ready() == {}  # nothing acknowledged yet
    t.acked(b)
    assert t.ready() == {}  # b acked, a still out: not safe
    t.ack(a)  # the delivery callback's form of acked
    assert t.ready() == {("md.raw", 0): 11}
    t.mark_committed({("md.raw", 0): 11})
    assert t.ready() == {}
    assert t.everything() == {}


def test_newest_ready_checkpoint_wins_and_later_ones_wait() -> None:
    t = CommitTracker()
    t.consumed("md.raw", 0, 1)
    first = t.sent()
    t.checkpoint()
    t.consumed("md.raw", 0, 2)
    t.consumed("oms.requests", 1, 7)
    second = t.sent()
    t.checkpoint()
    t.consumed("md.raw", 0, 3)
    t.sent()  # third output, not acknowledged
    t.checkpoint()
    t.acked(first)
    t.acked(second)
    assert t.ready() == {("md.raw", 0): 3, ("oms.requests", 1): 8}
    t.mark_committed({("md.raw", 0): 3, ("oms.requests", 1): 8})
    assert t.ready() == {}
    assert t.everything() == {("md.raw", 0): 4}


def test_messages_without_outputs_are_committable_at_once() -> None:
    t = CommitTracker()
    t.consumed("oms.requests", 0, 4)  # an own request read back: skipped, no output
    t.checkpoint()
    assert t.ready() == {("oms.requests", 0): 5}


@given(st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=60), st.randoms())
def test_never_commits_past_an_unacknowledged_output(
    outputs_per_message: list[int], rng: random.Random
) -> None:
    t = CommitTracker()
    owner: dict[int, int] = {}  # output id -> offset of the message that caused it
    unacked: list[int] = []
    for offset, n in enumerate(outputs_per_message):
        for _ in range(n):
            output_id = t.sent()
            owner[output_id] = offset
            unacked.append(output_id)
        t.consumed("md.raw", 0, offset)
        t.checkpoint()
        rng.shuffle(unacked)
        for output_id in unacked[: rng.randint(0, len(unacked))]:
            t.acked(output_id)
            unacked.remove(output_id)
        ready = t.ready()
        if ready:
            committed = ready[("md.raw", 0)]
            # every output of every message below the committed offset was acknowledged
            assert all(owner[o] >= committed for o in unacked)
            t.mark_committed(ready)


def test_forgotten_partitions_are_never_committed_again() -> None:
    """After a revocation the new owner commits those partitions; this consumer must not
    overwrite its progress with an older offset from a pending checkpoint."""
    tracker = CommitTracker()
    tracker.consumed("md.raw", 0, 10)
    tracker.consumed("md.raw", 1, 20)
    out = tracker.sent()
    tracker.checkpoint()
    tracker.forget({("md.raw", 1)})
    tracker.acked(out)
    assert tracker.ready() == {("md.raw", 0): 11}
    assert tracker.everything() == {("md.raw", 0): 11}
    tracker.consumed("md.raw", 1, 40)  # the partition came back: tracked afresh
    assert tracker.everything() == {("md.raw", 0): 11, ("md.raw", 1): 41}
