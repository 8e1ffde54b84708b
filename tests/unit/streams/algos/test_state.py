"""AlgoOrder: the fold of its events, rebuilt from a journal, refusing what cannot apply."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tapewire.streams.algos import (
    AlgoCanceled,
    AlgoEvent,
    AlgoEventError,
    PovParams,
    SliceDue,
    VolumeObserved,
    decode_events,
    encode_events,
    rebuild,
)
from tapewire.streams.oms import OrdStatus
from tests.factories import T0
from tests.factories.algos import Desk, algo_request

D = Decimal


def pov_journal() -> list[AlgoEvent]:
    desk = Desk()
    desk.book([("90", "1")], [("100", "5")], T0)
    desk.submit(algo_request(PovParams(rate=D("0.5"))), T0)
    desk.trade("100", "1", T0 + 1, tid="t1")
    desk.cancel("al1", T0 + 2)
    return desk.journal


def test_the_journal_rebuilds_the_state_at_every_point_also_through_json() -> None:
    journal = pov_journal()
    assert [type(e).__name__ for e in journal] == [
        "AlgoNew",
        "LegEvent",  # ParentNew of main
        "VolumeObserved",
        "LegEvent",  # ChildrenRouted
        "LegEvent",  # ChildDone (IOC filled)
        "LegEvent",  # ChildFilled
        "AlgoCanceled",
        "LegEvent",  # CancelRequested
    ]
    final = rebuild(decode_events(encode_events(journal)))
    assert (final.status, final.cum_qty, final.observed_volume) == (
        OrdStatus.CANCELED,
        D("0.5"),
        D(1),
    )
    for n in range(1, len(journal) + 1):
        assert rebuild(decode_events(encode_events(journal[:n]))) == rebuild(journal[:n])


@pytest.mark.parametrize(
    ("event", "why"),
    [
        (SliceDue(algo_id="al1", slices=1, ts_ns=T0), None),
        (VolumeObserved(algo_id="al1", trade_id="t0", size=D(1), ts_ns=T0), "before"),
        (VolumeObserved(algo_id="al1", trade_id="t9", size=D(0), ts_ns=T0 + 5), "size 0"),
        (AlgoCanceled(algo_id="al1", ts_ns=T0 + 5), "canceled twice"),
        (AlgoCanceled(algo_id="al2", ts_ns=T0 + 5), "event for algo 'al2'"),
    ],
)
def test_an_event_that_cannot_apply_is_refused(event: AlgoEvent, why: str | None) -> None:
    algo = rebuild(pov_journal())
    if why is None:
        assert algo.apply(event).slices_due == 1
        with pytest.raises(AlgoEventError, match="slices 1 after 1"):
            algo.apply(event).apply(event)
        return
    with pytest.raises(AlgoEventError, match=why) as info:
        algo.apply(event)
    assert info.value.algo_id == "al1"


def test_a_repeated_trade_changes_nothing_and_a_history_starts_with_algo_new() -> None:
    journal = pov_journal()
    algo = rebuild(journal)
    seen = VolumeObserved(algo_id="al1", trade_id="t1", size=D(1), ts_ns=T0 + 1)
    assert algo.apply(seen) is algo
    with pytest.raises(AlgoEventError, match="starts with LegEvent"):
        rebuild(journal[1:])
