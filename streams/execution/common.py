"""Shared helpers: the wide decimal context, quantizing to the Avro decimal(38,18) scale."""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Context, Decimal, localcontext
from typing import Any, ParamSpec, TypeVar

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
