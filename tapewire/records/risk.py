"""Risk records: the gate's decisions and the alerts of risk, feeds and the OMS."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import msgspec

from tapewire.core.records import TypedRecord
from tapewire.records.orders import OrderRequest


class RiskDecision(TypedRecord, frozen=True, kw_only=True, gc=False):
    """The risk gate's verdict on one request, with the request (``oms.approved/denied``)."""

    decision_id: str
    client_order_id: str
    account: str
    decision: str
    rule: str | None = None
    reason: str | None = None
    rules_evaluated: Sequence[str] = ()
    trading_state: str = "UNKNOWN"
    reference_price: Decimal | None = None
    reference_ts_ns: int | None = None
    decision_ts_ns: int
    request: OrderRequest


class Alert(TypedRecord, frozen=True, kw_only=True, gc=False):
    """Something an operator should see (``alerts``)."""

    alert_id: str
    severity: str
    source: str
    code: str
    message: str
    labels: dict[str, str] = msgspec.field(default_factory=dict)
    event_ts_ns: int
