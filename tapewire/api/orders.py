"""Orders from the API: validated input → :class:`OrderRequest` → ``oms.requests``
(parent orders: :mod:`tapewire.api.parents` → ``oms.parent_requests``, same gateway).

The API never talks to a venue: it produces requests to the same topic the CLI and the
strategies use, and the risk gate decides (``docs/oms.md``). Prices and sizes arrive as
decimal strings (never JSON numbers, which parsers read as floats) and are checked twice:
by the request model (shape) and by :func:`validate_request` (order terms), whose first
problem becomes a 422 naming the field.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from confluent_kafka import KafkaError, Message, Producer
from pydantic import BaseModel, ConfigDict, Field

from tapewire.api.errors import ApiError, UnavailableError
from tapewire.core.kafka import producer_config
from tapewire.records.orders import ParentRequest as ParentRequestRecord
from tapewire.schemas.codec import Codec
from tapewire.streams.oms import (
    OrderAction,
    OrderRequest,
    OrderType,
    Side,
    TimeInForce,
    TrailingOffsetType,
    validate_request,
)
from tapewire.streams.trading.config import ALL_ACCOUNTS, KILL_SWITCH_TAG

REQUESTS_TOPIC = "oms.requests"
PARENT_REQUESTS_TOPIC = "oms.parent_requests"

Identifier = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")
]
"""Accounts, venues and client order ids: 1-64 of letters, digits, ``_ . : -``."""
InstrumentId = Annotated[
    str, Field(min_length=3, max_length=96, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")
]
DecimalText = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{1,20}(\.[0-9]{1,18})?$",
        description='an exact decimal as a string, e.g. "0.00000812" (no exponent)',
        examples=["0.01"],
    ),
]
SideName = Literal["buy", "sell"]
OrderTypeName = Literal["market", "limit", "stop", "stop_limit", "trailing_stop"]
TifName = Literal["GTC", "IOC", "FOK", "DAY", "GTD"]
OffsetTypeName = Literal["price", "basis_points"]
ExpireNs = Annotated[
    int,
    Field(ge=1, le=2**63 - 1, description="GTD expiry, UTC ns (required for GTD, else null)"),
]


class PlaceOrder(BaseModel):
    """``POST /v1/orders``: a new order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account: Identifier
    venue: Identifier
    instrument: InstrumentId = Field(description="canonical id, e.g. BTC-USDT-SPOT")
    side: SideName
    order_type: OrderTypeName
    quantity: DecimalText
    limit_price: DecimalText | None = None
    stop_price: DecimalText | None = None
    trailing_offset: DecimalText | None = Field(
        default=None, description="trailing_stop: distance from the best price"
    )
    trailing_offset_type: OffsetTypeName | None = Field(
        default=None, description="trailing_stop: the offset's unit"
    )
    time_in_force: TifName = "GTC"
    expire_ts_ns: ExpireNs | None = None
    post_only: bool = False
    reduce_only: bool = False
    client_order_id: Identifier | None = Field(
        default=None, description="idempotency key; a fresh one when omitted"
    )


class ReplaceOrder(BaseModel):
    """``PATCH /v1/orders/{client_order_id}``: new terms of an open order (side and type
    stay). Omitted fields keep their value; the order continues under a new id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    quantity: DecimalText | None = None
    limit_price: DecimalText | None = None
    stop_price: DecimalText | None = None
    trailing_offset: DecimalText | None = None
    time_in_force: TifName | None = None
    expire_ts_ns: ExpireNs | None = None
    client_order_id: Identifier | None = Field(
        default=None, description="the order's new id; a fresh one when omitted"
    )


class CancelAll(BaseModel):
    """``POST /v1/orders/cancel-all``: every open order of an account (optionally one
    venue / instrument)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account: Identifier
    venue: Identifier | None = None
    instrument: InstrumentId | None = None


class KillSwitch(BaseModel):
    """``POST /v1/kill-switch``: ``on`` halts trading (and cancels everything), ``off``
    resumes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state: Literal["on", "off"]
    account: Identifier | Literal["*"] = ALL_ACCOUNTS


class OrderInvalidError(ApiError):
    """The order terms are wrong (422); ``field`` names the first bad one."""

    status = 422

    def __init__(self, message: str, *, field: str, hint: str) -> None:
        super().__init__(message, hint=hint)
        self.field = field


_TYPES = {
    "market": OrderType.MARKET,
    "limit": OrderType.LIMIT,
    "stop": OrderType.STOP,
    "stop_limit": OrderType.STOP_LIMIT,
    "trailing_stop": OrderType.TRAILING_STOP,
}
_OFFSET_TYPES = {"price": TrailingOffsetType.PRICE, "basis_points": TrailingOffsetType.BASIS_POINTS}


def new_client_order_id(prefix: str = "api") -> str:
    """A fresh client order id."""
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


def _checked(request: OrderRequest) -> OrderRequest:
    problems = validate_request(request)
    if problems:
        p = problems[0]
        raise OrderInvalidError(p.error().message, field=p.field, hint=p.hint)
    return request


def _dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _keep(text: str | None, current: Decimal | None) -> Decimal | None:
    return current if text is None else Decimal(text)


def place_request(body: PlaceOrder, *, user: str, now_ns: int) -> OrderRequest:
    """The NEW request of ``body``, sent by API user ``user``."""
    return _checked(
        OrderRequest(
            client_order_id=body.client_order_id or new_client_order_id(),
            account=body.account,
            venue=body.venue,
            instrument=body.instrument,
            side=Side.BUY if body.side == "buy" else Side.SELL,
            order_type=_TYPES[body.order_type],
            time_in_force=TimeInForce(body.time_in_force),
            quantity=Decimal(body.quantity),
            limit_price=_dec(body.limit_price),
            stop_price=_dec(body.stop_price),
            trailing_offset=_dec(body.trailing_offset),
            trailing_offset_type=(
                _OFFSET_TYPES[body.trailing_offset_type] if body.trailing_offset_type else None
            ),
            expire_ts_ns=body.expire_ts_ns,
            post_only=body.post_only,
            reduce_only=body.reduce_only,
            requested_by=f"api:{user}",
            request_ts_ns=now_ns,
            action=OrderAction.NEW,
        )
    )


def current_terms(row: dict[str, Any]) -> OrderRequest:
    """The request of ``row`` (:func:`tapewire.api.queries.order_terms`, decimals as text)."""
    offset_type = row["trailing_offset_type"]
    return OrderRequest(
        client_order_id=row["client_order_id"],
        account=row["account"],
        venue=row["venue"],
        instrument=row["instrument"],
        side=Side(row["side"]),
        order_type=OrderType(row["order_type"]),
        time_in_force=TimeInForce(row["time_in_force"]),
        quantity=Decimal(row["quantity"]),
        limit_price=_dec(row["limit_price"]),
        stop_price=_dec(row["stop_price"]),
        trailing_offset=_dec(row["trailing_offset"]),
        trailing_offset_type=TrailingOffsetType(offset_type) if offset_type else None,
        post_only=bool(row["post_only"]),
        reduce_only=bool(row["reduce_only"]),
        expire_ts_ns=row["expire_ts_ns"],
        strategy_id=row["strategy_id"],
        requested_by=row["requested_by"],
        request_ts_ns=row["request_ts_ns"],
    )


def replace_request(
    current: OrderRequest, body: ReplaceOrder, *, user: str, now_ns: int
) -> OrderRequest:
    """The REPLACE of the order whose latest terms are ``current`` (its NEW or last
    REPLACE request), with the fields ``body`` sets changed."""
    changes = body.model_dump(exclude_none=True, exclude={"client_order_id"})
    if not changes:
        raise OrderInvalidError(
            "nothing to replace: the body sets no field",
            field="body",
            hint="set quantity, limit_price, stop_price, trailing_offset, time_in_force "
            "or expire_ts_ns",
        )
    tif = TimeInForce(body.time_in_force) if body.time_in_force else current.time_in_force
    expire = body.expire_ts_ns if body.expire_ts_ns is not None else current.expire_ts_ns
    if tif is not TimeInForce.GTD:
        expire = None  # leaving GTD drops the expiry
    return _checked(
        current.with_(
            client_order_id=body.client_order_id or new_client_order_id("api-replace"),
            orig_client_order_id=current.client_order_id,
            action=OrderAction.REPLACE,
            quantity=_keep(body.quantity, current.quantity),
            limit_price=_keep(body.limit_price, current.limit_price),
            stop_price=_keep(body.stop_price, current.stop_price),
            trailing_offset=_keep(body.trailing_offset, current.trailing_offset),
            time_in_force=tif,
            expire_ts_ns=expire,
            requested_by=f"api:{user}",
            request_ts_ns=now_ns,
            tags={},
        )
    )


def cancel_request(
    *,
    account: str,
    orig_client_order_id: str,
    venue: str,
    instrument: str,
    user: str,
    now_ns: int,
) -> OrderRequest:
    """A CANCEL of ``orig_client_order_id`` (with an id of its own)."""
    return _checked(
        OrderRequest(
            client_order_id=new_client_order_id("api-cancel"),
            account=account,
            venue=venue,
            instrument=instrument,
            side=Side.BUY,
            order_type=OrderType.LIMIT,
            time_in_force=TimeInForce.GTC,
            quantity=Decimal(0),
            requested_by=f"api:{user}",
            request_ts_ns=now_ns,
            action=OrderAction.CANCEL,
            orig_client_order_id=orig_client_order_id,
        )
    )


def cancel_all_request(
    *,
    account: str,
    venue: str | None,
    instrument: str | None,
    user: str,
    now_ns: int,
    tags: dict[str, str] | None = None,
    prefix: str = "api-cancel-all",
) -> OrderRequest:
    """A CANCEL_ALL (no venue / instrument = every one)."""
    return _checked(
        OrderRequest(
            client_order_id=new_client_order_id(prefix),
            account=account,
            venue=venue or "",
            instrument=instrument or "",
            side=Side.BUY,
            order_type=OrderType.MARKET,
            time_in_force=TimeInForce.GTC,
            quantity=Decimal(0),
            requested_by=f"api:{user}",
            request_ts_ns=now_ns,
            action=OrderAction.CANCEL_ALL,
            tags=dict(tags or {}),
        )
    )


def kill_switch_request(body: KillSwitch, *, user: str, now_ns: int) -> OrderRequest:
    """The trading-state command (``on`` = HALTED, ``off`` = ACTIVE), as the CLI sends it."""
    state = "HALTED" if body.state == "on" else "ACTIVE"
    return cancel_all_request(
        account=body.account,
        venue=None,
        instrument=None,
        user=user,
        now_ns=now_ns,
        tags={KILL_SWITCH_TAG: state},
        prefix=f"kill-{state.lower()}",
    )


@dataclass(frozen=True)
class Accepted:
    """Where a request landed on ``oms.requests``."""

    client_order_id: str
    action: str
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class ParentAccepted:
    """Where a parent request landed on ``oms.parent_requests``."""

    parent_id: str
    action: str
    algo: str
    topic: str
    partition: int
    offset: int


class OrderGateway:
    """Produces requests to ``oms.requests`` and parent requests to
    ``oms.parent_requests`` (keyed by account) with one idempotent producer (``acks=all``)
    and waits for each delivery, so a 202 means the request is on the topic."""

    def __init__(
        self,
        bootstrap: str,
        codec: Codec,
        *,
        topic: str = REQUESTS_TOPIC,
        parent_topic: str = PARENT_REQUESTS_TOPIC,
        timeout_s: float = 10,
    ) -> None:
        self._producer = Producer(producer_config(bootstrap) | {"linger.ms": 0})
        self._codec = codec
        self._topic = topic
        self._parent_topic = parent_topic
        self._timeout_s = timeout_s
        self._lock = threading.Lock()

    def send(self, request: OrderRequest) -> Accepted:
        """Produce ``request``; :class:`UnavailableError` if Kafka does not confirm it."""
        partition, offset = self._produce(
            REQUESTS_TOPIC,
            self._topic,
            request.to_record(),
            f"retry with the same client_order_id ({request.client_order_id})",
        )
        return Accepted(
            request.client_order_id, request.action.value, self._topic, partition, offset
        )

    def send_parent(self, record: ParentRequestRecord) -> ParentAccepted:
        """Produce the parent request ``record``; :class:`UnavailableError` if Kafka does
        not confirm it."""
        partition, offset = self._produce(
            PARENT_REQUESTS_TOPIC,
            self._parent_topic,
            record,
            f"retry with the same parent_id ({record.parent_id})",
        )
        return ParentAccepted(
            record.parent_id, record.action, record.algo, self._parent_topic, partition, offset
        )

    def _produce(self, canonical: str, topic: str, record: Any, retry: str) -> tuple[int, int]:
        value = self._codec.encode(canonical, record)
        key = self._codec.key(canonical, record)
        done = threading.Event()
        result: dict[str, Any] = {}

        def on_delivery(err: KafkaError | None, msg: Message) -> None:
            result["error"] = err
            result["partition"], result["offset"] = msg.partition(), msg.offset()
            done.set()

        with self._lock:
            self._producer.produce(topic, key=key, value=value, on_delivery=on_delivery)
        deadline = time.monotonic() + self._timeout_s
        while not done.is_set() and time.monotonic() < deadline:
            self._producer.poll(0.05)
        if not done.is_set() or result.get("error") is not None:
            raise UnavailableError(
                f"{topic}: the request was not confirmed by Kafka "
                f"({result.get('error') or f'no answer in {self._timeout_s:g} s'})",
                hint=retry,
            )
        return int(result["partition"]), int(result["offset"])

    def close(self) -> None:
        """Deliver what is queued."""
        self._producer.flush(self._timeout_s)
