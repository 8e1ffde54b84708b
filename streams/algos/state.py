"""An algo order's state, event-sourced: ``AlgoOrder.apply(event)``.

An algo order is its request plus its **legs**, each a SOR
:class:`~tapewire.streams.sor.parent.ParentOrder` folded from the leg's parent events
(so cum qty, leaves, average price over children and the FIX-like status are the SOR's,
not a second implementation). TWAP, VWAP, POV and ICEBERG have one leg, ``main``, whose
children are the slices; OCO has ``a`` and ``b``; BRACKET has ``entry`` and one pair
``tp<k>``/``sl<k>`` per entry fill. Beside the legs: the TWAP/VWAP slices handled, POV's
observed volume (and the last trade seen, for de-duplication), and whether the algo was
canceled. ``rebuild(events)`` after a restart equals the live state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import NoReturn

from tapewire.core.exact import ZERO, add
from tapewire.streams.algos.errors import AlgoEventError
from tapewire.streams.algos.events import (
    AlgoCanceled,
    AlgoEvent,
    AlgoNew,
    LegEvent,
    SliceDue,
    VolumeObserved,
)
from tapewire.streams.algos.request import AlgoKind, AlgoRequest
from tapewire.streams.oms.enums import OrdStatus
from tapewire.streams.oms.request import derived_id
from tapewire.streams.sor.parent import ParentNew, ParentOrder

MAIN = "main"
"""The one leg of TWAP, VWAP, POV and ICEBERG."""
ENTRY = "entry"
"""A bracket's entry leg."""
OCO_LEGS = ("a", "b")
"""An OCO's legs (its ``first`` and ``second`` order)."""


def leg_parent_id(algo_id: str, leg: str) -> str:
    """The parent id of a leg: the algo id for ``main``, else ``<algo id>:<leg>``."""
    return algo_id if leg == MAIN else derived_id(algo_id, leg)


def sibling(leg: str) -> str | None:
    """The leg an OCO link cancels when ``leg`` fills: ``a``<->``b``, ``tp<k>``<->``sl<k>``."""
    if leg in OCO_LEGS:
        return OCO_LEGS[1 - OCO_LEGS.index(leg)]
    if leg[:2] in ("tp", "sl") and leg[2:].isdigit():
        return ("sl" if leg[:2] == "tp" else "tp") + leg[2:]
    return None


@dataclass(frozen=True, slots=True)
class AlgoOrder:
    """One algo order's state. Frozen: :meth:`apply` returns a new one."""

    request: AlgoRequest
    created_ts_ns: int
    updated_ts_ns: int
    legs: Mapping[str, ParentOrder] = field(default_factory=dict)
    slices_due: int = 0
    observed_volume: Decimal = ZERO
    last_trade_ts_ns: int | None = None
    trade_ids_at_ts: frozenset[str] = frozenset()
    canceled: bool = False
    cancel_reason: str = ""

    @classmethod
    def from_event(cls, event: AlgoNew) -> AlgoOrder:
        """The algo order of its :class:`AlgoNew` (no leg yet)."""
        return cls(event.request, event.ts_ns, event.ts_ns)

    @property
    def algo_id(self) -> str:
        """The request's algo id."""
        return self.request.algo_id

    @property
    def kind(self) -> AlgoKind:
        """Which algo."""
        return self.request.kind

    # --- derived state -----------------------------------------------------------------

    @property
    def primary(self) -> ParentOrder | None:
        """The leg whose fills are the algo's: ``main``, a bracket's ``entry``, the OCO
        leg that filled (else ``a``); None before it is opened."""
        if self.kind is AlgoKind.OCO:
            for leg in OCO_LEGS:
                state = self.legs.get(leg)
                if state is not None and state.cum_qty > 0:
                    return state
            return self.legs.get(OCO_LEGS[0])
        return self.legs.get(ENTRY if self.kind is AlgoKind.BRACKET else MAIN)

    @property
    def status(self) -> OrdStatus:
        """FIX OrdStatus: the primary leg's (an OCO without a fill: CANCELED once both
        legs are, PENDING_CANCEL while canceling, else NEW)."""
        primary = self.primary
        if primary is None:
            return OrdStatus.CANCELED if self.canceled else OrdStatus.PENDING_NEW
        if self.kind is AlgoKind.OCO and primary.cum_qty == 0:
            if self.legs and all(leg.is_final for leg in self.legs.values()):
                return OrdStatus.CANCELED
            if self.canceled or any(leg.cancel_requested for leg in self.legs.values()):
                return OrdStatus.PENDING_CANCEL
            return OrdStatus.NEW
        return primary.status

    @property
    def cum_qty(self) -> Decimal:
        """What the primary leg filled."""
        primary = self.primary
        return primary.cum_qty if primary is not None else ZERO

    @property
    def is_done(self) -> bool:
        """Nothing more will be sent: every leg final (and, before any leg, canceled)."""
        if not self.legs:
            return self.canceled
        return all(leg.is_final for leg in self.legs.values())

    def leg_of(self, leg: str) -> ParentOrder:
        """The state of leg ``leg``."""
        state = self.legs.get(leg)
        if state is None:
            self._refuse(f"no leg {leg!r}")
        return state

    def held(self, leg: str = MAIN) -> Decimal:
        """What the leg's children filled or still hold (open ones: their quantity)."""
        total = ZERO
        for child in self.leg_of(leg).children.values():
            total = add(total, child.committed)
        return total

    # --- the fold ----------------------------------------------------------------------

    def apply(self, event: AlgoEvent) -> AlgoOrder:
        """The algo order after ``event``; :class:`AlgoEventError` (or the SOR's
        ``ParentEventError`` for a leg event) leaves it unchanged. A repeated fill or
        done event returns the same object."""
        if event.algo_id != self.algo_id:
            self._refuse(f"event for algo {event.algo_id!r}")
        if isinstance(event, LegEvent):
            new = self._leg(event)
        elif isinstance(event, SliceDue):
            if event.slices <= self.slices_due:
                self._refuse(f"slices {event.slices} after {self.slices_due}")
            new = replace(self, slices_due=event.slices)
        elif isinstance(event, VolumeObserved):
            new = self._observed(event)
        elif isinstance(event, AlgoCanceled):
            if self.canceled:
                self._refuse("canceled twice")
            new = replace(self, canceled=True, cancel_reason=event.reason)
        else:
            self._refuse("a second AlgoNew")
        return new if new is self else replace(new, updated_ts_ns=event.ts_ns)

    def _leg(self, event: LegEvent) -> AlgoOrder:
        inner = event.event
        if inner.parent_id != leg_parent_id(self.algo_id, event.leg):
            self._refuse(f"leg {event.leg} event for parent {inner.parent_id!r}")
        if isinstance(inner, ParentNew):
            if event.leg in self.legs:
                self._refuse(f"leg {event.leg} opened twice")
            if self.canceled:
                self._refuse(f"leg {event.leg} opened after the cancel")
            return replace(self, legs={**self.legs, event.leg: ParentOrder.from_event(inner)})
        known = self.leg_of(event.leg)
        state = known.apply(inner)
        if state is known:
            return self
        return replace(self, legs={**self.legs, event.leg: state})

    def _observed(self, event: VolumeObserved) -> AlgoOrder:
        last = self.last_trade_ts_ns
        if last is not None and event.ts_ns < last:
            self._refuse(f"trade {event.trade_id} at {event.ts_ns} before {last}")
        if event.size <= 0:
            self._refuse(f"trade {event.trade_id} size {event.size}")
        if event.ts_ns == last and event.trade_id in self.trade_ids_at_ts:
            return self
        ids = self.trade_ids_at_ts if event.ts_ns == last else frozenset()
        return replace(
            self,
            observed_volume=add(self.observed_volume, event.size),
            last_trade_ts_ns=event.ts_ns,
            trade_ids_at_ts=ids | {event.trade_id},
        )

    def seen_trade(self, trade_id: str, ts_ns: int) -> bool:
        """True for a trade already counted, or older than the last one counted."""
        last = self.last_trade_ts_ns
        if last is None:
            return False
        return ts_ns < last or (ts_ns == last and trade_id in self.trade_ids_at_ts)

    def _refuse(self, why: str) -> NoReturn:
        raise AlgoEventError(f"algo {self.algo_id}: {why}", algo_id=self.algo_id)


def rebuild(events: Iterable[AlgoEvent]) -> AlgoOrder:
    """The algo order rebuilt from its events alone (the first must be its AlgoNew)."""
    algo: AlgoOrder | None = None
    for event in events:
        if algo is None:
            if not isinstance(event, AlgoNew):
                raise AlgoEventError(
                    f"algo {event.algo_id}: history starts with {type(event).__name__}",
                    algo_id=event.algo_id,
                )
            algo = AlgoOrder.from_event(event)
        else:
            algo = algo.apply(event)
    if algo is None:
        raise ValueError("rebuild needs at least one event")
    return algo
