"""Execution reports: what a venue (or the router) says happened to an order."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tapewire.core.records import Record
from tapewire.streams.oms.enums import ExecType


@dataclass(frozen=True, slots=True)
class ExecutionReport:
    """One report about one order (FIX ExecutionReport / OrderCancelReject).

    ``event_id`` is the de-duplication key of the report; fills are de-duplicated by
    ``exec_id``. ``quantity``/``limit_price``/``stop_price`` are read only for REPLACED
    (the new terms). ``client_order_id`` or ``orig_client_order_id`` names the order.
    """

    event_id: str
    client_order_id: str
    exec_type: ExecType
    event_ts_ns: int
    orig_client_order_id: str | None = None
    venue_order_id: str | None = None
    last_qty: Decimal | None = None
    last_price: Decimal | None = None
    exec_id: str | None = None
    quantity: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    text: str | None = None
    venue_ts_ns: int | None = None
    emulated: bool = False

    @classmethod
    def from_record(cls, record: Record) -> ExecutionReport:
        """The report behind an ``OrderEvent`` record (used to rebuild state from events)."""
        return cls(
            event_id=record["event_id"],
            client_order_id=record["client_order_id"],
            exec_type=ExecType(record["exec_type"]),
            event_ts_ns=record["event_ts_ns"],
            orig_client_order_id=record.get("orig_client_order_id"),
            venue_order_id=record.get("venue_order_id"),
            last_qty=record.get("last_qty"),
            last_price=record.get("last_price"),
            exec_id=record.get("exec_id"),
            quantity=record.get("quantity"),
            limit_price=record.get("limit_price"),
            stop_price=record.get("stop_price"),
            text=record.get("text"),
            venue_ts_ns=record.get("venue_ts_ns"),
            emulated=bool(record.get("emulated", False)),
        )
