"""Orders of all accounts and venues, keyed by client order id (any id an order has had)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tapewire.records.orders import OrderEvent
from tapewire.streams.oms.errors import ExecutionReportError, OmsError, UnknownOrderError
from tapewire.streams.oms.order import Order, Outcome
from tapewire.streams.oms.report import ExecutionReport


@dataclass(frozen=True, slots=True)
class Applied:
    """Result of :meth:`OrderStore.on_report`.

    ``event`` is the ``OrderEvent`` record to publish (None when nothing changed);
    ``error`` is set (and ``outcome`` None) when the report was quarantined.
    """

    order: Order
    outcome: Outcome | None
    event: OrderEvent | None = None
    error: ExecutionReportError | None = None

    def alert(self, now_ns: int) -> dict[str, Any] | None:
        """An ``Alert`` record for a quarantined report; None otherwise."""
        if self.error is None:
            return None
        order = self.order
        return {
            "alert_id": f"oms:{order.account}:{self.error.event_id}",
            "severity": "ERROR",
            "source": "oms",
            "code": self.error.code,
            "message": self.error.message,
            "labels": {
                "account": order.account,
                "venue": order.venue,
                "instrument": order.instrument,
                "client_order_id": order.client_order_id,
            },
            "event_ts_ns": now_ns,
        }


class OrderStore:
    """Live orders keyed by ``(account, client order id)``; replaces keep old ids resolving.

    Reports go through :meth:`on_report`: illegal ones and overfills are quarantined in
    :attr:`quarantine` (with an Alert), never applied and never raised.
    """

    def __init__(self) -> None:
        self._orders: dict[tuple[str, str], Order] = {}
        self._alias: dict[tuple[str, str], str] = {}
        self.quarantine: list[tuple[ExecutionReport, ExecutionReportError]] = []

    def __len__(self) -> int:
        return len(self._orders)

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self._alias

    def add(self, order: Order) -> OrderEvent:
        """Take on a new order; returns its PENDING_NEW ``OrderEvent`` record.

        A client order id already known for the account raises :class:`OmsError`
        (idempotency: never a second order under one id).
        """
        key = (order.account, order.client_order_id)
        if key in self._alias:
            raise OmsError(
                f"account {order.account}: client order id {order.client_order_id} is taken",
                hint="a request with a known id is a duplicate; use a new id",
            )
        self._orders[key] = order
        self._alias[key] = order.client_order_id
        return order.event_record(order.created_report())

    def get(self, account: str, client_order_id: str) -> Order:
        """The order known under ``client_order_id`` (current or earlier id)."""
        current = self._alias.get((account, client_order_id))
        if current is None:
            raise UnknownOrderError(client_order_id)
        return self._orders[(account, current)]

    def find(self, account: str, report: ExecutionReport) -> Order:
        """The order ``report`` is about (by client order id, then original id)."""
        for cid in (report.client_order_id, report.orig_client_order_id):
            if cid and (account, cid) in self._alias:
                return self.get(account, cid)
        raise UnknownOrderError(report.client_order_id)

    def on_report(self, account: str, report: ExecutionReport) -> Applied:
        """Apply ``report`` to its order; quarantine it if it is illegal or an overfill."""
        order = self.find(account, report)
        try:
            new, outcome = order.step(report)
        except ExecutionReportError as exc:
            self.quarantine.append((report, exc))
            return Applied(order, None, error=exc)
        if outcome is not Outcome.APPLIED:
            return Applied(order, outcome)
        old_key = (account, order.client_order_id)
        key = (account, new.client_order_id)
        if key != old_key:
            del self._orders[old_key]
        self._orders[key] = new
        for cid in new.ids:
            self._alias[(account, cid)] = new.client_order_id
        return Applied(new, outcome, event=new.event_record(report))

    def orders(self) -> Iterator[Order]:
        """Every order, open or final."""
        return iter(self._orders.values())

    def open_orders(self, account: str | None = None, venue: str | None = None) -> list[Order]:
        """Open orders, optionally of one account and/or venue, sorted by venue and id."""
        found = [
            o
            for o in self._orders.values()
            if o.is_open
            and (account is None or o.account == account)
            and (venue is None or o.venue == venue)
        ]
        return sorted(found, key=lambda o: (o.venue, o.account, o.client_order_id))
