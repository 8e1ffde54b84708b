"""Wire text -> checked exact decimals that fit the Avro ``decimal(38,18)``; never a float."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tapewire.core.exact import INTEGER_DIGITS, SCALE
from tapewire.records.market import PriceLevel
from tapewire.streams.normalize.errors import NormalizeError

_EXACT_TEXT: dict[str, Decimal] = {}
"""Wire text -> its checked Decimal (prices and sizes repeat; Decimal is immutable)."""
_EXACT_TEXT_CAP = 65_536
_DIGITS = frozenset("0123456789")

memo = _EXACT_TEXT.get
"""Wire text -> the Decimal :func:`exact` already checked for it, or None (the hot paths'
first try: one dict lookup; on None they call :func:`exact`, which checks and remembers)."""


def exact(value: Any, name: str) -> Decimal:
    """Wire text (or a ccxt Decimal) -> Decimal that fits decimal(38,18); never float."""
    kind = type(value)
    if kind is str:
        d = _EXACT_TEXT.get(value)
        if d is not None:
            return d
        d = checked(value, name)
        if len(_EXACT_TEXT) >= _EXACT_TEXT_CAP:
            _EXACT_TEXT.clear()
        _EXACT_TEXT[value] = d
        return d
    if kind is Decimal:
        # fast path: ``str`` of a finite Decimal without exponent notation is its digits
        # with ``-exponent`` decimals (the same text as format(d, "f"))
        text = str(value)
        if text[0] in _DIGITS and "E" not in text:
            dot = text.find(".")
            if (dot < 0 or len(text) - dot <= 19) and value.adjusted() < INTEGER_DIGITS:
                return value  # type: ignore[no-any-return]
    return checked(value, name)


def checked(value: Any, name: str, *, signed: bool = False) -> Decimal:
    """The full check of :func:`exact`, with the reason of any failure (``signed``: a
    negative value is allowed, e.g. a funding rate)."""
    kind = type(value)
    d: Decimal
    if kind is Decimal:
        d = value
    elif kind is str or kind is int:
        try:
            d = Decimal(value)
        except ArithmeticError:
            raise NormalizeError(
                f"{name} {value!r} is not a number", error_type="ParseError"
            ) from None
    elif kind is float:
        raise NormalizeError(f"{name} {value!r} is a float", error_type="FloatLeak")
    else:
        raise NormalizeError(
            f"{name} {value!r} is missing or not a number", error_type="ParseError"
        )
    exp = d.as_tuple().exponent
    if not isinstance(exp, int) or (d < 0 and not signed):  # NaN / Infinity: str exponent
        kind_text = "finite number" if signed else "finite non-negative number"
        raise NormalizeError(f"{name} {value!r} is not a {kind_text}", error_type="ParseError")
    if exp < -SCALE:
        raise NormalizeError(
            f"{name} {value!r} has more than 18 decimals", error_type="PrecisionError"
        )
    if d.adjusted() >= INTEGER_DIGITS:
        raise NormalizeError(
            f"{name} {value!r} exceeds decimal(38,18)", error_type="PrecisionError"
        )
    return d


def exact_levels(levels: list[tuple[Any, Any]]) -> list[tuple[Decimal, Decimal]]:
    """``[(price text, size text), ...]`` -> the same levels as checked decimals
    (:func:`exact` of each value, ``price`` / ``size`` named in any error)."""
    out: list[tuple[Decimal, Decimal]] = []
    append = out.append
    for price, size in levels:
        p = memo(price) if price.__class__ is str else None
        if p is None:
            p = exact(price, "price")
        s = memo(size) if size.__class__ is str else None
        if s is None:
            s = exact(size, "size")
        append((p, s))
    return out


def exact_or_none(value: Any, name: str) -> Decimal | None:
    return None if value is None else exact(value, name)


def level(price: Any, size: Any) -> PriceLevel:
    return PriceLevel(price=exact(price, "price"), size=exact(size, "size"))


def signed_or_none(value: Any, name: str) -> Decimal | None:
    """Wire text -> a checked decimal that may be negative (funding rates); None stays None."""
    return None if value is None else checked(value, name, signed=True)
