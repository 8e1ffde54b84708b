"""AlgoRequest: validation errors name the field, JSON round trip, the engine refuses."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from tapewire.streams.algos import (
    AlgoEngine,
    AlgoError,
    AlgoKind,
    AlgoParams,
    AlgoRequestError,
    BracketParams,
    IcebergParams,
    OcoLeg,
    OcoParams,
    PovParams,
    TwapParams,
    VwapParams,
    decode_request,
    encode_request,
)
from tapewire.streams.oms import OrderType, Side, TimeInForce
from tests.factories import T0
from tests.factories.algos import algo_request

D = Decimal
TWAP = TwapParams(start_ns=T0, end_ns=T0 + 10, slices=2)
LIMIT = OcoLeg(order_type=OrderType.LIMIT, limit_price=D(110))
STOP = OcoLeg(order_type=OrderType.STOP, stop_price=D(90))
BRACKET = BracketParams(take_profit_price=D(105), stop_loss_price=D(95))


@pytest.mark.parametrize(
    ("params", "changes", "field"),
    [
        (TWAP, {"algo_id": ""}, "algo_id"),
        (TWAP, {"algo_id": "x" * 41}, "algo_id"),
        (TWAP, {"instrument": "btc"}, "instrument"),
        (TWAP, {"quantity": D(0)}, "quantity"),
        (TWAP, {"limit_price": D("-1")}, "limit_price"),
        (TwapParams(start_ns=T0, end_ns=T0 + 10, slices=0), {}, "params.slices"),
        (TwapParams(start_ns=T0, end_ns=T0, slices=1), {}, "params.end_ns"),
        (TwapParams(start_ns=T0, end_ns=T0 + 2, slices=3), {}, "params.end_ns"),
        (
            TwapParams(start_ns=T0, end_ns=T0 + 9, slices=1, size_jitter=D(1)),
            {},
            "params.size_jitter",
        ),
        (VwapParams(start_ns=T0, end_ns=T0 + 9, profile=()), {}, "params.profile"),
        (VwapParams(start_ns=T0, end_ns=T0 + 9, profile=(D(0), D(0))), {}, "params.profile"),
        (VwapParams(start_ns=T0, end_ns=T0 + 9, profile=(D(1), D(-1))), {}, "params.profile[1]"),
        (PovParams(rate=D("1.5")), {}, "params.rate"),
        (PovParams(rate=D("0.1"), end_ns=T0), {}, "params.end_ns"),
        (IcebergParams(display_qty=D("0.1")), {"limit_price": None}, "limit_price"),
        (IcebergParams(display_qty=D(2)), {}, "params.display_qty"),
        (
            OcoParams(first=LIMIT, second=OcoLeg(order_type=OrderType.STOP)),
            {"limit_price": None},
            "params.second.stop_price",
        ),
        (
            OcoParams(first=OcoLeg(order_type=OrderType.MARKET), second=STOP),
            {"limit_price": None},
            "params.first.order_type",
        ),
        (
            OcoParams(first=LIMIT, second=STOP, time_in_force=TimeInForce.IOC),
            {"limit_price": None},
            "params.time_in_force",
        ),
        (OcoParams(first=LIMIT, second=STOP), {}, "limit_price"),
        (
            BracketParams(take_profit_price=D(95), stop_loss_price=D(105)),
            {},
            "params.stop_loss_price",
        ),
        (BRACKET, {"limit_price": D(106)}, "limit_price"),
        (BRACKET, {"side": Side.SELL}, "params.stop_loss_price"),
        (TWAP, {"max_slippage_bps": D(10_000)}, "max_slippage_bps"),
        (TWAP, {"max_slippage_bps": D(0)}, "max_slippage_bps"),
        (IcebergParams(display_qty=D("0.1")), {"max_slippage_bps": D(5)}, "max_slippage_bps"),
    ],
)
def test_a_bad_field_is_named_with_its_value(
    params: AlgoParams, changes: dict[str, Any], field: str
) -> None:
    request = algo_request(params, **({"limit_price": "100"} | changes))
    with pytest.raises(AlgoRequestError) as info:
        request.check()
    assert info.value.field == field
    assert f"{field}=" in info.value.message
    with pytest.raises(AlgoRequestError):
        AlgoEngine().submit(request, T0)


@pytest.mark.parametrize(
    "params",
    [
        TWAP,
        VwapParams(start_ns=T0, end_ns=T0 + 9, profile=(D("0.3"), D("0.7"))),
        PovParams(rate=D("0.1"), min_slice=D("0.01"), end_ns=T0 + 9),
        IcebergParams(display_qty=D("0.1"), size_jitter=D("0.2"), seed=4),
        OcoParams(first=LIMIT, second=STOP),
        BRACKET,
    ],
)
def test_every_algo_request_round_trips_through_json(params: AlgoParams) -> None:
    limit = None if isinstance(params, OcoParams) else "100"
    request = algo_request(params, "1.000000000000000001", limit_price=limit)
    assert decode_request(encode_request(request)) == request
    assert request.kind is AlgoKind(str(type(params).__struct_config__.tag))


def test_decoding_names_a_bad_or_unknown_field() -> None:
    good = msgspec.json.decode(encode_request(algo_request(TWAP)))
    with pytest.raises(AlgoRequestError) as info:
        decode_request(msgspec.json.encode(good | {"params": good["params"] | {"slices": "x"}}))
    assert info.value.field == "params.slices"
    with pytest.raises(AlgoRequestError) as info:
        decode_request(msgspec.json.encode(good | {"params": {"kind": "SNIPER"}}))
    assert info.value.field == "params.kind"
    with pytest.raises(AlgoRequestError, match=r"params\.slices=0"):
        decode_request(msgspec.json.encode(good | {"params": good["params"] | {"slices": 0}}))
    with pytest.raises(AlgoRequestError, match="not JSON"):
        decode_request(b"{")


def test_a_known_algo_id_is_refused() -> None:
    engine = AlgoEngine()
    engine.submit(algo_request(TWAP), T0)
    with pytest.raises(AlgoError, match="is taken"):
        engine.submit(algo_request(TWAP), T0)
