"""Exact scaled integers: the simulator's only representation of prices and sizes.

A price or size is an ``int`` counting units of ``10**-decimals``; it becomes a decimal
string only when a frame is encoded, in the venue's own style. No float is involved.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

Formatter = Callable[[int], str]


def decimals_of(value: Decimal) -> int:
    """Number of fractional digits needed to write ``value`` exactly (``0.010`` -> 2)."""
    exponent = value.normalize().as_tuple().exponent
    if not isinstance(exponent, int):
        raise ValueError(f"not a finite decimal: {value}")
    return max(0, -exponent)


def to_units(value: Decimal, decimals: int) -> int:
    """``value`` as an integer count of ``10**-decimals``; raises if that is not exact."""
    scaled = value.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} is not a multiple of 1e-{decimals}")
    return int(scaled)


def fixed_formatter(decimals: int, width: int | None = None) -> Formatter:
    """Formatter of non-negative ``units`` with exactly ``width`` fractional digits
    (default ``decimals``; Binance writes 8): ``fixed_formatter(2, 8)(6500001)`` is
    ``'65000.01000000'``."""
    width = decimals if width is None else width
    if width < decimals:
        raise ValueError("width must be at least decimals")
    if decimals == 0:
        suffix = "." + "0" * width if width else ""
        return lambda units: f"{units}{suffix}"
    template = f"%d.%0{decimals}d" + "0" * (width - decimals)
    scale = 10**decimals

    def fmt(units: int) -> str:
        text: str = template % divmod(units, scale)
        return text

    return fmt


def plain_formatter(decimals: int) -> Formatter:
    """Formatter of non-negative ``units`` without trailing zeros (OKX): ``'8477'``, ``'0.5'``."""
    if decimals == 0:
        return str
    template = f"%d.%0{decimals}d"
    scale = 10**decimals

    def fmt(units: int) -> str:
        text: str = template % divmod(units, scale)
        return text.rstrip("0").rstrip(".")

    return fmt
