"""Order requests (Avro ``OrderRequest``) and their validation."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from tapewire.core.exact import ZERO, fits_decimal_38_18
from tapewire.core.instruments import Instrument, InstrumentError
from tapewire.core.records import Record
from tapewire.records.orders import OrderRequest as OrderRequestRecord
from tapewire.streams.oms.enums import OrderAction, OrderType, Side, TimeInForce, TrailingOffsetType
from tapewire.streams.oms.errors import OrderValidationError

PRICED = frozenset({OrderType.LIMIT, OrderType.STOP_LIMIT})
"""Order types that need a limit price."""
TRIGGERED = frozenset({OrderType.STOP, OrderType.STOP_LIMIT})
"""Order types that need a stop (trigger) price."""


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A request to create, cancel or replace an order; ``client_order_id`` is the
    idempotency key (unique per account)."""

    client_order_id: str
    account: str
    venue: str
    instrument: str
    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    quantity: Decimal
    requested_by: str
    request_ts_ns: int
    action: OrderAction = OrderAction.NEW
    orig_client_order_id: str | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trailing_offset: Decimal | None = None
    trailing_offset_type: TrailingOffsetType | None = None
    post_only: bool = False
    reduce_only: bool = False
    expire_ts_ns: int | None = None
    strategy_id: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def signed_quantity(self) -> Decimal:
        """Quantity with the side's sign (+ buy, - sell)."""
        return self.quantity if self.side is Side.BUY else -self.quantity

    def with_(self, **changes: Any) -> OrderRequest:
        """A copy with ``changes`` applied (for tests and the kill switch)."""
        return replace(self, **changes)

    @classmethod
    def from_record(cls, record: Record) -> OrderRequest:
        """From an ``OrderRequest`` record as the Avro codec decodes it."""
        offset_type = record.get("trailing_offset_type")
        return cls(
            client_order_id=record["client_order_id"],
            account=record["account"],
            venue=record["venue"],
            instrument=record["instrument"],
            action=OrderAction(record.get("action", "NEW")),
            orig_client_order_id=record.get("orig_client_order_id"),
            side=Side(record["side"]),
            order_type=OrderType(record["order_type"]),
            time_in_force=TimeInForce(record["time_in_force"]),
            quantity=record["quantity"],
            limit_price=record.get("limit_price"),
            stop_price=record.get("stop_price"),
            trailing_offset=record.get("trailing_offset"),
            trailing_offset_type=TrailingOffsetType(offset_type) if offset_type else None,
            post_only=bool(record.get("post_only", False)),
            reduce_only=bool(record.get("reduce_only", False)),
            expire_ts_ns=record.get("expire_ts_ns"),
            strategy_id=record.get("strategy_id"),
            requested_by=record["requested_by"],
            request_ts_ns=record["request_ts_ns"],
            tags=dict(record.get("tags") or {}),
        )

    def to_record(self) -> OrderRequestRecord:
        """The ``OrderRequest`` record (for ``oms.requests`` and inside ``RiskDecision``)."""
        offset_type = self.trailing_offset_type
        return OrderRequestRecord(
            client_order_id=self.client_order_id,
            account=self.account,
            venue=self.venue,
            instrument=self.instrument,
            action=self.action.value,
            orig_client_order_id=self.orig_client_order_id,
            side=self.side.value,
            order_type=self.order_type.value,
            time_in_force=self.time_in_force.value,
            quantity=self.quantity,
            limit_price=self.limit_price,
            stop_price=self.stop_price,
            trailing_offset=self.trailing_offset,
            trailing_offset_type=offset_type.value if offset_type else None,
            post_only=self.post_only,
            reduce_only=self.reduce_only,
            expire_ts_ns=self.expire_ts_ns,
            strategy_id=self.strategy_id,
            requested_by=self.requested_by,
            request_ts_ns=self.request_ts_ns,
            tags=dict(self.tags),
        )


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a request: which field, which value, what to do."""

    field: str
    value: object
    message: str
    hint: str

    def __str__(self) -> str:
        return f"{self.field}={_shown(self.value)}: {self.message} ({self.hint})"

    def error(self) -> OrderValidationError:
        """This problem as an exception."""
        return OrderValidationError(
            f"{self.field}={_shown(self.value)}: {self.message}",
            field=self.field,
            value=self.value,
            hint=self.hint,
        )


def check_request(request: OrderRequest) -> None:
    """Raise :class:`OrderValidationError` for the first problem of ``request``."""
    problems = validate_request(request)
    if problems:
        raise problems[0].error()


def _shown(value: object) -> str:
    """``repr(value)``, cut to 80 characters: a message must not repeat a huge input."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:80]}... ({len(text)} characters)"


MAX_ID_CHARS = 64
"""Longest client order id, account, venue, strategy id or requester accepted: venues take
32-36 characters, and every event of an order repeats its ids (a 340,000-character id made
records too large for the broker)."""


def derived_id(*parts: object) -> str:
    """An id made of ``parts`` joined by ``:``, kept within :data:`MAX_ID_CHARS`: a longer
    one keeps its first 40 characters and ends with a hash of the whole (deterministic, so
    the same inputs give the same id after a restart)."""
    full = ":".join(str(p) for p in parts)
    if len(full) <= MAX_ID_CHARS:
        return full
    digest = hashlib.blake2b(full.encode(), digest_size=8).hexdigest()
    return f"{full[:40]}~{digest}"


_ID_FIELDS = (
    "client_order_id",
    "orig_client_order_id",
    "account",
    "venue",
    "strategy_id",
    "requested_by",
)


def validate_request(request: OrderRequest) -> list[Problem]:
    """Every problem of ``request`` (empty when it is valid), in field order."""
    out: list[Problem] = []
    for name in ("client_order_id", "account", "requested_by"):
        value = getattr(request, name)
        if not value.strip() or value != value.strip():
            out.append(Problem(name, value, "must be non-empty without spaces around", "set it"))
    oversized = [
        Problem(
            name,
            f"{value[:32]}... ({len(value)} characters)",
            f"is longer than {MAX_ID_CHARS} characters",
            "use a shorter id (venues allow 32-36)",
        )
        for name in _ID_FIELDS
        if (value := getattr(request, name)) is not None and len(value) > MAX_ID_CHARS
    ]
    if oversized:
        return out + oversized  # nothing else is worth repeating such an id for
    if request.action is OrderAction.UNKNOWN:
        out.append(Problem("action", "UNKNOWN", "unknown action", "use NEW/CANCEL/REPLACE"))
        return out
    if request.action is OrderAction.CANCEL_ALL:
        if request.instrument:
            out += _instrument(request.instrument)
        return out
    if not request.venue:
        out.append(Problem("venue", request.venue, "is empty", "name the ccxt exchange id"))
    out += _instrument(request.instrument)
    if request.action in (OrderAction.CANCEL, OrderAction.REPLACE):
        orig = request.orig_client_order_id
        if not orig or orig == request.client_order_id:
            out.append(
                Problem(
                    "orig_client_order_id",
                    orig,
                    f"{request.action} needs the id of the order it acts on",
                    "set it to that order's client_order_id (not the new id)",
                )
            )
    if request.action is not OrderAction.CANCEL:
        out += _order_terms(request)
    return out


def _instrument(text: str) -> list[Problem]:
    try:
        canonical = Instrument.parse(text).id
    except InstrumentError as exc:
        return [Problem("instrument", text, exc.message, "use a canonical id: BTC-USDT-SPOT")]
    if canonical != text:
        return [Problem("instrument", text, "is not canonical", f"write it as {canonical}")]
    return []


def _positive(name: str, value: Decimal | None) -> list[Problem]:
    if value is None:
        return []
    if not fits_decimal_38_18(value):
        return [Problem(name, value, "does not fit decimal(38,18)", "at most 18 decimals")]
    if value <= ZERO:
        return [Problem(name, value, "must be positive", "use a value > 0")]
    return []


def _required(name: str, value: object, needed: bool, why: str) -> list[Problem]:
    if needed and value is None:
        return [Problem(name, value, f"is required {why}", f"set {name}")]
    if not needed and value is not None:
        return [Problem(name, value, f"is not allowed {why}", f"leave {name} null")]
    return []


def _order_terms(r: OrderRequest) -> list[Problem]:
    out: list[Problem] = []
    kind, tif = r.order_type, r.time_in_force
    if kind is OrderType.UNKNOWN:
        out.append(Problem("order_type", "UNKNOWN", "unknown order type", "use a known type"))
    if tif is TimeInForce.UNKNOWN:
        out.append(Problem("time_in_force", "UNKNOWN", "unknown time in force", "use GTC etc."))
    out += _positive("quantity", r.quantity)
    for name in ("limit_price", "stop_price", "trailing_offset"):
        out += _positive(name, getattr(r, name))
    if kind is not OrderType.UNKNOWN:
        out += _required("limit_price", r.limit_price, kind in PRICED, f"for {kind}")
        if kind is not OrderType.TRAILING_STOP:
            out += _required("stop_price", r.stop_price, kind in TRIGGERED, f"for {kind}")
        trailing = kind is OrderType.TRAILING_STOP
        out += _required("trailing_offset", r.trailing_offset, trailing, f"for {kind}")
        out += _required("trailing_offset_type", r.trailing_offset_type, trailing, f"for {kind}")
    if (
        r.trailing_offset_type is TrailingOffsetType.BASIS_POINTS
        and r.trailing_offset is not None
        and r.trailing_offset >= 10_000
    ):
        out.append(Problem("trailing_offset", r.trailing_offset, "is 100% or more", "< 10000"))
    if tif is not TimeInForce.UNKNOWN:
        out += _required("expire_ts_ns", r.expire_ts_ns, tif is TimeInForce.GTD, f"for {tif}")
    if r.expire_ts_ns is not None and r.expire_ts_ns <= r.request_ts_ns:
        out.append(Problem("expire_ts_ns", r.expire_ts_ns, "is not after request_ts_ns", "later"))
    if r.post_only and (kind is not OrderType.LIMIT or tif in (TimeInForce.IOC, TimeInForce.FOK)):
        out.append(
            Problem("post_only", True, f"is meaningless for {kind} {tif}", "use a resting LIMIT")
        )
    return out
