"""Iceberg: one resting LIMIT child of the display size at a time at the limit price.

When the shown child is FILLED, the next one is shown: ``display_qty`` times
``1 ± size_jitter`` (drawn from the seed, the algo id and the child's number), on the
lot, at most what is left. A shown child that ends otherwise (canceled or expired at the
venue, rejected by the venue or the risk gate) stops the iceberg: the leaves are
canceled (reason names the child and its status) rather than re-shown blindly.
"""

from __future__ import annotations

from tapewire.core.records import Record
from tapewire.streams.algos.request import AlgoRequest, IcebergParams
from tapewire.streams.algos.schedule import display_size, floor_lot
from tapewire.streams.algos.state import MAIN
from tapewire.streams.algos.work import AlgoLogic, ChildSpec, Work
from tapewire.streams.oms.enums import OrderType, OrdStatus, TimeInForce
from tapewire.streams.sor.routing import child_id


class Iceberg(AlgoLogic):
    """An iceberg order."""

    def __init__(self, request: AlgoRequest) -> None:
        assert isinstance(request.params, IcebergParams)
        self.params = request.params

    def start(self, work: Work, now_ns: int) -> None:
        request = work.algo.request
        work.open_leg(MAIN, request.side, request.quantity, request.limit_price, now_ns)
        self._show(work, now_ns)

    def on_child_event(self, work: Work, leg: str, event: Record, now_ns: int) -> None:
        algo = work.algo
        main = algo.leg_of(MAIN)
        if algo.canceled or main.is_final or main.cancel_requested or main.open_children:
            return
        last = main.children[child_id(main.parent_id, len(main.children))]
        if last.final_status is OrdStatus.FILLED:
            self._show(work, now_ns)
        else:
            why = f"child {last.client_order_id} {last.final_status}: iceberg stopped"
            work.cancel_leg(MAIN, now_ns, why)

    def _show(self, work: Work, now_ns: int) -> None:
        main = work.algo.leg_of(MAIN)
        p = self.params
        n = len(main.children) + 1
        shown = display_size(work.algo.algo_id, n, p.display_qty, p.size_jitter, p.seed, work.lot)
        quantity = min(shown, floor_lot(main.routable_qty, work.lot))
        if quantity > 0:
            limit = work.algo.request.limit_price
            spec = ChildSpec(OrderType.LIMIT, TimeInForce.GTC, quantity, limit_price=limit)
            work.send(MAIN, spec, now_ns)
