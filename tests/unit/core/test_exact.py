"""The one exact-decimal module: exact where it must be, rounding only where it says so."""

from __future__ import annotations

from decimal import Decimal, Inexact, Rounded

import pytest

from tapewire.core.exact import (
    ZERO,
    add,
    div18,
    div18_exact,
    fits_decimal_38_18,
    mul,
    q18,
    round18,
    sub,
)

D = Decimal
LARGEST = D("99999999999999999999.999999999999999999")  # 38 digits, the decimal(38,18) max


def test_products_and_sums_of_38_digit_values_are_exact() -> None:
    # (the expected values avoid Python's default 28-digit context, which would round)
    units = int(str(LARGEST).replace(".", ""))
    assert mul(LARGEST, LARGEST) == D(f"{units**2}E-36")
    assert add(LARGEST, D("0.000000000000000001")) == D("100000000000000000000.000000000000000000")
    assert sub(ZERO, LARGEST) == LARGEST.copy_negate()


def test_an_exact_operation_that_would_round_raises() -> None:
    huge = D("1" * 150)
    with pytest.raises((Inexact, Rounded)):
        mul(huge, huge)


def test_division_rounds_half_even_to_18_places() -> None:
    assert div18(D(2), D(3)) == D("0.666666666666666667")
    assert div18_exact(D(1), D(8)) == D("0.125000000000000000")
    assert round18(D("0.0000000000000000005")) == D("0E-18")
    assert round18(D("0.0000000000000000015")) == D("0.000000000000000002")
    assert q18(D("1.50000")) == D("1.5")


def test_fits_decimal_38_18_at_its_edges() -> None:
    assert fits_decimal_38_18(LARGEST)
    assert fits_decimal_38_18(LARGEST.copy_negate())  # abs() in 28 digits gave 1E+20
    assert not fits_decimal_38_18(D("100000000000000000000"))
    assert not fits_decimal_38_18(D("0.0000000000000000001"))
    assert not fits_decimal_38_18(D("NaN"))
    assert not fits_decimal_38_18(D("Infinity"))
