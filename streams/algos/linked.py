"""OCO and bracket: orders linked so that a fill of one cancels the other.

**OCO**: legs ``a`` (``params.first``) and ``b`` (``params.second``), each one child of
the whole quantity, sent together. The first fill or part-fill of either (its ``Fill``,
or an ``OrderEvent`` with ``cum_qty > 0``, whichever comes first) cancels the other leg;
the filled leg keeps working.

**Bracket**: leg ``entry`` (LIMIT at the request's limit price, else MARKET). Each new
entry ``Fill`` of ``q`` opens the pair ``tp<k>``/``sl<k>`` (``k`` = 1, 2, ...) on the other
side, each of ``q``: a take-profit LIMIT and a stop-loss STOP (STOP_LIMIT with a stop-loss
limit), linked as an OCO. Exits open from ``Fill`` records (``oms.fills``), which carry the
quantity; a fill that arrives after the bracket was canceled opens no exit.
"""

from __future__ import annotations

from decimal import Decimal

from tapewire.core.records import Record
from tapewire.streams.algos.request import AlgoRequest, BracketParams, OcoParams
from tapewire.streams.algos.state import ENTRY, OCO_LEGS, sibling
from tapewire.streams.algos.work import AlgoLogic, ChildSpec, Work
from tapewire.streams.oms.enums import OrderType, Side, TimeInForce


class _Linked(AlgoLogic):
    def on_fill(self, work: Work, leg: str, quantity: Decimal, now_ns: int) -> None:
        self._cancel_sibling(work, leg, now_ns)

    def on_child_event(self, work: Work, leg: str, event: Record, now_ns: int) -> None:
        if event["cum_qty"] > 0:
            self._cancel_sibling(work, leg, now_ns)

    @staticmethod
    def _cancel_sibling(work: Work, leg: str, now_ns: int) -> None:
        other = sibling(leg)
        if other is not None and other in work.algo.legs:
            work.cancel_leg(other, now_ns, f"OCO: {leg} filled")


class Oco(_Linked):
    """One-cancels-other."""

    def __init__(self, request: AlgoRequest) -> None:
        assert isinstance(request.params, OcoParams)
        self.params = request.params

    def start(self, work: Work, now_ns: int) -> None:
        request = work.algo.request
        p = self.params
        for name, leg in zip(OCO_LEGS, (p.first, p.second), strict=True):
            work.open_leg(name, request.side, request.quantity, leg.limit_price, now_ns)
        for name, leg in zip(OCO_LEGS, (p.first, p.second), strict=True):
            spec = ChildSpec(
                leg.order_type,
                p.time_in_force,
                request.quantity,
                limit_price=leg.limit_price,
                stop_price=leg.stop_price,
            )
            work.send(name, spec, now_ns)


class Bracket(_Linked):
    """Entry, then take profit and stop loss linked as OCO per entry fill."""

    def __init__(self, request: AlgoRequest) -> None:
        assert isinstance(request.params, BracketParams)
        self.params = request.params

    def start(self, work: Work, now_ns: int) -> None:
        request = work.algo.request
        limit = request.limit_price
        work.open_leg(ENTRY, request.side, request.quantity, limit, now_ns)
        kind = OrderType.LIMIT if limit is not None else OrderType.MARKET
        tif = self.params.entry_time_in_force
        work.send(ENTRY, ChildSpec(kind, tif, request.quantity, limit_price=limit), now_ns)

    def on_fill(self, work: Work, leg: str, quantity: Decimal, now_ns: int) -> None:
        if leg != ENTRY:
            self._cancel_sibling(work, leg, now_ns)
            return
        if work.algo.canceled:
            return
        p = self.params
        exit_side = Side.SELL if work.algo.request.side is Side.BUY else Side.BUY
        k = 1 + sum(1 for name in work.algo.legs if name.startswith("tp"))
        take, stop = f"tp{k}", f"sl{k}"
        sl_kind = OrderType.STOP if p.stop_loss_limit_price is None else OrderType.STOP_LIMIT
        work.open_leg(take, exit_side, quantity, p.take_profit_price, now_ns)
        work.open_leg(stop, exit_side, quantity, p.stop_loss_limit_price, now_ns)
        tif: TimeInForce = p.exit_time_in_force
        work.send(
            take,
            ChildSpec(OrderType.LIMIT, tif, quantity, limit_price=p.take_profit_price),
            now_ns,
        )
        spec = ChildSpec(
            sl_kind,
            tif,
            quantity,
            limit_price=p.stop_loss_limit_price,
            stop_price=p.stop_loss_price,
        )
        work.send(stop, spec, now_ns)

    def on_child_event(self, work: Work, leg: str, event: Record, now_ns: int) -> None:
        if leg != ENTRY:
            super().on_child_event(work, leg, event, now_ns)
