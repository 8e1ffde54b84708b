"""From a parent order and the current book to child order requests, and back on cancel.

:func:`route` is the one routing step, for the first wave and for every re-route: it
allocates the parent's routable quantity (:attr:`ParentOrder.routable_qty`: what is
neither filled nor held by an open child) on the book as it is now, and returns the
:class:`ChildrenRouted` event with the children as ordinary ``OrderRequest``s: LIMIT
IOC at the allocation's limit price, so every child still goes through the risk gate
(``oms.requests``) and the router sends it to the one venue it names.

A new wave waits until every child of the previous one is done (an IOC child is done at
once): the remainder of a wave is re-allocated on the book *after* it, never twice at
the same time.

Client order ids: child ``n`` (counted over all waves from 1) of parent ``P`` is
``P:c<n>`` (:func:`child_id`), its cancel ``P:c<n>:x``; both through
:func:`~tapewire.streams.oms.request.derived_id`, so they stay within 64 characters
(keep parent ids within about 28 characters for venues that allow 32-36) and are the same
after a restart. Each child request also carries the tags ``sor.parent``, ``sor.wave`` and
``sor.parent_qty`` (the parent's quantity, for TCA).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tapewire.streams.oms.enums import OrderAction, OrderType, TimeInForce
from tapewire.streams.oms.request import OrderRequest, derived_id
from tapewire.streams.sor.allocation import Allocation, VenueLevel, allocate
from tapewire.streams.sor.config import UNLIMITED, Balances, VenueTerms
from tapewire.streams.sor.parent import (
    CancelRequested,
    ChildrenRouted,
    ChildState,
    ParentOrder,
    RoutedChild,
)

REQUESTED_BY = "sor"
PARENT_TAG = "sor.parent"
WAVE_TAG = "sor.wave"
QTY_TAG = "sor.parent_qty"
"""The parent's quantity on each child, so TCA can give a parent its fill ratio and
shortfall from the children alone (``docs/tca.md``)."""


def child_id(parent_id: str, n: int) -> str:
    """Client order id of the parent's ``n``-th child (1-based, over all waves)."""
    return derived_id(parent_id, f"c{n}")


@dataclass(frozen=True, slots=True)
class Routed:
    """One wave: the event to journal, the child requests to send, the allocation."""

    event: ChildrenRouted
    requests: tuple[OrderRequest, ...]
    allocation: Allocation


def route(
    parent: ParentOrder,
    levels: Iterable[VenueLevel],
    venues: Mapping[str, VenueTerms],
    now_ns: int,
    *,
    balances: Balances = UNLIMITED,
    requested_by: str = REQUESTED_BY,
) -> Routed | None:
    """The next wave of ``parent`` on ``levels`` (the side it takes from), or None when
    there is nothing to do: the parent is final or canceling, children are still open,
    nothing is routable, or the book gives no child (no depth within the limit, nothing
    a venue may take). ``venues`` is narrowed to the parent's allowed venues."""
    if parent.open_children:
        return None
    quantity = parent.routable_qty
    if quantity <= 0:
        return None
    allowed = {n: t for n, t in venues.items() if not parent.venues or n in parent.venues}
    allocation = allocate(
        parent.side,
        quantity,
        levels,
        allowed,
        instrument=parent.instrument,
        limit_price=parent.limit_price,
        balances=balances,
    )
    if not allocation.children:
        return None
    wave = parent.waves + 1
    first = len(parent.children) + 1
    children = tuple(
        RoutedChild(
            client_order_id=child_id(parent.parent_id, first + i),
            venue=c.venue,
            quantity=c.quantity,
            limit_price=c.limit_price,
        )
        for i, c in enumerate(allocation.children)
    )
    event = ChildrenRouted(parent_id=parent.parent_id, wave=wave, children=children, ts_ns=now_ns)
    requests = tuple(child_request(parent, c, wave, now_ns, requested_by) for c in children)
    return Routed(event, requests, allocation)


def child_request(
    parent: ParentOrder,
    child: RoutedChild | ChildState,
    wave: int,
    now_ns: int,
    requested_by: str = REQUESTED_BY,
) -> OrderRequest:
    """The LIMIT IOC ``OrderRequest`` of one child of ``parent`` (also to send a child
    again after a restart: same id, so the risk gate refuses a second one)."""
    return OrderRequest(
        client_order_id=child.client_order_id,
        account=parent.account,
        venue=child.venue,
        instrument=parent.instrument,
        side=parent.side,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.IOC,
        quantity=child.quantity,
        limit_price=child.limit_price,
        strategy_id=parent.strategy_id,
        requested_by=requested_by,
        request_ts_ns=now_ns,
        tags={
            PARENT_TAG: parent.parent_id,
            WAVE_TAG: str(wave),
            QTY_TAG: format(parent.quantity, "f"),
        },
    )


def cancel(
    parent: ParentOrder, now_ns: int, *, reason: str = "", requested_by: str = REQUESTED_BY
) -> tuple[CancelRequested, tuple[OrderRequest, ...]]:
    """The cancel of ``parent``: the event, and a CANCEL request for each open child
    (IOC children are usually done already; the parent is CANCELED once all are)."""
    event = CancelRequested(parent_id=parent.parent_id, reason=reason, ts_ns=now_ns)
    requests = tuple(
        OrderRequest(
            client_order_id=derived_id(child.client_order_id, "x"),
            orig_client_order_id=child.client_order_id,
            action=OrderAction.CANCEL,
            account=parent.account,
            venue=child.venue,
            instrument=parent.instrument,
            side=parent.side,
            order_type=OrderType.LIMIT,
            time_in_force=TimeInForce.IOC,
            quantity=child.quantity,
            limit_price=child.limit_price,
            strategy_id=parent.strategy_id,
            requested_by=requested_by,
            request_ts_ns=now_ns,
            tags={PARENT_TAG: parent.parent_id},
        )
        for child in sorted(parent.open_children, key=lambda c: c.client_order_id)
    )
    return event, requests
