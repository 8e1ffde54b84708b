"""The parent order, event-sourced: ``ParentOrder.apply(event)``.

A parent order (quantity, side, optional limit, allowed venues) is worked by child orders
on venues. Its state is a pure fold of five events, so ``rebuild(events)`` after a restart
equals the live state:

* :class:`ParentNew`: the parent as requested;
* :class:`ChildrenRouted`: one wave of children sent (ids, venues, quantities, limits);
* :class:`ChildFilled`: one fill of a child (from its ``Fill`` record, fee included);
* :class:`ChildDone`: a child reached a final state (from its ``OrderEvent``), with the
  quantity it filled in the end;
* :class:`CancelRequested`: stop working the parent.

Status follows FIX OrdStatus: ``PENDING_NEW`` before the first wave, ``NEW`` /
``PARTIALLY_FILLED`` while working (also while nothing is routable: the remainder waits
for the book to change), ``FILLED`` when the children's fills sum to the quantity,
``PENDING_CANCEL`` after a cancel while children are still open, ``CANCELED`` once they
are all done. ``cum_qty`` and ``avg_price`` are over every child's fills; LeavesQty is
what is not filled while the parent is open.

Events are ``msgspec`` structs (tagged), so a journal of them encodes to JSON and back
(:func:`encode_events`, :func:`decode_events`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import NoReturn

import msgspec

from tapewire.core.exact import ZERO, add, div18, mul, sub
from tapewire.core.instruments import Instrument
from tapewire.core.records import Record
from tapewire.streams.oms.enums import TERMINAL, OrdStatus, Side
from tapewire.streams.sor.allocation import fee_inclusive_price
from tapewire.streams.sor.errors import ParentEventError

# --- events --------------------------------------------------------------------------


class ParentNew(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """A parent order taken on. ``venues`` empty = every venue the router knows."""

    parent_id: str
    account: str
    instrument: str
    side: str
    quantity: Decimal
    limit_price: Decimal | None = None
    venues: tuple[str, ...] = ()
    strategy_id: str | None = None
    ts_ns: int


class RoutedChild(msgspec.Struct, frozen=True, kw_only=True):
    """One child of a wave: its client order id, venue, quantity and limit price (None
    for a child without one: an execution algo's market slice or stop leg)."""

    client_order_id: str
    venue: str
    quantity: Decimal
    limit_price: Decimal | None = None


class ChildrenRouted(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """Wave ``wave`` (1, 2, ...) of children sent to the risk gate."""

    parent_id: str
    wave: int
    children: tuple[RoutedChild, ...]
    ts_ns: int


class ChildFilled(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """One fill of a child (``oms.fills``); ``fill_id`` makes it idempotent."""

    parent_id: str
    client_order_id: str
    fill_id: str
    quantity: Decimal
    price: Decimal
    fee: Decimal = ZERO
    fee_currency: str | None = None
    ts_ns: int


class ChildDone(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """A child in a final state (``oms.events``): ``cum_qty`` is all it will ever fill."""

    parent_id: str
    client_order_id: str
    status: str
    cum_qty: Decimal
    ts_ns: int


class CancelRequested(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """Stop working the parent: no new wave; done once every child is."""

    parent_id: str
    reason: str = ""
    ts_ns: int


ParentEvent = ParentNew | ChildrenRouted | ChildFilled | ChildDone | CancelRequested

_EVENTS = msgspec.json.Decoder(list[ParentEvent])


def encode_events(events: Iterable[ParentEvent]) -> bytes:
    """Events as one JSON array (decimals as strings, exact)."""
    return msgspec.json.encode(list(events))


def decode_events(data: bytes) -> list[ParentEvent]:
    """The events of :func:`encode_events`."""
    return _EVENTS.decode(data)


def child_filled(parent_id: str, fill: Record) -> ChildFilled:
    """The :class:`ChildFilled` of a child's ``Fill`` record."""
    return ChildFilled(
        parent_id=parent_id,
        client_order_id=fill["client_order_id"],
        fill_id=fill["fill_id"],
        quantity=fill["quantity"],
        price=fill["price"],
        fee=fill["fee"],
        fee_currency=fill.get("fee_currency"),
        ts_ns=fill["receive_ts_ns"],
    )


def child_done(parent_id: str, event: Record) -> ChildDone | None:
    """The :class:`ChildDone` of a child's ``OrderEvent`` in a final state; None for any
    other event (acks, fills: fills come from ``oms.fills``)."""
    status = OrdStatus(event["status"])
    if status not in TERMINAL:
        return None
    return ChildDone(
        parent_id=parent_id,
        client_order_id=event["client_order_id"],
        status=status.value,
        cum_qty=event["cum_qty"],
        ts_ns=event["event_ts_ns"],
    )


# --- state ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChildState:
    """A child as the parent sees it (``limit_price`` None: a market or stop child)."""

    client_order_id: str
    venue: str
    quantity: Decimal
    limit_price: Decimal | None
    wave: int
    cum_qty: Decimal = ZERO
    final_status: OrdStatus | None = None
    final_cum_qty: Decimal | None = None

    @property
    def is_open(self) -> bool:
        """True until its final ``OrderEvent`` arrived."""
        return self.final_status is None

    @property
    def committed(self) -> Decimal:
        """Quantity it holds of the parent: all of it while open, what it filled after."""
        if self.is_open:
            return self.quantity
        return max(self.cum_qty, self.final_cum_qty or ZERO)


@dataclass(frozen=True, slots=True)
class ParentOrder:
    """One parent order's state. Frozen: :meth:`apply` returns a new parent."""

    parent_id: str
    account: str
    instrument: str
    side: Side
    quantity: Decimal
    created_ts_ns: int
    updated_ts_ns: int
    limit_price: Decimal | None = None
    venues: tuple[str, ...] = ()
    strategy_id: str | None = None
    children: Mapping[str, ChildState] = field(default_factory=dict)
    waves: int = 0
    cum_qty: Decimal = ZERO
    filled_notional: Decimal = ZERO
    fees: tuple[tuple[str, Decimal], ...] = ()
    fill_ids: frozenset[str] = frozenset()
    cancel_requested: bool = False

    @classmethod
    def from_event(cls, event: ParentNew) -> ParentOrder:
        """The PENDING_NEW parent of its :class:`ParentNew`."""
        return cls(
            parent_id=event.parent_id,
            account=event.account,
            instrument=event.instrument,
            side=Side(event.side),
            quantity=event.quantity,
            limit_price=event.limit_price,
            venues=event.venues,
            strategy_id=event.strategy_id,
            created_ts_ns=event.ts_ns,
            updated_ts_ns=event.ts_ns,
        )

    # --- derived state -----------------------------------------------------------------

    @property
    def status(self) -> OrdStatus:
        """FIX OrdStatus of the parent (see the module docstring)."""
        if self.cum_qty >= self.quantity:
            return OrdStatus.FILLED
        if self.cancel_requested:
            return OrdStatus.PENDING_CANCEL if self.open_children else OrdStatus.CANCELED
        if self.cum_qty > 0:
            return OrdStatus.PARTIALLY_FILLED
        return OrdStatus.NEW if self.children else OrdStatus.PENDING_NEW

    @property
    def is_final(self) -> bool:
        """FILLED or CANCELED: nothing more happens to it."""
        return self.status in TERMINAL

    @property
    def leaves_qty(self) -> Decimal:
        """FIX LeavesQty: quantity not filled while the parent is open, 0 once final."""
        return ZERO if self.is_final else sub(self.quantity, self.cum_qty)

    @property
    def avg_price(self) -> Decimal | None:
        """FIX AvgPx over every child's fills (no fees), 18 places; None before a fill."""
        return div18(self.filled_notional, self.cum_qty) if self.cum_qty else None

    def avg_price_with_fees(self) -> Decimal | None:
        """Average price per unit with the children's fees (what a buy paid, a sell got)."""
        if not self.cum_qty:
            return None
        fees = [(ZERO, ZERO, amount, currency) for currency, amount in self.fees]
        return fee_inclusive_price(
            self.side,
            Instrument.parse(self.instrument),
            [(self.filled_notional, self.cum_qty, ZERO, ""), *fees],
        )

    @property
    def open_children(self) -> list[ChildState]:
        """Children without their final event yet."""
        return [c for c in self.children.values() if c.is_open]

    @property
    def routable_qty(self) -> Decimal:
        """What a new wave may route: the quantity less what children hold or filled; 0
        when final or canceling."""
        if self.is_final or self.cancel_requested:
            return ZERO
        committed = ZERO
        for child in self.children.values():
            committed = add(committed, child.committed)
        return max(sub(self.quantity, committed), ZERO)

    # --- the fold ----------------------------------------------------------------------

    def apply(self, event: ParentEvent) -> ParentOrder:
        """The parent after ``event``; :class:`ParentEventError` (parent unchanged) for
        one that cannot apply. Repeated fills and done events change nothing."""
        if event.parent_id != self.parent_id:
            self._refuse(f"event for parent {event.parent_id!r}")
        if isinstance(event, ChildrenRouted):
            new = self._routed(event)
        elif isinstance(event, ChildFilled):
            new = self._filled(event)
        elif isinstance(event, ChildDone):
            new = self._done(event)
        elif isinstance(event, CancelRequested):
            if self.is_final:
                self._refuse(f"cancel of a {self.status} parent")
            new = replace(self, cancel_requested=True)
        else:
            self._refuse("a second ParentNew")
        return new if new is self else replace(new, updated_ts_ns=event.ts_ns)

    def _routed(self, event: ChildrenRouted) -> ParentOrder:
        if self.is_final or self.cancel_requested:
            self._refuse(f"wave {event.wave} routed to a {self.status} parent")
        if event.wave != self.waves + 1:
            self._refuse(f"wave {event.wave} after wave {self.waves}")
        total = ZERO
        children = dict(self.children)
        for child in event.children:
            if child.client_order_id in children:
                self._refuse(f"child id {child.client_order_id} used twice")
            if child.quantity <= 0:
                self._refuse(f"child {child.client_order_id} quantity {child.quantity}")
            total = add(total, child.quantity)
            children[child.client_order_id] = ChildState(
                child.client_order_id, child.venue, child.quantity, child.limit_price, event.wave
            )
        if total > self.routable_qty:
            self._refuse(f"wave {event.wave} routes {total} > routable {self.routable_qty}")
        return replace(self, children=children, waves=event.wave)

    def _filled(self, event: ChildFilled) -> ParentOrder:
        if event.fill_id in self.fill_ids:
            return self
        child = self._child(event.client_order_id)
        if event.quantity <= 0 or event.price <= 0:
            self._refuse(f"fill {event.fill_id}: {event.quantity} @ {event.price}")
        cum = add(child.cum_qty, event.quantity)
        if cum > child.quantity:
            self._refuse(f"fill {event.fill_id} overfills child {child.client_order_id}")
        fees = dict(self.fees)
        if event.fee:
            currency = event.fee_currency or ""
            fees[currency] = add(fees.get(currency, ZERO), event.fee)
        return replace(
            self,
            children={**self.children, child.client_order_id: replace(child, cum_qty=cum)},
            cum_qty=add(self.cum_qty, event.quantity),
            filled_notional=add(self.filled_notional, mul(event.quantity, event.price)),
            fees=tuple(sorted(fees.items())),
            fill_ids=self.fill_ids | {event.fill_id},
        )

    def _done(self, event: ChildDone) -> ParentOrder:
        child = self._child(event.client_order_id)
        if not child.is_open:
            return self
        status = OrdStatus(event.status)
        if status not in TERMINAL:
            self._refuse(f"child {child.client_order_id} done with status {status}")
        if event.cum_qty > child.quantity:
            self._refuse(f"child {child.client_order_id} done with cum {event.cum_qty}")
        done = replace(child, final_status=status, final_cum_qty=event.cum_qty)
        return replace(self, children={**self.children, child.client_order_id: done})

    def _child(self, client_order_id: str) -> ChildState:
        child = self.children.get(client_order_id)
        if child is None:
            self._refuse(f"no child {client_order_id!r}")
        return child

    def _refuse(self, why: str) -> NoReturn:
        raise ParentEventError(f"parent {self.parent_id}: {why}", parent_id=self.parent_id)


def rebuild(events: Iterable[ParentEvent]) -> ParentOrder:
    """The parent rebuilt from its events alone (the first must be its ParentNew)."""
    parent: ParentOrder | None = None
    for event in events:
        if parent is None:
            if not isinstance(event, ParentNew):
                raise ParentEventError(
                    f"parent {event.parent_id}: history starts with {type(event).__name__}",
                    parent_id=event.parent_id,
                )
            parent = ParentOrder.from_event(event)
        else:
            parent = parent.apply(event)
    if parent is None:
        raise ValueError("rebuild needs at least one event")
    return parent
