"""Smart order router, pure core: a parent order becomes child orders across venues.

* :mod:`~tapewire.streams.sor.config`: fees and rules per venue (:class:`VenueTerms`),
  balances, :class:`SorConfig`;
* :mod:`~tapewire.streams.sor.allocation`: :func:`allocate`, the split by fee-adjusted
  depth, lots, minimums and balances;
* :mod:`~tapewire.streams.sor.parent`: the parent order's events and its event-sourced
  FIX-like state (:class:`ParentOrder`, :func:`rebuild`);
* :mod:`~tapewire.streams.sor.request`: :class:`ParentRequest`, what a strategy asks for;
* :mod:`~tapewire.streams.sor.routing`: :func:`route` (a wave of child ``OrderRequest``s,
  also for re-routes) and :func:`cancel`;
* :mod:`~tapewire.streams.sor.engine`: :class:`SmartOrderRouter`, the object a stage drives.

Children are ordinary ``OrderRequest``s: each still passes the risk gate. See
``docs/sor.md``.

May import: :mod:`tapewire.streams.execution` (fees, venue rules),
:mod:`tapewire.streams.aggregate` (the consolidated book), :mod:`tapewire.streams.oms`,
:mod:`tapewire.core`. Pure: no Kafka client, no Faust.
"""

from tapewire.streams.sor.allocation import (
    Allocation,
    ChildAllocation,
    Dropped,
    VenueLevel,
    allocate,
    effective_price,
    fee_inclusive_price,
    venue_levels,
)
from tapewire.streams.sor.config import UNLIMITED, Balances, SorConfig, VenueTerms
from tapewire.streams.sor.engine import SmartOrderRouter
from tapewire.streams.sor.errors import ParentEventError, SorError, UnknownParentError
from tapewire.streams.sor.parent import (
    CancelRequested,
    ChildDone,
    ChildFilled,
    ChildrenRouted,
    ChildState,
    ParentEvent,
    ParentNew,
    ParentOrder,
    RoutedChild,
    child_done,
    child_filled,
    decode_events,
    encode_events,
    rebuild,
)
from tapewire.streams.sor.request import ParentRequest
from tapewire.streams.sor.routing import Routed, cancel, child_id, child_request, route

__all__ = [
    "UNLIMITED",
    "Allocation",
    "Balances",
    "CancelRequested",
    "ChildAllocation",
    "ChildDone",
    "ChildFilled",
    "ChildState",
    "ChildrenRouted",
    "Dropped",
    "ParentEvent",
    "ParentEventError",
    "ParentNew",
    "ParentOrder",
    "ParentRequest",
    "Routed",
    "RoutedChild",
    "SmartOrderRouter",
    "SorConfig",
    "SorError",
    "UnknownParentError",
    "VenueLevel",
    "VenueTerms",
    "allocate",
    "cancel",
    "child_done",
    "child_filled",
    "child_id",
    "child_request",
    "decode_events",
    "effective_price",
    "encode_events",
    "fee_inclusive_price",
    "rebuild",
    "route",
    "venue_levels",
]
