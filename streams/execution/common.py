"""Shared helpers: the wide decimal context, quantizing to the Avro decimal(38,18) scale,
and what every venue shares for a restart (the order a restart recovers, quarantine)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Context, Decimal, localcontext
from typing import Any, ParamSpec, Protocol, TypeVar

WIDE = Context(prec=80)
"""Decimal context for all arithmetic here: products of two decimal(38,18) values are exact."""

SCALE = Decimal("1e-18")
ZERO = Decimal(0)
BPS = Decimal(10_000)
NS_PER_DAY = 86_400 * 1_000_000_000

Record = dict[str, Any]

P = ParamSpec("P")
R = TypeVar("R")


def exact(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` under the :data:`WIDE` decimal context."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with localcontext(WIDE):
            return func(*args, **kwargs)

    return wrapper


def q18(value: Decimal) -> Decimal:
    """Round half-even to 18 decimal places (Avro decimal(38,18)), trailing zeros stripped."""
    return _strip(value.quantize(SCALE, rounding=ROUND_HALF_EVEN, context=WIDE))


def q18_ceiling(value: Decimal) -> Decimal:
    """Round towards +infinity to 18 places (fees: never understated, rebates never overstated)."""
    return _strip(value.quantize(SCALE, rounding=ROUND_CEILING, context=WIDE))


def _strip(value: Decimal) -> Decimal:
    return ZERO if value == 0 else value.normalize(WIDE)


def to_decimal(value: object) -> Decimal:
    """A ccxt number (str, int, Decimal, or float as ccxt's default mode returns) as Decimal.

    Floats go through ``repr`` (shortest round-trip text: ``0.01`` stays ``0.01``).
    """
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError(f"expected a number, got {value!r}")
    if isinstance(value, int | str):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    raise TypeError(f"expected a number, got {type(value).__name__} {value!r}")


class RestorableOrder(Protocol):
    """An order known from before a restart (from ``oms.events``/``oms.approved`` only).

    :class:`streams.trading.recovery.RecoveredOrder` is one (structural typing: the
    venues do not depend on the recovery module).
    """

    @property
    def client_order_id(self) -> str:
        """The order's client order id (venues look it up by this id)."""
        ...

    @property
    def request(self) -> Mapping[str, Any]:
        """Order fields: ``client_order_id``, ``account``, ``venue``, ``instrument``,
        ``side``, ``order_type``, ``time_in_force``, ``quantity``, ``limit_price``, ..."""
        ...

    @property
    def status(self) -> str:
        """Last known OrdStatus (``PENDING_NEW`` after a send intent, ``UNKNOWN``, ...)."""
        ...

    @property
    def venue_order_id(self) -> str | None:
        """The venue's order id, when an acknowledgement was seen."""
        ...

    @property
    def cum_qty(self) -> Decimal:
        """Cumulative filled quantity already reported."""
        ...

    @property
    def avg_price(self) -> Decimal | None:
        """Average fill price of ``cum_qty``; None when nothing filled."""
        ...

    @property
    def venue_seq(self) -> int:
        """Highest ``n`` of the venue's event ids ``<venue>:<account>:<cid>:<n>`` so far."""
        ...


class ReconcileOrder(RestorableOrder, Protocol):
    """A :class:`RestorableOrder` with its account and why it is reconciled."""

    @property
    def account(self) -> str:
        """The order's account."""
        ...

    @property
    def reason(self) -> str:
        """Why the restart reconciles it (goes into the event text)."""
        ...


def quarantine_text(why: str) -> str:
    """``text`` of the ``ORDER_STATUS``/``UNKNOWN`` event of a quarantined order (every
    venue: ccxt and paper)."""
    return f"quarantined: state unknown after reconciliation ({why}); not re-sent"


QUARANTINE_ALERT = "ORDER_QUARANTINED"
"""Alert ``code`` (severity CRITICAL) of a quarantined order."""
