"""TWAP and VWAP: slices on a schedule (:mod:`~tapewire.streams.algos.schedule`).

On each timer the slices due so far are handled at once (one ``SliceDue`` event): the
child brings what is filled or working up to the last due slice's cumulative target
(``target - held``, on the lot), so what an earlier IOC slice did not fill is caught up
by the next one and a late timer does not send two children. After the last slice, once
no child is open, the leaves are canceled (reason ``schedule ended``): the algo is
CANCELED with what it filled, as a FIX order that expires.
"""

from __future__ import annotations

from decimal import Decimal

from tapewire.core.exact import sub
from tapewire.core.records import Record
from tapewire.streams.algos.events import SliceDue
from tapewire.streams.algos.request import AlgoRequest, TwapParams, VwapParams
from tapewire.streams.algos.schedule import Schedule, floor_lot, slice_schedule
from tapewire.streams.algos.state import MAIN, AlgoOrder
from tapewire.streams.algos.work import SLICE_TAG, AlgoLogic, Work, slice_spec
from tapewire.streams.execution.rules import Increment

ONE = Decimal(1)


def schedule_of(request: AlgoRequest, lot: Increment | None) -> Schedule:
    """The slice schedule of a TWAP (equal weights) or VWAP (its profile) request."""
    params = request.params
    if isinstance(params, TwapParams):
        weights: tuple[Decimal, ...] = (ONE,) * params.slices
    elif isinstance(params, VwapParams):
        weights = params.profile
    else:
        raise TypeError(f"{request.kind} has no slice schedule")
    return slice_schedule(
        request.algo_id,
        request.quantity,
        weights,
        start_ns=params.start_ns,
        end_ns=params.end_ns,
        time_jitter=params.time_jitter,
        size_jitter=params.size_jitter,
        seed=params.seed,
        lot=lot,
    )


class Scheduled(AlgoLogic):
    """TWAP or VWAP over its :class:`Schedule`."""

    def __init__(self, request: AlgoRequest, lot: Increment | None) -> None:
        self.schedule = schedule_of(request, lot)

    def start(self, work: Work, now_ns: int) -> None:
        request = work.algo.request
        work.open_leg(MAIN, request.side, request.quantity, request.limit_price, now_ns)
        self.on_timer(work, now_ns)

    def on_timer(self, work: Work, now_ns: int) -> None:
        algo = work.algo
        main = algo.leg_of(MAIN)
        due = self.schedule.due(now_ns)
        if algo.canceled or main.is_final or main.cancel_requested or due <= algo.slices_due:
            self._finish(work, now_ns)
            return
        work.apply(SliceDue(algo_id=algo.algo_id, slices=due, ts_ns=now_ns))
        want = floor_lot(sub(self.schedule.targets[due - 1], work.algo.held(MAIN)), work.lot)
        spec = slice_spec(work, want, **{SLICE_TAG: str(due - 1)}) if want > 0 else None
        if spec is not None:  # None: no book side to cap the price; the next slice catches up
            work.send(MAIN, spec, now_ns)
        self._finish(work, now_ns)

    def on_child_event(self, work: Work, leg: str, event: Record, now_ns: int) -> None:
        self._finish(work, now_ns)

    def next_timer_ns(self, algo: AlgoOrder) -> int | None:
        main = algo.legs.get(MAIN)
        if algo.canceled or main is None or main.is_final or main.cancel_requested:
            return None
        if algo.slices_due < len(self.schedule.times):
            return self.schedule.times[algo.slices_due]
        return None

    def _finish(self, work: Work, now_ns: int) -> None:
        main = work.algo.leg_of(MAIN)
        done = work.algo.slices_due == len(self.schedule.times) and not main.open_children
        if done and main.routable_qty > 0:  # 0: all filled, fills may still be on the way
            work.cancel_leg(MAIN, now_ns, "schedule ended")
