"""What a strategy asks the smart order router for: a parent order, validated."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tapewire.core.exact import fits_decimal_38_18
from tapewire.core.instruments import Instrument, InstrumentError
from tapewire.records.orders import ParentRequest as ParentRequestRecord
from tapewire.streams.oms.enums import Side
from tapewire.streams.oms.errors import OrderValidationError
from tapewire.streams.oms.request import MAX_ID_CHARS
from tapewire.streams.sor.parent import ParentNew


@dataclass(frozen=True, slots=True)
class ParentRequest:
    """A parent order: buy or sell ``quantity`` of ``instrument`` across ``venues``
    (empty = every venue the router knows), no worse than ``limit_price`` if set.

    ``parent_id`` is the idempotency key (unique per account; children's ids derive from
    it, see :func:`~tapewire.streams.sor.routing.child_id`).
    """

    parent_id: str
    account: str
    instrument: str
    side: Side
    quantity: Decimal
    request_ts_ns: int
    limit_price: Decimal | None = None
    venues: tuple[str, ...] = ()
    strategy_id: str | None = None

    def check(self, known_venues: frozenset[str] | None = None) -> None:
        """Raise :class:`OrderValidationError` naming the first bad field."""
        for name in ("parent_id", "account"):
            value = getattr(self, name)
            if not value.strip() or value != value.strip():
                raise _bad(name, value, "must be non-empty without spaces around")
            if len(value) > MAX_ID_CHARS:
                raise _bad(name, value, f"is longer than {MAX_ID_CHARS} characters")
        try:
            canonical = Instrument.parse(self.instrument).id
        except InstrumentError as exc:
            raise _bad("instrument", self.instrument, exc.message) from None
        if canonical != self.instrument:
            raise _bad("instrument", self.instrument, f"is not canonical ({canonical})")
        for name in ("quantity", "limit_price"):
            value = getattr(self, name)
            if value is not None and (not fits_decimal_38_18(value) or value <= 0):
                raise _bad(name, value, "must be a positive decimal(38,18)")
        if len(set(self.venues)) != len(self.venues):
            raise _bad("venues", self.venues, "lists a venue twice")
        unknown = sorted(set(self.venues) - known_venues) if known_venues is not None else []
        if unknown:
            raise _bad("venues", self.venues, f"the router does not know {unknown}")

    def to_record(
        self, *, algo: str, requested_by: str, params: dict[str, str] | None = None
    ) -> ParentRequestRecord:
        """The NEW record on ``oms.parent_requests`` (``params`` go through unchanged: the
        algorithm checks them)."""
        return ParentRequestRecord(
            parent_id=self.parent_id,
            account=self.account,
            algo=algo,
            instrument=self.instrument,
            side=self.side.value,
            quantity=self.quantity,
            limit_price=self.limit_price,
            venues=list(self.venues),
            params=dict(params or {}),
            strategy_id=self.strategy_id,
            requested_by=requested_by,
            request_ts_ns=self.request_ts_ns,
        )

    def to_event(self) -> ParentNew:
        """The :class:`ParentNew` that starts the parent's history."""
        return ParentNew(
            parent_id=self.parent_id,
            account=self.account,
            instrument=self.instrument,
            side=self.side.value,
            quantity=self.quantity,
            limit_price=self.limit_price,
            venues=self.venues,
            strategy_id=self.strategy_id,
            ts_ns=self.request_ts_ns,
        )


def cancel_record(
    *, account: str, parent_id: str, algo: str, requested_by: str, request_ts_ns: int
) -> ParentRequestRecord:
    """The CANCEL of ``parent_id`` on ``oms.parent_requests`` (instrument, side and
    quantity are not used)."""
    return ParentRequestRecord(
        parent_id=parent_id,
        account=account,
        action="CANCEL",
        algo=algo,
        instrument="",
        side=Side.BUY.value,
        quantity=Decimal(0),
        requested_by=requested_by,
        request_ts_ns=request_ts_ns,
    )


def _bad(field: str, value: object, message: str) -> OrderValidationError:
    return OrderValidationError(
        f"parent order {field}={value!r}: {message}", field=field, value=value, hint=f"fix {field}"
    )
