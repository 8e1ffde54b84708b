"""The normalizer's cheap per-value paths give exactly what the full checks give."""

from __future__ import annotations

import zlib
from decimal import Decimal

import pytest

from tapewire.streams.normalize.ccxt_offline import fmt
from tapewire.streams.normalize.decimals import checked as _checked
from tapewire.streams.normalize.decimals import exact as _exact
from tapewire.streams.normalize.errors import NormalizeError
from tapewire.streams.normalize.mappers.common import okx_checksum, okx_checksum_text

VALUES = [
    "0",
    "0.00000812",
    "16541.01000000",
    "100",
    "1E+2",  # exponent notation: the slow path
    "1E-7",
    "0.0000001",
    "0.000000000000000001",  # 18 decimals: fits
    "0.0000000000000000010",  # 19 decimals (a trailing zero): PrecisionError
    "1E-19",
    "99999999999999999999.5",  # 20 integer digits: fits
    "100000000000000000000",  # 21 integer digits: PrecisionError
    "-1",
    "-0",
    "NaN",
    "sNaN",
    "Infinity",
    "abc",
]


def _outcome(fn: object, value: object) -> tuple[str, str]:
    try:
        d = fn(value, "price")  # type: ignore[operator]
    except NormalizeError as exc:
        return "error", f"{exc.error_type}: {exc.message}"
    return "ok", repr(d)


@pytest.mark.parametrize("text", VALUES)
def test_exact_matches_the_full_check_for_text_and_decimals(text: str) -> None:
    expected = _outcome(_checked, text)
    assert _outcome(_exact, text) == expected
    assert _outcome(_exact, text) == expected  # the second time from the text memo
    if text != "abc":
        d = Decimal(text)
        assert _outcome(_exact, d) == _outcome(_checked, d)


def test_exact_keeps_the_exponent_of_the_wire_text() -> None:
    assert str(_exact("1.50", "price")) == "1.50"
    assert str(_exact("1.5", "price")) == "1.5"
    assert _exact(Decimal("2.000"), "size").as_tuple().exponent == -3


def test_exact_refuses_floats() -> None:
    with pytest.raises(NormalizeError) as info:
        _exact(0.1, "price")
    assert info.value.error_type == "FloatLeak"


def _reference_checksum(bids: list[list[object]], asks: list[list[object]]) -> int:
    parts: list[str] = []
    for i in range(25):
        if i < len(bids):
            parts += [fmt(bids[i][0]), fmt(bids[i][1])]
        if i < len(asks):
            parts += [fmt(asks[i][0]), fmt(asks[i][1])]
    crc = zlib.crc32(":".join(parts).encode()) & 0xFFFFFFFF
    return crc - (1 << 32) if crc >= 1 << 31 else crc


@pytest.mark.parametrize(
    ("n_bids", "n_asks", "size"),
    [(0, 0, "1"), (3, 30, "0.5"), (30, 3, "2.25"), (25, 25, "1E-8"), (40, 10, "1E+1")],
)
def test_okx_checksum_matches_the_level_by_level_text(n_bids: int, n_asks: int, size: str) -> None:
    bids: list[list[object]] = [[Decimal(f"{3366 - i}.1"), Decimal(size)] for i in range(n_bids)]
    asks: list[list[object]] = [[Decimal(f"{3367 + i}.10"), Decimal("7")] for i in range(n_asks)]
    assert okx_checksum(bids, asks) == _reference_checksum(bids, asks)
    if asks:
        asks[0][1] = "7"  # a str level takes the general path
        assert okx_checksum(bids, asks) == _reference_checksum(bids, asks)


@pytest.mark.parametrize(
    ("n_bids", "n_asks", "size"),
    [(0, 0, "1"), (3, 30, "0.5"), (30, 3, "2.25"), (25, 25, "0.00000001"), (40, 10, "10")],
)
def test_okx_checksum_of_the_wire_text_matches_the_decimals(
    n_bids: int, n_asks: int, size: str
) -> None:
    # the book keeps OKX levels as sent: the checksum over that text is the one over the
    # decimals made from it (trailing zeros and tiny sizes included)
    bids = [(f"{3366 - i}.1", size) for i in range(n_bids)]
    asks = [(f"{3367 + i}.10", "7") for i in range(n_asks)]
    decimals = [[(Decimal(p), Decimal(s)) for p, s in side] for side in (bids, asks)]
    assert okx_checksum_text(bids, asks) == okx_checksum(*decimals)
    assert okx_checksum_text(bids, asks) == _reference_checksum(*decimals)  # type: ignore[arg-type]


def test_okx_checksum_documented_example() -> None:
    # OKX's documented example: bids 3366.1:7, asks 3366.8:9 3368:8 3372:8
    bids = [[Decimal("3366.1"), Decimal("7")]]
    asks = [[Decimal("3366.8"), Decimal("9")], [Decimal("3368"), Decimal("8")]]
    asks.append([Decimal("3372"), Decimal("8")])
    assert okx_checksum(bids, asks) == 831078360
    wire = [("3366.8", "9"), ("3368", "8"), ("3372", "8")]
    assert okx_checksum_text([("3366.1", "7")], wire) == 831078360
