"""Parent orders from the API: validated input → ``ParentRequest`` record →
``oms.parent_requests``.

A parent is worked by the trade role's parent stage (``docs/sor.md``): the smart order
router (``SOR``) or an execution algorithm, whose children are ordinary orders through the
risk gate. The API checks the common fields (the first problem is a 422 naming the
field); ``params`` pass through unchanged, as the algorithm itself checks them and
rejects a bad parent with a REJECTED parent event (``GET /v1/parents/{id}`` shows it).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from tapewire.api.orders import (
    PARENT_REQUESTS_TOPIC,
    DecimalText,
    Identifier,
    InstrumentId,
    OrderInvalidError,
)
from tapewire.records.orders import ParentRequest as ParentRequestRecord
from tapewire.streams.oms import Side
from tapewire.streams.oms.errors import OrderValidationError
from tapewire.streams.sor.request import ParentRequest, cancel_record

__all__ = ["PARENT_REQUESTS_TOPIC", "PlaceParent", "cancel_parent_request", "place_parent_request"]
AlgoName = Literal["SOR", "TWAP", "VWAP", "POV", "ICEBERG", "OCO", "BRACKET"]
"""The algorithms of the parent stage (the record's ``algo``; a stage without the named
algorithm rejects the parent with a parent event)."""
ParamName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
ParamValue = Annotated[str, Field(max_length=256)]
MAX_VENUES = 32
MAX_PARAMS = 32


class PlaceParent(BaseModel):
    """``POST /v1/parents``: a new parent order for the router or an execution algo."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account: Identifier
    instrument: InstrumentId = Field(description="canonical id, e.g. BTC-USDT-SPOT")
    side: Literal["buy", "sell"]
    quantity: DecimalText
    algo: AlgoName = "SOR"
    limit_price: DecimalText | None = Field(
        default=None, description="the worst price any child may trade at"
    )
    venues: list[Identifier] = Field(
        default_factory=list,
        max_length=MAX_VENUES,
        description="venues the children may go to; empty = every venue",
    )
    params: dict[ParamName, ParamValue] = Field(
        default_factory=dict,
        max_length=MAX_PARAMS,
        description="the algorithm's parameters as text, passed through unchanged "
        "(docs/algos.md); the algorithm rejects bad ones with a parent event",
    )
    parent_id: Identifier | None = Field(
        default=None, description="idempotency key; a fresh one when omitted"
    )


def new_parent_id() -> str:
    """A fresh parent id."""
    return f"p-api-{uuid.uuid4().hex[:16]}"


def place_parent_request(body: PlaceParent, *, user: str, now_ns: int) -> ParentRequestRecord:
    """The NEW record of ``body``, sent by API user ``user``; :class:`OrderInvalidError`
    naming the first bad field."""
    request = ParentRequest(
        parent_id=body.parent_id or new_parent_id(),
        account=body.account,
        instrument=body.instrument,
        side=Side.BUY if body.side == "buy" else Side.SELL,
        quantity=Decimal(body.quantity),
        limit_price=None if body.limit_price is None else Decimal(body.limit_price),
        venues=tuple(body.venues),
        request_ts_ns=now_ns,
    )
    try:
        request.check()
    except OrderValidationError as exc:
        raise OrderInvalidError(
            exc.message, field=exc.field or "body", hint=exc.hint or "fix the field"
        ) from None
    return request.to_record(algo=body.algo, params=dict(body.params), requested_by=f"api:{user}")


def cancel_parent_request(
    *, account: str, parent_id: str, algo: str, user: str, now_ns: int
) -> ParentRequestRecord:
    """The CANCEL of ``parent_id`` (for the algorithm ``algo`` that works it)."""
    return cancel_record(
        account=account,
        parent_id=parent_id,
        algo=algo,
        requested_by=f"api:{user}",
        request_ts_ns=now_ns,
    )
