"""One input's changes to one algo order, and the base of every algo's logic.

:class:`Work` applies events to an :class:`AlgoOrder` as an algo decides them (so the
next decision sees the state after the last one) and collects the child
``OrderRequest``s: opening a leg, sending a child on it, canceling a leg. The engine
journals ``work.events`` and returns ``work.requests``.

Children are ordinary ``OrderRequest``s (they go to ``oms.requests`` and pass the risk
gate) with ``requested_by`` from the config (``algo``) and the tags ``algo.parent`` (the
algo id), ``algo.kind``, ``algo.leg`` and, for TWAP/VWAP slices, ``algo.slice``. Child
``n`` of a leg whose parent id is ``L`` is ``L:c<n>`` (the SOR's
:func:`~tapewire.streams.sor.routing.child_id`), its cancel ``L:c<n>:x``: ids depend only
on the algo's events, so a restarted engine sends the same ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from tapewire.core.exact import BPS, QUANTUM, add, div18, mul, sub, wide
from tapewire.core.records import Record
from tapewire.streams.algos.events import AlgoCanceled, AlgoEvent, LegEvent
from tapewire.streams.algos.state import AlgoOrder, leg_parent_id
from tapewire.streams.execution.book import L2Book
from tapewire.streams.execution.rules import Increment, VenueRules
from tapewire.streams.oms.enums import OrderType, Side, TimeInForce
from tapewire.streams.oms.request import OrderRequest
from tapewire.streams.sor.parent import ChildrenRouted, ParentNew, RoutedChild
from tapewire.streams.sor.routing import cancel, child_id

ONE = Decimal(1)
PARENT_TAG = "algo.parent"
KIND_TAG = "algo.kind"
LEG_TAG = "algo.leg"
SLICE_TAG = "algo.slice"


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """The terms of one child order (side, account, venue, instrument: the leg's)."""

    order_type: OrderType
    time_in_force: TimeInForce
    quantity: Decimal
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


class Work:
    """Changes to one algo order from one input; see the module docstring."""

    def __init__(
        self,
        algo: AlgoOrder,
        requested_by: str,
        rules: VenueRules | None = None,
        book: L2Book | None = None,
    ) -> None:
        self.algo = algo
        self.requested_by = requested_by
        self.lot = rules.amount if rules is not None else None
        self.tick = rules.price if rules is not None else None
        self.book = book
        self.events: list[AlgoEvent] = []
        self.requests: list[OrderRequest] = []

    def apply(self, event: AlgoEvent) -> bool:
        """Apply and keep ``event``; False (nothing kept) when it changed nothing."""
        new = self.algo.apply(event)
        if new is self.algo:
            return False
        self.algo = new
        self.events.append(event)
        return True

    def tags(self, leg: str) -> dict[str, str]:
        """The tags of every child of ``leg``."""
        return {PARENT_TAG: self.algo.algo_id, KIND_TAG: self.algo.kind.value, LEG_TAG: leg}

    def open_leg(
        self, leg: str, side: Side, quantity: Decimal, limit_price: Decimal | None, now_ns: int
    ) -> None:
        """Open leg ``leg`` (a SOR parent order on the algo's venue)."""
        request = self.algo.request
        self.apply(
            LegEvent(
                algo_id=request.algo_id,
                leg=leg,
                event=ParentNew(
                    parent_id=leg_parent_id(request.algo_id, leg),
                    account=request.account,
                    instrument=request.instrument,
                    side=side.value,
                    quantity=quantity,
                    limit_price=limit_price,
                    venues=(request.venue,),
                    strategy_id=request.strategy_id,
                    ts_ns=now_ns,
                ),
            )
        )

    def send(self, leg: str, spec: ChildSpec, now_ns: int) -> OrderRequest:
        """Send the next child of ``leg``: its ``ChildrenRouted`` event, then the request."""
        request = self.algo.request
        parent = self.algo.leg_of(leg)
        cid = child_id(parent.parent_id, len(parent.children) + 1)
        child = RoutedChild(
            client_order_id=cid,
            venue=request.venue,
            quantity=spec.quantity,
            limit_price=spec.limit_price,
        )
        wave = ChildrenRouted(
            parent_id=parent.parent_id, wave=parent.waves + 1, children=(child,), ts_ns=now_ns
        )
        self.apply(LegEvent(algo_id=request.algo_id, leg=leg, event=wave))
        order = OrderRequest(
            client_order_id=cid,
            account=request.account,
            venue=request.venue,
            instrument=request.instrument,
            side=parent.side,
            order_type=spec.order_type,
            time_in_force=spec.time_in_force,
            quantity=spec.quantity,
            limit_price=spec.limit_price,
            stop_price=spec.stop_price,
            strategy_id=request.strategy_id,
            requested_by=self.requested_by,
            request_ts_ns=now_ns,
            tags=self.tags(leg) | dict(spec.tags),
        )
        self.requests.append(order)
        return order

    def cancel_leg(self, leg: str, now_ns: int, reason: str) -> None:
        """Cancel leg ``leg``: CANCEL requests for its open children (none: the leg is
        CANCELED now). Nothing for a final leg or one already canceling."""
        parent = self.algo.leg_of(leg)
        if parent.is_final or parent.cancel_requested:
            return
        event, requests = cancel(parent, now_ns, reason=reason, requested_by=self.requested_by)
        self.apply(LegEvent(algo_id=self.algo.algo_id, leg=leg, event=event))
        self.requests += [r.with_(tags=self.tags(leg)) for r in requests]

    def cancel_all(self, now_ns: int, reason: str) -> None:
        """Stop the algo and cancel every leg (in leg name order)."""
        self.apply(AlgoCanceled(algo_id=self.algo.algo_id, reason=reason, ts_ns=now_ns))
        for leg in sorted(self.algo.legs):
            self.cancel_leg(leg, now_ns, reason)


class AlgoLogic:
    """What one algo does with each input; the defaults do nothing. Subclasses hold no
    state of their own beyond what they derive from the request (a schedule): all state
    is the :class:`AlgoOrder` in ``work``."""

    def start(self, work: Work, now_ns: int) -> None:
        """The algo order was just taken on."""

    def on_timer(self, work: Work, now_ns: int) -> None:
        """Time passed (the stage calls at :meth:`next_timer_ns` or any time)."""

    def on_trade(self, work: Work, trade: Record) -> None:
        """A public trade of the algo's venue and instrument."""

    def on_fill(self, work: Work, leg: str, quantity: Decimal, now_ns: int) -> None:
        """A new fill of ``quantity`` of a child of ``leg`` was applied."""

    def on_child_event(self, work: Work, leg: str, event: Record, now_ns: int) -> None:
        """An ``OrderEvent`` of a child of ``leg`` arrived (a final one was applied)."""

    def next_timer_ns(self, algo: AlgoOrder) -> int | None:
        """When :meth:`on_timer` has something to do next; None: never."""
        return None


def slice_spec(work: Work, quantity: Decimal, **tags: str) -> ChildSpec | None:
    """A taking slice, IOC: LIMIT at the request's limit price, MARKET without one; with
    ``max_slippage_bps``, LIMIT at the touch that far out (rounded to the tick towards the
    touch, never past the request's limit), None while the book has no such side."""
    request = work.algo.request
    limit = request.limit_price
    if request.max_slippage_bps is not None:
        limit = capped_price(request.side, work.book, request.max_slippage_bps, limit, work.tick)
        if limit is None:
            return None
    kind = OrderType.LIMIT if limit is not None else OrderType.MARKET
    return ChildSpec(kind, TimeInForce.IOC, quantity, limit_price=limit, tags=tags)


@wide
def capped_price(
    side: Side,
    book: L2Book | None,
    slippage_bps: Decimal,
    limit: Decimal | None,
    tick: Increment | None,
) -> Decimal | None:
    """The touch (best ask for a buy, best bid for a sell) moved ``slippage_bps`` against
    the order, on the tick towards the touch, within ``limit``; None without a touch."""
    book_side = "asks" if side is Side.BUY else "bids"
    touch = book.best(book_side) if book is not None and book.synced else None
    if touch is None:
        return None
    buy = side is Side.BUY
    rate = div18(slippage_bps, BPS)
    moved = mul(touch, add(ONE, rate) if buy else sub(ONE, rate))
    grid = tick or Increment(QUANTUM)
    price = grid.round(moved, up=not buy)
    if limit is not None:
        price = min(price, limit) if buy else max(price, limit)
    return price
