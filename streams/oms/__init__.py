"""Pure order-management core: requests and their validation, the order with its FIX
OrdStatus state machine (event-sourced), and the store of orders. No Kafka here.

See ``docs/oms.md``.

May import: :mod:`tapewire.schemas`, :mod:`tapewire.core`. Pure: no Kafka client, no Faust.
"""

from tapewire.streams.oms.enums import (
    TERMINAL,
    ExecType,
    OrderAction,
    OrderType,
    OrdStatus,
    Side,
    TimeInForce,
    TrailingOffsetType,
)
from tapewire.streams.oms.errors import (
    ExecutionReportError,
    IllegalTransitionError,
    OmsError,
    OrderValidationError,
    OverfillError,
    UnknownOrderError,
)
from tapewire.streams.oms.order import OPEN, WORKING, Order, Outcome, rebuild
from tapewire.streams.oms.report import ExecutionReport
from tapewire.streams.oms.request import OrderRequest, Problem, check_request, validate_request
from tapewire.streams.oms.store import Applied, OrderStore

__all__ = [
    "OPEN",
    "TERMINAL",
    "WORKING",
    "Applied",
    "ExecType",
    "ExecutionReport",
    "ExecutionReportError",
    "IllegalTransitionError",
    "OmsError",
    "OrdStatus",
    "Order",
    "OrderAction",
    "OrderRequest",
    "OrderStore",
    "OrderType",
    "OrderValidationError",
    "Outcome",
    "OverfillError",
    "Problem",
    "Side",
    "TimeInForce",
    "TrailingOffsetType",
    "UnknownOrderError",
    "check_request",
    "rebuild",
    "validate_request",
]
