"""Exact decimal arithmetic for orders: wide contexts that raise instead of rounding."""

from __future__ import annotations

from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    Rounded,
)

SCALE = 18
"""Decimal places of every decimal(38,18) field in the Avro schemas."""
INTEGER_DIGITS = 20
"""Digits left of the point that decimal(38,18) holds."""

QUANTUM = Decimal(1).scaleb(-SCALE)
ZERO = Decimal(0)

EXACT = Context(
    prec=120,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow, Inexact, Rounded],
)
"""Sums and products of decimal(38,18) values are exact here; any rounding raises."""

_DIVIDE = Context(prec=120, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero])


def add(a: Decimal, b: Decimal) -> Decimal:
    """Exact ``a + b``."""
    return EXACT.add(a, b)


def sub(a: Decimal, b: Decimal) -> Decimal:
    """Exact ``a - b``."""
    return EXACT.subtract(a, b)


def mul(a: Decimal, b: Decimal) -> Decimal:
    """Exact ``a * b``."""
    return EXACT.multiply(a, b)


def div18(a: Decimal, b: Decimal) -> Decimal:
    """``a / b`` rounded half-even to 18 places (the only rounding on the order path)."""
    return _DIVIDE.divide(a, b).quantize(QUANTUM, context=_DIVIDE)


def round18(value: Decimal) -> Decimal:
    """``value`` rounded half-even to 18 places, to fit decimal(38,18) on the wire."""
    return value.quantize(QUANTUM, context=_DIVIDE)


def fits_decimal_38_18(value: Decimal) -> bool:
    """True when ``value`` is finite and fits decimal(38,18) without rounding."""
    if not value.is_finite():
        return False
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -SCALE:
        return False
    return abs(value) < Decimal(10) ** INTEGER_DIGITS
