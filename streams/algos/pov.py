"""POV (percentage of volume): keep pace with ``rate`` of the volume the venue trades.

Every public trade of the algo's venue and instrument received at or after the request
(``receive_ts_ns``; a trade older than the last one counted, or the same id at the same
time, is a duplicate) adds its size to the observed volume (``VolumeObserved``). The
target is ``rate * observed`` (at most the quantity, on the lot); when the target less
what is filled or working reaches ``min_slice`` (or finishes the order), a taking IOC
child sends the difference. The observed volume is the venue's whole tape, our own fills
included when the venue publishes them. At ``end_ns`` (if set) the leaves are canceled.
"""

from __future__ import annotations

from tapewire.core.exact import mul, sub
from tapewire.core.records import Record
from tapewire.streams.algos.events import VolumeObserved
from tapewire.streams.algos.request import AlgoRequest, PovParams
from tapewire.streams.algos.schedule import floor_lot
from tapewire.streams.algos.state import MAIN, AlgoOrder
from tapewire.streams.algos.work import AlgoLogic, Work, slice_spec


class Pov(AlgoLogic):
    """POV over the trades the engine feeds it."""

    def __init__(self, request: AlgoRequest) -> None:
        assert isinstance(request.params, PovParams)
        self.params = request.params

    def start(self, work: Work, now_ns: int) -> None:
        request = work.algo.request
        work.open_leg(MAIN, request.side, request.quantity, request.limit_price, now_ns)

    def on_trade(self, work: Work, trade: Record) -> None:
        algo = work.algo
        request, main = algo.request, algo.leg_of(MAIN)
        ts, trade_id = trade["receive_ts_ns"], trade["trade_id"]
        end = self.params.end_ns
        if algo.canceled or main.is_final or main.cancel_requested:
            return
        if ts < request.request_ts_ns or (end is not None and ts >= end):
            return
        if algo.seen_trade(trade_id, ts) or trade["size"] <= 0:
            return
        work.apply(
            VolumeObserved(algo_id=algo.algo_id, trade_id=trade_id, size=trade["size"], ts_ns=ts)
        )
        whole = floor_lot(request.quantity, work.lot)
        target = floor_lot(min(mul(self.params.rate, work.algo.observed_volume), whole), work.lot)
        held = work.algo.held(MAIN)
        want = floor_lot(sub(target, held), work.lot)
        if want > 0 and (want >= self.params.min_slice or want == sub(whole, held)):
            spec = slice_spec(work, want)
            if spec is not None:  # None: no book side to cap the price; the next trade retries
                work.send(MAIN, spec, ts)

    def on_timer(self, work: Work, now_ns: int) -> None:
        end = self.params.end_ns
        if end is not None and now_ns >= end:
            work.cancel_leg(MAIN, now_ns, "end reached")

    def next_timer_ns(self, algo: AlgoOrder) -> int | None:
        main = algo.legs.get(MAIN)
        if main is None or main.is_final or main.cancel_requested or algo.canceled:
            return None
        return self.params.end_ns
