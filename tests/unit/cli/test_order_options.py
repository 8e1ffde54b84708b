"""``tapewire order new`` options for trailing stops and GTD: parsed into the request,
every bad value one clear error naming the option."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tapewire.cli.trading import OptionError, new_order_request
from tapewire.streams.oms import OrderType, TimeInForce, TrailingOffsetType

NOW = 1_800_000_000_000_000_000  # 2027-01-15T08:00:00Z
TRAILING: dict[str, Any] = {"order_type": "trailing", "price": None}


def request(**options: Any) -> Any:
    base: dict[str, Any] = {
        "account": "a",
        "venue": "binance",
        "instrument": "BTC-USDT-SPOT",
        "side": "sell",
        "order_type": "limit",
        "quantity": "0.5",
        "price": "65000",
        "now_ns": NOW,
    }
    return new_order_request(**(base | options))


@pytest.mark.parametrize(
    ("offset", "unit", "offset_type"),
    [("150.5", "price", TrailingOffsetType.PRICE), ("25", "BPS", TrailingOffsetType.BASIS_POINTS)],
)
def test_trailing_stop_takes_its_offset_and_unit(
    offset: str, unit: str, offset_type: TrailingOffsetType
) -> None:
    r = request(order_type="trailing", price=None, trailing_offset=offset, offset_type=unit)
    assert r.order_type is OrderType.TRAILING_STOP
    assert (r.trailing_offset, r.trailing_offset_type) == (Decimal(offset), offset_type)
    assert r.limit_price is None


@pytest.mark.parametrize(
    ("expire", "expected"),
    [
        ("+30m", NOW + 30 * 60 * 10**9),
        ("+2d", NOW + 2 * 86_400 * 10**9),
        ("2027-01-15T09:00:00Z", NOW + 3_600 * 10**9),
        ("2027-01-15T10:00:00.5+01:00", NOW + 3_600 * 10**9 + 500_000_000),
        (str(NOW + 1), NOW + 1),
    ],
)
def test_gtd_takes_an_expiry_in_every_documented_form(expire: str, expected: int) -> None:
    r = request(tif="gtd", expire=expire)
    assert r.time_in_force is TimeInForce.GTD
    assert r.expire_ts_ns == expected


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"order_type": "trailing", "price": None}, "--trailing-offset is required"),
        (
            {"order_type": "trailing", "price": None, "trailing_offset": "5"},
            "--offset-type is required for TRAILING_STOP",
        ),
        (
            {"order_type": "trailing", "price": None, "trailing_offset": "5", "offset_type": "%"},
            "--offset-type='%': expected one of price, bps",
        ),
        (
            {
                "order_type": "trailing",
                "price": None,
                "trailing_offset": "-1",
                "offset_type": "price",
            },
            "--trailing-offset='-1': must be positive",
        ),
        (
            {
                "order_type": "trailing",
                "price": None,
                "trailing_offset": "1e4",
                "offset_type": "bps",
            },
            "--trailing-offset='10000': is 100% or more",
        ),
        ({"tif": "GTD"}, "--expire is required for GTD"),
        ({"tif": "GTD", "expire": "tomorrow"}, "--expire='tomorrow': not a time"),
        ({"tif": "GTD", "expire": "2027-01-15T09:00:00"}, "no time zone"),
        ({"tif": "GTD", "expire": "2027-01-15T07:00:00Z"}, "is not in the future"),
        ({"tif": "GTC", "expire": "+1h"}, "--expire='+1h': only a GTD order expires"),
    ],
)
def test_bad_trailing_or_gtd_options_name_the_option(options: dict[str, Any], message: str) -> None:
    with pytest.raises(OptionError) as caught:
        request(**options)
    assert message in str(caught.value)
