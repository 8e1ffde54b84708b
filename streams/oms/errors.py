"""OMS errors: each names the order and what was wrong."""

from __future__ import annotations

from tapewire.core.errors import TapewireError


class OmsError(TapewireError):
    """Root of the order-management errors."""


class OrderValidationError(OmsError):
    """A request has a bad field: ``field`` and ``value`` say which, ``hint`` what to do."""

    def __init__(self, message: str, *, field: str, value: object, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.field = field
        self.value = value


class ExecutionReportError(OmsError):
    """An execution report cannot be applied; the order is unchanged and the report is
    quarantined (``code`` is the Alert code)."""

    code = "ORDER_REPORT_QUARANTINED"

    def __init__(self, message: str, *, client_order_id: str, event_id: str) -> None:
        super().__init__(message, hint="report quarantined; order state unchanged")
        self.client_order_id = client_order_id
        self.event_id = event_id


class IllegalTransitionError(ExecutionReportError):
    """The report asks for a transition FIX does not allow from the current state."""

    code = "ORDER_ILLEGAL_TRANSITION"


class OverfillError(ExecutionReportError):
    """Applying the report would make the cumulative fill exceed the order quantity."""

    code = "ORDER_OVERFILL"


class UnknownOrderError(OmsError):
    """No order is known under this client order id."""

    def __init__(self, client_order_id: str) -> None:
        super().__init__(f"no order with client order id {client_order_id!r}")
        self.client_order_id = client_order_id
