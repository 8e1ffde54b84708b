"""Order records and objects: requests, risk decisions, order events, recovered orders."""

from __future__ import annotations

from decimal import Decimal
from types import EllipsisType
from typing import Any

from tapewire.core.records import Record
from tapewire.records.orders import OrderEvent, OrderRequest
from tapewire.records.risk import RiskDecision
from tapewire.streams.router.recovery import SEND_INTENT_TEXT, RecoveredOrder
from tapewire.streams.trading.config import ALL_ACCOUNTS, KILL_SWITCH_TAG, RISK_LIMITS_TAG
from tests.factories import INST, T0, Num, dec

PRICED = frozenset({"LIMIT", "STOP_LIMIT"})
"""Order types that carry a limit price by default."""


def order_request(
    cid: str = "o1",
    *,
    account: str = "acct",
    venue: str = "binance",
    instrument: str = INST,
    action: str = "NEW",
    side: str = "BUY",
    kind: str = "LIMIT",
    tif: str = "GTC",
    qty: Num = "1",
    price: Num | EllipsisType | None = ...,
    ts: int = T0,
    requested_by: str = "test",
    **changes: Any,
) -> OrderRequest:
    """An ``OrderRequest`` record (``oms.requests``) with every field.

    ``kind``, ``tif``, ``qty``, ``price`` and ``ts`` are ``order_type``, ``time_in_force``,
    ``quantity``, ``limit_price`` and ``request_ts_ns``; ``price`` defaults to 100 for a
    LIMIT or STOP_LIMIT order and to None for the other types."""
    limit = ("100" if kind in PRICED else None) if price is ... else price
    record: dict[str, Any] = {
        "client_order_id": cid,
        "account": account,
        "venue": venue,
        "instrument": instrument,
        "action": action,
        "orig_client_order_id": None,
        "side": side,
        "order_type": kind,
        "time_in_force": tif,
        "quantity": Decimal(qty),
        "limit_price": dec(limit),
        "stop_price": None,
        "trailing_offset": None,
        "trailing_offset_type": None,
        "post_only": False,
        "reduce_only": False,
        "expire_ts_ns": None,
        "strategy_id": None,
        "requested_by": requested_by,
        "request_ts_ns": ts,
        "tags": {},
    }
    return OrderRequest(**(record | changes))


def trading_state_command(
    cid: str,
    state: str = "HALTED",
    *,
    account: str = ALL_ACCOUNTS,
    requested_by: str = "cli:ops",
    ts: int = T0,
) -> OrderRequest:
    """The ``OrderRequest`` record of ``tapewire kill-switch``: a CANCEL_ALL on every venue
    and instrument of ``account`` (``*``: all) that sets its trading state to ``state``."""
    return order_request(
        cid,
        account=account,
        venue="",
        instrument="",
        action="CANCEL_ALL",
        kind="MARKET",
        qty=0,
        requested_by=requested_by,
        ts=ts,
        tags={KILL_SWITCH_TAG: state},
    )


def risk_limits_command(
    cid: str, limits_json: str, *, account: str = "acct", requested_by: str = "api:risk"
) -> OrderRequest:
    """The ``OrderRequest`` record of ``PUT /v1/risk/{account}/limits``: a CANCEL_ALL
    tagged with the account's new limits as JSON."""
    return order_request(
        cid,
        account=account,
        venue="",
        instrument="",
        action="CANCEL_ALL",
        kind="MARKET",
        qty=0,
        requested_by=requested_by,
        tags={RISK_LIMITS_TAG: limits_json},
    )


def approval(
    cid: str = "o1",
    *,
    request: Record | None = None,
    decision_id: str | None = None,
    **changes: Any,
) -> RiskDecision:
    """An APPROVED ``RiskDecision`` record (``oms.approved``) of ``request`` (by default
    :func:`order_request` of ``cid``) at reference price 100, id ``d-<cid>`` unless given."""
    req = order_request(cid) if request is None else _request(request)
    record: dict[str, Any] = {
        "decision_id": decision_id or f"d-{cid}",
        "client_order_id": cid,
        "account": req["account"],
        "decision": "APPROVED",
        "rule": None,
        "reason": None,
        "rules_evaluated": [],
        "trading_state": "ACTIVE",
        "reference_price": Decimal(100),
        "reference_ts_ns": 1,
        "decision_ts_ns": 2,
        "request": req,
    }
    return RiskDecision(**(record | changes))


def _request(request: Record) -> OrderRequest:
    return request if isinstance(request, OrderRequest) else OrderRequest(**dict(request))


def order_event(
    cid: str = "o1", status: str = "NEW", n: int | None = 1, **changes: Any
) -> OrderEvent:
    """An ``OrderEvent`` record (``oms.events``) of a limit buy of 1 at 100 on binance for
    ``acct``: ``n`` None is the router's send intent, else the venue's ``n``-th event."""
    record: dict[str, Any] = {
        "event_id": f"router:intent:binance:acct:{cid}" if n is None else f"binance:acct:{cid}:{n}",
        "client_order_id": cid,
        "orig_client_order_id": None,
        "venue_order_id": None if n is None else "1001",
        "account": "acct",
        "venue": "binance",
        "instrument": INST,
        "side": "BUY",
        "order_type": "LIMIT",
        "time_in_force": "GTC",
        "status": status,
        "exec_type": status,
        "quantity": Decimal(1),
        "limit_price": Decimal(100),
        "stop_price": None,
        "cum_qty": Decimal(0),
        "leaves_qty": Decimal(1),
        "avg_price": None,
        "last_qty": None,
        "last_price": None,
        "exec_id": None,
        "text": SEND_INTENT_TEXT if n is None else "acknowledged",
        "emulated": False,
        "venue_ts_ns": None,
        "event_ts_ns": 1,
        "strategy_id": None,
    }
    return OrderEvent(**(record | changes))


def recovered_order(
    cid: str = "o1",
    *,
    account: str = "acct",
    venue: str = "binance",
    request: Record | None = None,
    status: str = "NEW",
    venue_order_id: str | None = None,
    cum_qty: Num = "0",
    avg_price: Num | None = None,
    venue_seq: int = 0,
    reason: str = "open at restart (last status NEW)",
    quarantined: bool = False,
) -> RecoveredOrder:
    """An order ``plan_recovery`` hands the router to reconcile after a restart; its request
    is :func:`order_request` of ``cid``, ``account`` and ``venue`` unless given."""
    if request is None:
        request = order_request(cid, account=account, venue=venue)
    return RecoveredOrder(
        account=account,
        venue=venue,
        client_order_id=cid,
        request=dict(request),
        status=status,
        venue_order_id=venue_order_id,
        cum_qty=Decimal(cum_qty),
        avg_price=dec(avg_price),
        venue_seq=venue_seq,
        reason=reason,
        quarantined=quarantined,
    )
