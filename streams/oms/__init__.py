"""Pure order-management core: requests and their validation, the order with its FIX
OrdStatus state machine (event-sourced), and the store of orders. No Kafka here.

See ``docs/oms.md``.
"""

from streams.oms.enums import (
    TERMINAL,
    ExecType,
    OrderAction,
    OrderType,
    OrdStatus,
    Side,
    TimeInForce,
    TrailingOffsetType,
)
from streams.oms.errors import (
    ExecutionReportError,
    IllegalTransitionError,
    OmsError,
    OrderValidationError,
    OverfillError,
    UnknownOrderError,
)
from streams.oms.order import OPEN, WORKING, Order, Outcome, rebuild
from streams.oms.report import ExecutionReport
from streams.oms.request import OrderRequest, Problem, check_request, validate_request
from streams.oms.store import Applied, OrderStore

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
