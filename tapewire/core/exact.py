"""Exact decimals: the decimal contexts and arithmetic helpers for prices and sizes.

Prices and sizes are :class:`~decimal.Decimal` end to end (never float) and fit the Avro
``decimal(38,18)``. :func:`add`/:func:`sub`/:func:`mul` are exact or raise; the only
rounding is explicit, to 18 places (:func:`round18`, :func:`div18`, :func:`q18`, ...).
Operator arithmetic (``a * b / c``) runs in a wide context (:func:`wide`), never in the
default 28-digit one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import (
    ROUND_CEILING,
    ROUND_HALF_EVEN,
    Clamped,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    Rounded,
    Subnormal,
    Underflow,
    localcontext,
)
from fractions import Fraction
from typing import ParamSpec, TypeVar

SCALE = 18
"""Decimal places of every decimal(38,18) field in the Avro schemas."""
INTEGER_DIGITS = 20
"""Digits left of the point that decimal(38,18) holds."""
QUANTUM = Decimal(1).scaleb(-SCALE)
"""``1E-18``: the step of decimal(38,18)."""
ZERO = Decimal(0)
BPS = Decimal(10_000)
"""Basis points in one."""

EXACT = Context(
    prec=200,
    rounding=ROUND_HALF_EVEN,
    traps=[
        InvalidOperation,
        DivisionByZero,
        Overflow,
        Underflow,
        Subnormal,
        Clamped,
        Inexact,
        Rounded,
    ],
)
"""Sums and products: wide enough that they are exact; any rounding raises (instead of the
default 28-digit context rounding silently)."""

ROUNDING = Context(
    prec=200, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)
"""Where rounding is wanted: quantizing to 18 places (:func:`round18`, :func:`q18`)."""

_DIVIDE = Context(prec=120, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero])
""":func:`div18`'s quotient is rounded to 120 digits before it is rounded to 18 places."""

WIDE = Context(prec=80)
"""Operator arithmetic of the execution core (fees, average prices, venue rules): products
of two decimal(38,18) values are exact, a longer result rounds half-even to 80 digits."""

WIDE_PARSE = Context(prec=100)
"""The normalizer's context while it parses frames (ccxt's book code negates and compares
prices under it): as :data:`WIDE`, with 100 digits."""

P = ParamSpec("P")
R = TypeVar("R")


def add(a: Decimal, b: Decimal) -> Decimal:
    """Exact ``a + b`` (raises rather than round)."""
    return EXACT.add(a, b)


def sub(a: Decimal, b: Decimal) -> Decimal:
    """Exact ``a - b`` (raises rather than round)."""
    return EXACT.subtract(a, b)


def mul(a: Decimal, b: Decimal) -> Decimal:
    """Exact ``a * b`` (raises rather than round)."""
    return EXACT.multiply(a, b)


def round18(value: Decimal) -> Decimal:
    """``value`` rounded half-even to exactly 18 places, to fit decimal(38,18) on the wire."""
    return value.quantize(QUANTUM, context=ROUNDING)


def div18(a: Decimal, b: Decimal) -> Decimal:
    """``a / b`` rounded half-even to 18 places: the quotient to 120 digits, then rounded
    (the order path: OMS, risk, trading)."""
    return _DIVIDE.divide(a, b).quantize(QUANTUM, context=_DIVIDE)


def div18_exact(numerator: Decimal, denominator: Decimal) -> Decimal:
    """``numerator / denominator`` correctly rounded half-even to 18 places.

    Computed on exact fractions (one rounding, no intermediate precision), so the result is
    the same on every machine and the same as ClickHouse/SQL computing it exactly (bars'
    VWAP). Slower than :func:`div18`.
    """
    quotient = Fraction(numerator) / Fraction(denominator)
    return Decimal(round(quotient * 10**SCALE)).scaleb(-SCALE, ROUNDING)


def q18(value: Decimal) -> Decimal:
    """:func:`round18` with trailing zeros stripped (``0`` for zero)."""
    return _strip(value.quantize(QUANTUM, context=ROUNDING))


def q18_ceiling(value: Decimal) -> Decimal:
    """Rounded towards +infinity to 18 places, trailing zeros stripped (fees: never
    understated, rebates never overstated)."""
    return _strip(value.quantize(QUANTUM, rounding=ROUND_CEILING, context=ROUNDING))


def _strip(value: Decimal) -> Decimal:
    return ZERO if value == 0 else value.normalize(ROUNDING)


def fits_decimal_38_18(value: Decimal) -> bool:
    """True when ``value`` is finite and fits decimal(38,18) without rounding."""
    if not value.is_finite():
        return False
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -SCALE:
        return False
    return value.copy_abs() < Decimal(10) ** INTEGER_DIGITS  # copy_abs: no context rounding


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


def wide(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` under the :data:`WIDE` decimal context."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with localcontext(WIDE):
            return func(*args, **kwargs)

    return wrapper
