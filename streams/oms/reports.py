"""The ``OrderEvent`` and ``Fill`` records every venue reports (paper, ccxt, the router).

One builder per record (``io.tapewire.OrderEvent``, ``io.tapewire.Fill``), fields in the
schema's order; the order's terms (instrument, side, type, prices, strategy) come from its
``OrderRequest``-shaped record. Also the venue event ids ``<venue>:<account>:<cid>:<n>``,
built and read back (a restart continues the sequence).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from tapewire.core.exact import ZERO
from tapewire.core.records import MutableRecord, Record
from tapewire.records.orders import Fill, OrderEvent
from tapewire.records.risk import Alert

ORDER_FIELDS = (
    "client_order_id",
    "account",
    "venue",
    "instrument",
    "side",
    "order_type",
    "time_in_force",
    "quantity",
    "limit_price",
    "stop_price",
    "strategy_id",
)
"""The ``OrderRequest`` fields an ``OrderEvent`` repeats: what a restart knows of an order."""


def order_fields(record: Record) -> MutableRecord:
    """The :data:`ORDER_FIELDS` of an ``OrderEvent`` or ``OrderRequest`` (None if absent)."""
    return {k: record.get(k) for k in ORDER_FIELDS}


def venue_event_id(venue: str, account: str, client_order_id: str, n: int) -> str:
    """The id of a venue's ``n``-th event about an order: ``<venue>:<account>:<cid>:<n>``."""
    return f"{venue}:{account}:{client_order_id}:{n}"


def venue_event_seq(event: Record) -> int | None:
    """``n`` of an ``OrderEvent`` whose id is a :func:`venue_event_id`; None for other ids."""
    prefix = f"{event['venue']}:{event['account']}:{event['client_order_id']}:"
    event_id = str(event.get("event_id") or "")
    if not event_id.startswith(prefix):
        return None
    tail = event_id[len(prefix) :]
    return int(tail) if tail.isdigit() else None


def order_event(
    request: Record,
    *,
    event_id: str,
    venue: str,
    account: str,
    status: str,
    exec_type: str,
    cum_qty: Decimal,
    leaves_qty: Decimal,
    event_ts_ns: int,
    client_order_id: str | None = None,
    quantity: Decimal | None = None,
    orig_client_order_id: str | None = None,
    venue_order_id: str | None = None,
    avg_price: Decimal | None = None,
    last_qty: Decimal | None = None,
    last_price: Decimal | None = None,
    exec_id: str | None = None,
    text: str | None = None,
    emulated: bool = False,
    venue_ts_ns: int | None = None,
) -> OrderEvent:
    """An ``OrderEvent`` about the order ``request`` describes.

    ``client_order_id`` and ``quantity`` default to the request's; ``instrument``,
    ``side``, ``order_type``, ``time_in_force``, ``limit_price``, ``stop_price`` and
    ``strategy_id`` are always the request's.
    """
    return OrderEvent(
        event_id=event_id,
        client_order_id=(
            request["client_order_id"] if client_order_id is None else client_order_id
        ),
        orig_client_order_id=orig_client_order_id,
        venue_order_id=venue_order_id,
        account=account,
        venue=venue,
        instrument=request["instrument"],
        side=request["side"],
        order_type=request["order_type"],
        time_in_force=request["time_in_force"],
        status=status,
        exec_type=exec_type,
        quantity=request["quantity"] if quantity is None else quantity,
        limit_price=request.get("limit_price"),
        stop_price=request.get("stop_price"),
        cum_qty=cum_qty,
        leaves_qty=leaves_qty,
        avg_price=avg_price,
        last_qty=last_qty,
        last_price=last_price,
        exec_id=exec_id,
        text=text,
        emulated=emulated,
        venue_ts_ns=venue_ts_ns,
        event_ts_ns=event_ts_ns,
        strategy_id=request.get("strategy_id"),
    )


def pending_new_event(request: Record, *, event_id: str, text: str, now_ns: int) -> OrderEvent:
    """A ``PENDING_NEW`` event for a request no venue has answered yet (nothing filled)."""
    return _unanswered(
        request, event_id, "PENDING_NEW", "PENDING_NEW", request["quantity"], text, now_ns
    )


def rejected_event(request: Record, *, event_id: str, text: str, now_ns: int) -> OrderEvent:
    """A ``REJECTED`` event for a request that is not sent: exec type ``REJECTED`` for a
    NEW, else ``<action>_REJECTED``."""
    action = request["action"]
    exec_type = "REJECTED" if action == "NEW" else f"{action}_REJECTED"
    return _unanswered(request, event_id, "REJECTED", exec_type, ZERO, text, now_ns)


def _unanswered(
    request: Record,
    event_id: str,
    status: str,
    exec_type: str,
    leaves_qty: Decimal,
    text: str,
    now_ns: int,
) -> OrderEvent:
    return order_event(
        request,
        event_id=event_id,
        venue=request["venue"],
        account=request["account"],
        status=status,
        exec_type=exec_type,
        cum_qty=ZERO,
        leaves_qty=leaves_qty,
        event_ts_ns=now_ns,
        orig_client_order_id=request.get("orig_client_order_id"),
        text=text,
    )


def fill(
    request: Record,
    *,
    venue: str,
    account: str,
    exec_id: str,
    venue_order_id: str | None,
    price: Decimal,
    quantity: Decimal,
    fee: Decimal,
    fee_currency: str | None,
    liquidity: str,
    venue_ts_ns: int | None,
    receive_ts_ns: int,
) -> Fill:
    """A ``Fill`` of the order ``request`` describes; ``fill_id`` is ``<venue>:<exec_id>``."""
    return Fill(
        fill_id=f"{venue}:{exec_id}",
        client_order_id=request["client_order_id"],
        venue_order_id=venue_order_id,
        account=account,
        venue=venue,
        instrument=request["instrument"],
        side=request["side"],
        price=price,
        quantity=quantity,
        fee=fee,
        fee_currency=fee_currency,
        liquidity=liquidity,
        venue_ts_ns=venue_ts_ns,
        receive_ts_ns=receive_ts_ns,
        strategy_id=request.get("strategy_id"),
    )


@dataclass(slots=True)
class Reports:
    """What one call produced: ``OrderEvent`` records and ``Fill`` records, in order."""

    events: list[OrderEvent] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)

    def extend(self, other: Reports) -> None:
        """Append ``other``'s records."""
        self.events += other.events
        self.fills += other.fills


@dataclass(slots=True)
class LiveReports(Reports):
    """``Reports`` plus the ``Alert`` records a call raised (quarantines)."""

    alerts: list[Alert] = field(default_factory=list)

    def extend(self, other: Reports) -> None:
        """Append ``other``'s records."""
        self.events += other.events
        self.fills += other.fills
        if isinstance(other, LiveReports):
            self.alerts += other.alerts
