"""The order and its FIX OrdStatus state machine, event-sourced: ``Order.apply(report)``.

An order's state is a pure function of the reports applied to it, so ``rebuild(events)``
over the ``OrderEvent`` records it emitted equals the live state. See ``docs/oms.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any, NoReturn

from tapewire.core.exact import ZERO, add, div18, fits_decimal_38_18, mul, sub
from tapewire.core.records import Record
from tapewire.records.orders import OrderEvent
from tapewire.streams.oms.enums import (
    TERMINAL,
    ExecType,
    OrderType,
    OrdStatus,
    Side,
    TimeInForce,
)
from tapewire.streams.oms.errors import IllegalTransitionError, OverfillError
from tapewire.streams.oms.report import ExecutionReport
from tapewire.streams.oms.reports import order_event
from tapewire.streams.oms.request import OrderRequest

S = OrdStatus
WORKING = frozenset({S.PENDING_NEW, S.NEW, S.PARTIALLY_FILLED})
OPEN = WORKING | {S.PENDING_CANCEL, S.PENDING_REPLACE}


class Outcome(StrEnum):
    """What applying a report did."""

    APPLIED = "APPLIED"
    """State changed; an ``OrderEvent`` is emitted."""
    DUPLICATE = "DUPLICATE"
    """Already applied (same exec id, or the same state again): nothing changes."""
    STALE = "STALE"
    """Out of order and superseded (e.g. a cancel-ack after the order filled): ignored."""


@dataclass(frozen=True, slots=True)
class Order:
    """One order's state. Frozen: :meth:`apply` returns a new order."""

    client_order_id: str
    account: str
    venue: str
    instrument: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: Decimal
    created_ts_ns: int
    updated_ts_ns: int
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    strategy_id: str | None = None
    status: OrdStatus = OrdStatus.PENDING_NEW
    cum_qty: Decimal = ZERO
    filled_notional: Decimal = ZERO
    venue_order_id: str | None = None
    acknowledged: bool = False
    emulated: bool = False
    exec_ids: frozenset[str] = field(default_factory=frozenset)
    previous_client_order_ids: tuple[str, ...] = ()

    # --- creation --------------------------------------------------------------------

    @classmethod
    def from_request(cls, request: OrderRequest, now_ns: int) -> Order:
        """A PENDING_NEW order for an approved NEW request."""
        return cls(
            client_order_id=request.client_order_id,
            account=request.account,
            venue=request.venue,
            instrument=request.instrument,
            side=request.side,
            order_type=request.order_type,
            time_in_force=request.time_in_force,
            quantity=request.quantity,
            limit_price=request.limit_price,
            stop_price=request.stop_price,
            strategy_id=request.strategy_id,
            created_ts_ns=now_ns,
            updated_ts_ns=now_ns,
        )

    @classmethod
    def seed(cls, record: Record) -> Order:
        """The PENDING_NEW order an ``OrderEvent`` stream starts from (its first record)."""
        return cls(
            client_order_id=record["client_order_id"],
            account=record["account"],
            venue=record["venue"],
            instrument=record["instrument"],
            side=Side(record["side"]),
            order_type=OrderType(record["order_type"]),
            time_in_force=TimeInForce(record["time_in_force"]),
            quantity=record["quantity"],
            limit_price=record.get("limit_price"),
            stop_price=record.get("stop_price"),
            strategy_id=record.get("strategy_id"),
            created_ts_ns=record["event_ts_ns"],
            updated_ts_ns=record["event_ts_ns"],
        )

    def created_report(self) -> ExecutionReport:
        """The PENDING_NEW report the router emits when it takes the order on."""
        return ExecutionReport(
            event_id=f"{self.account}:{self.client_order_id}:created",
            client_order_id=self.client_order_id,
            exec_type=ExecType.PENDING_NEW,
            event_ts_ns=self.created_ts_ns,
        )

    # --- derived state -----------------------------------------------------------------

    @property
    def leaves_qty(self) -> Decimal:
        """Quantity still open for execution (FIX LeavesQty): 0 once the order is final."""
        return ZERO if self.status in TERMINAL else sub(self.quantity, self.cum_qty)

    @property
    def is_final(self) -> bool:
        """True when nothing more can execute: a terminal status, or nothing left."""
        return self.status in TERMINAL or self.cum_qty >= self.quantity

    @property
    def is_open(self) -> bool:
        """True while the order can still trade on the venue."""
        return not self.is_final

    @property
    def avg_price(self) -> Decimal | None:
        """Average fill price (FIX AvgPx) to 18 places; None before the first fill."""
        return div18(self.filled_notional, self.cum_qty) if self.cum_qty else None

    @property
    def ids(self) -> frozenset[str]:
        """Every client order id this order has had (replaces change it)."""
        return frozenset((self.client_order_id, *self.previous_client_order_ids))

    # --- the state machine -------------------------------------------------------------

    def apply(self, report: ExecutionReport) -> Order:
        """The order after ``report``; raises :class:`ExecutionReportError` (the order is
        unchanged, the caller quarantines the report) for an illegal one."""
        return self.step(report)[0]

    def step(self, report: ExecutionReport) -> tuple[Order, Outcome]:
        """The order after ``report`` and what the report did."""
        if not ({report.client_order_id, report.orig_client_order_id} & self.ids):
            self._illegal(report, f"report is for another order ({report.client_order_id})")
        handler = _HANDLERS.get(report.exec_type)
        if handler is None:
            self._illegal(report, f"exec type {report.exec_type} is not understood")
        new, outcome = handler(self, report)
        if outcome is Outcome.APPLIED and new == self:
            outcome = Outcome.DUPLICATE
        if outcome is not Outcome.APPLIED:
            return self, outcome
        return replace(new, updated_ts_ns=report.event_ts_ns), outcome

    def _illegal(self, report: ExecutionReport, why: str) -> NoReturn:
        raise IllegalTransitionError(
            f"order {self.client_order_id} ({self.status}): {report.exec_type} "
            f"report {report.event_id} rejected: {why}",
            client_order_id=self.client_order_id,
            event_id=report.event_id,
        )

    def _working_status(self) -> OrdStatus:
        if self.cum_qty > ZERO:
            return S.PARTIALLY_FILLED
        return S.NEW if self.acknowledged else S.PENDING_NEW

    def _learn(self, report: ExecutionReport, **changes: Any) -> Order:
        venue_id = report.venue_order_id or self.venue_order_id
        return replace(
            self, venue_order_id=venue_id, emulated=self.emulated or report.emulated, **changes
        )

    # --- handlers: (order, report) -> (order, outcome) ---------------------------------

    def _on_pending_new(self, r: ExecutionReport) -> tuple[Order, Outcome]:
        if self.status is S.PENDING_NEW:
            return self._learn(r), Outcome.APPLIED
        return self, Outcome.STALE

    def _on_new(self, r: ExecutionReport) -> tuple[Order, Outcome]:
        if self.status is S.REJECTED:
            self._illegal(r, "the venue rejected this order")
        status = S.NEW if self.status is S.PENDING_NEW else self.status
        return self._learn(r, status=status, acknowledged=True), Outcome.APPLIED

    def _on_trade(self, r: ExecutionReport) -> tuple[Order, Outcome]:
        qty, price = r.last_qty, r.last_price
        if not r.exec_id or qty is None or price is None:
            self._illegal(r, "a fill needs exec_id, last_qty and last_price")
        if r.exec_id in self.exec_ids:
            return self, Outcome.DUPLICATE
        if not (fits_decimal_38_18(qty) and fits_decimal_38_18(price)) or qty <= 0 or price <= 0:
            self._illegal(r, f"fill {qty} @ {price} is not a positive decimal(38,18)")
        if self.status is S.REJECTED:
            self._illegal(r, "a fill for a rejected order")
        cum = add(self.cum_qty, qty)
        if cum > self.quantity:
            raise OverfillError(
                f"order {self.client_order_id}: fill {r.exec_id} of {qty} would make cum qty "
                f"{cum} > order qty {self.quantity}; quarantined, not applied",
                client_order_id=self.client_order_id,
                event_id=r.event_id,
            )
        if cum == self.quantity:
            status = S.FILLED
        elif self.status in WORKING:
            status = S.PARTIALLY_FILLED
        else:  # pending cancel/replace keep their status; late fills keep CANCELED/EXPIRED
            status = self.status
        new = self._learn(
            r,
            status=status,
            cum_qty=cum,
            filled_notional=add(self.filled_notional, mul(qty, price)),
            exec_ids=self.exec_ids | {r.exec_id},
            acknowledged=True,
        )
        return new, Outcome.APPLIED

    def _on_pending_cancel(self, r: ExecutionReport) -> tuple[Order, Outcome]:
        if self.status in TERMINAL:
            return self._stale_or_illegal(r)
        return self._learn(r, status=S.PENDING_CANCEL), Outcome.APPLIED

    def _on_done(self, r: ExecutionReport, status: OrdStatus) -> tuple[Order, Outcome]:
        if self.status in TERMINAL:
            return self._stale_or_illegal(r)
        return self._learn(r, status=status), Outcome.APPLIED

    def _on_canceled(self, r: ExecutionReport) -> tuple[Order, Outcome]:
        return self._on_done(r, S.CANCELED)

    def _on_expired(self, r: ExecutionReport) -> tuple[Order, Outcome]:
        return self._on_done(r, S.EXPIRED)

    def _on_rejected(self, r: ExecutionReport) -> tuple[Order, Outcome]:
        if self.status is S.REJECTED:
            return self, Outcome.DUPLICATE
        if self.status is not S.PENDING_NEW or self.cum_qty > ZERO:
            self._illegal(r, "only a pending-new order without fills can be rejected")
        return self._learn(r, status=S.REJECTED), Outcome.APPLIED

    def _on_pending_replace(self, r: ExecutionReport) -> tuple[Order, Outcome]:
        if self.status in TERMINAL:
            return self._stale_or_illegal(r)
        if self.status not in (S.NEW, S.PARTIALLY_FILLED, S.PENDING_REPLACE):
            self._illegal(r, "only a working, acknowledged order can be replaced")
        return self._learn(r, status=S.PENDING_REPLACE), Outcome.APPLIED

    def _on_replaced(self, r: ExecutionReport) -> tuple[Order, Outcome]:
        if self.status in TERMINAL:
            return self._stale_or_illegal(r)
        qty = r.quantity
        if qty is None or not fits_decimal_38_18(qty) or qty <= 0:
            self._illegal(r, f"replaced quantity {qty} is not a positive decimal(38,18)")
        if qty < self.cum_qty:
            raise OverfillError(
                f"order {self.client_order_id}: replace to {qty} is below cum qty "
                f"{self.cum_qty}; quarantined, not applied",
                client_order_id=self.client_order_id,
                event_id=r.event_id,
            )
        new_id, previous = self.client_order_id, self.previous_client_order_ids
        if r.client_order_id != self.client_order_id:
            if r.client_order_id in previous:
                self._illegal(r, f"client order id {r.client_order_id} was used before")
            new_id, previous = r.client_order_id, (*previous, self.client_order_id)
        if qty == self.cum_qty:
            status = S.FILLED
        elif self.status is S.PENDING_CANCEL:
            status = S.PENDING_CANCEL
        else:
            status = S.PARTIALLY_FILLED if self.cum_qty > ZERO else S.NEW
        new = self._learn(
            r,
            client_order_id=new_id,
            previous_client_order_ids=previous,
            quantity=qty,
            limit_price=r.limit_price,
            stop_price=r.stop_price,
            status=status,
            acknowledged=True,
        )
        return new, Outcome.APPLIED

    def _on_cancel_rejected(self, r: ExecutionReport) -> tuple[Order, Outcome]:
        return self._restore(r, S.PENDING_CANCEL)

    def _on_replace_rejected(self, r: ExecutionReport) -> tuple[Order, Outcome]:
        return self._restore(r, S.PENDING_REPLACE)

    def _restore(self, r: ExecutionReport, pending: OrdStatus) -> tuple[Order, Outcome]:
        if self.status is not pending:
            return self, Outcome.STALE
        acked = replace(self, acknowledged=True)
        return acked._learn(r, status=acked._working_status()), Outcome.APPLIED

    def _on_info(self, r: ExecutionReport) -> tuple[Order, Outcome]:
        if r.venue_order_id and not self.venue_order_id and self.status is not S.REJECTED:
            return self._learn(r), Outcome.APPLIED
        return self, Outcome.STALE

    def _stale_or_illegal(self, r: ExecutionReport) -> tuple[Order, Outcome]:
        if self.status is S.REJECTED:
            self._illegal(r, "the venue rejected this order")
        return self, Outcome.STALE

    # --- output ------------------------------------------------------------------------

    def event_record(self, report: ExecutionReport) -> OrderEvent:
        """The ``OrderEvent`` record (topic ``oms.events``) for this state after ``report``."""
        trade = report.exec_type is ExecType.TRADE
        terms = {
            "instrument": self.instrument,
            "side": self.side.value,
            "order_type": self.order_type.value,
            "time_in_force": self.time_in_force.value,
            "limit_price": self.limit_price,
            "stop_price": self.stop_price,
            "strategy_id": self.strategy_id,
        }
        return order_event(
            terms,
            event_id=report.event_id,
            client_order_id=report.client_order_id,
            orig_client_order_id=report.orig_client_order_id,
            venue_order_id=self.venue_order_id,
            account=self.account,
            venue=self.venue,
            status=self.status.value,
            exec_type=report.exec_type.value,
            quantity=self.quantity,
            cum_qty=self.cum_qty,
            leaves_qty=self.leaves_qty,
            avg_price=self.avg_price,
            last_qty=report.last_qty if trade else None,
            last_price=report.last_price if trade else None,
            exec_id=report.exec_id if trade else None,
            text=report.text,
            emulated=report.emulated,
            venue_ts_ns=report.venue_ts_ns,
            event_ts_ns=report.event_ts_ns,
        )


_HANDLERS = {
    ExecType.PENDING_NEW: Order._on_pending_new,
    ExecType.NEW: Order._on_new,
    ExecType.TRADE: Order._on_trade,
    ExecType.PENDING_CANCEL: Order._on_pending_cancel,
    ExecType.CANCELED: Order._on_canceled,
    ExecType.EXPIRED: Order._on_expired,
    ExecType.REJECTED: Order._on_rejected,
    ExecType.PENDING_REPLACE: Order._on_pending_replace,
    ExecType.REPLACED: Order._on_replaced,
    ExecType.CANCEL_REJECTED: Order._on_cancel_rejected,
    ExecType.REPLACE_REJECTED: Order._on_replace_rejected,
    ExecType.RESTATED: Order._on_info,
    ExecType.ORDER_STATUS: Order._on_info,
}


def rebuild(records: Iterable[Mapping[str, Any]]) -> Order:
    """The order rebuilt from its ``OrderEvent`` records alone (in the order written).

    Raises :class:`ExecutionReportError` if a record cannot be applied, which cannot
    happen for records an :class:`Order` emitted.
    """
    order: Order | None = None
    for record in records:
        if order is None:
            order = Order.seed(record)
        order = order.apply(ExecutionReport.from_record(record))
    if order is None:
        raise ValueError("rebuild needs at least one OrderEvent record")
    return order
