"""Venue rules: ccxt markets (TICK_SIZE and DECIMAL_PLACES), rounding, rejections, emulation."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ccxt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tapewire.records.orders import OrderRequest
from tapewire.streams.execution.emulation import TriggerWatcher, local_cancel_all
from tapewire.streams.execution.rules import (
    DECIMAL_PLACES,
    TICK_SIZE,
    Adapted,
    Rejection,
    VenueFeatures,
    VenueRules,
)
from tests.factories.orders import order_request

D = Decimal
TICK_MARKET = {  # ccxt default float mode, as load_markets leaves it
    "symbol": "BTC/USDT",
    "precision": {"price": 0.01, "amount": 1e-05},
    "limits": {
        "amount": {"min": 1e-05, "max": 9000.0},
        "price": {"min": 0.01, "max": 1000000.0},
        "cost": {"min": 5.0, "max": None},
    },
}
PLACES_MARKET = {
    "symbol": "BTC/USDT",
    "precision": {"price": 1, "amount": 4},
    "limits": {"amount": {"min": "0.001"}, "cost": {"min": "10"}},
}


def req(qty: str = "0.123456", price: str | None = "30000.555", **changes: Any) -> OrderRequest:
    """An order request off the venue's grid (0.123456 at 30000.555) unless told otherwise;
    ``changes``: the other arguments of ``order_request``."""
    return order_request(qty=qty, price=price, **changes)


@pytest.mark.parametrize(
    ("market", "mode", "side", "price", "qty"),
    [
        (TICK_MARKET, TICK_SIZE, "BUY", D("30000.55"), D("0.12345")),
        (TICK_MARKET, TICK_SIZE, "SELL", D("30000.56"), D("0.12345")),
        (PLACES_MARKET, DECIMAL_PLACES, "BUY", D("30000.5"), D("0.1234")),
        (PLACES_MARKET, DECIMAL_PLACES, "SELL", D("30000.6"), D("0.1234")),
    ],
)
def test_rounds_never_more_aggressive(
    market: dict[str, Any], mode: int, side: str, price: D, qty: D
) -> None:
    rules = VenueRules.from_ccxt_market(market, venue="binance", precision_mode=mode)
    out = rules.adapt(req(side=side))
    assert isinstance(out, Adapted)
    assert (out.request["limit_price"], out.request["quantity"]) == (price, qty)
    assert any("limit_price" in c for c in out.changes)
    assert not out.plan.emulated


@pytest.mark.parametrize(
    ("request_", "field", "rule"),
    [
        (req(qty="0.000001"), "quantity", "lot step 0.00001"),
        (req(qty="10000"), "quantity", "max qty 9000.0"),
        (req(qty="0.0001", price="100"), "quantity", "min notional 5.0"),
        (req(price="0.001"), "limit_price", "min price 0.01"),
        (req(kind="MARKET", price=None), "limit_price", "min notional 5.0"),
        (req(qty="-1"), "quantity", "quantity > 0"),
        (
            req(kind="UNKNOWN"),
            "order_type",
            "one of ('MARKET', 'LIMIT', 'STOP', 'STOP_LIMIT', 'TRAILING_STOP')",
        ),
    ],
)
def test_rejections_name_field_value_rule(request_: dict[str, Any], field: str, rule: str) -> None:
    out = VenueRules.from_ccxt_market(TICK_MARKET, venue="binance").adapt(request_)
    assert isinstance(out, Rejection)
    assert (out.field, out.rule) == (field, rule)
    assert field in str(out)


def test_market_order_notional_uses_reference_price() -> None:
    rules = VenueRules.from_ccxt_market(TICK_MARKET, venue="binance")
    assert isinstance(
        rules.adapt(req(kind="MARKET", price=None), reference_price=D(30000)), Adapted
    )


def test_stop_rounding_and_emulation_plan() -> None:
    feats = VenueFeatures(time_in_force=frozenset({"GTC"}), cancel_all=False)
    rules = VenueRules.from_ccxt_market(TICK_MARKET, venue="x", features=feats)
    out = rules.adapt(req(kind="STOP_LIMIT", stop_price=D("100.001"), tif="IOC"))
    assert isinstance(out, Adapted)
    assert out.request["stop_price"] == D("100.01")  # buy stop rounds up: triggers no earlier
    plan = out.plan
    assert (plan.venue_order_type, plan.venue_time_in_force, plan.trigger, plan.cancel_leaves) == (
        "LIMIT",
        "GTC",
        True,
        True,
    )
    assert plan.text == "emulated stop-limit; emulated IOC"
    fok = rules.plan(req(tif="FOK"))
    assert not isinstance(fok, Rejection)
    assert fok.check_depth
    assert fok.cancel_leaves
    assert isinstance(rules.adapt(req(post_only=True)), Adapted)
    no_po = rules.with_features(VenueFeatures(post_only=False)).adapt(req(post_only=True))
    assert isinstance(no_po, Rejection)
    assert no_po.field == "post_only"


def test_features_from_ccxt_exchange_metadata() -> None:
    for exchange_id, cancel_all in (("binance", True), ("okx", False)):
        ex = getattr(ccxt, exchange_id)()
        feats = VenueFeatures.from_ccxt(ex.has, ex.features, "spot")
        assert feats.cancel_all is cancel_all
        assert {"MARKET", "LIMIT", "STOP_LIMIT"} <= feats.order_types
        assert "IOC" in feats.time_in_force


def test_rules_from_markets_loaded_offline_from_simulator_rest() -> None:
    from tapewire.connectors.simulator.config import SimConfig
    from tapewire.connectors.simulator.market import MarketSimulator
    from tapewire.streams.normalize.ccxt_offline import OfflineVenue

    frames = {f.venue: f for f in MarketSimulator(SimConfig()).rest_markets()}
    frame = frames["binance"]
    venue = OfflineVenue.create(
        "binance",
        ws_url="wss://x",
        rest={frame.url_path or "": frame.payload},
        options={"fetchMarkets": {"types": ["spot"]}},
    )
    rules = VenueRules.from_ccxt_market(
        venue.ex.markets["BTC/USDT"], venue="binance", precision_mode=venue.ex.precisionMode
    )
    assert rules.price is not None
    assert rules.price.step == D("0.01")
    assert rules.amount is not None
    assert rules.amount.step == D("0.00001")


@given(
    st.decimals(D("0.01"), D(100000), places=6),
    st.decimals(D("0.00001"), D(100), places=8),
    st.sampled_from(["BUY", "SELL"]),
)
def test_property_rounding_is_on_grid_and_not_more_aggressive(price: D, qty: D, side: str) -> None:
    rules = VenueRules.from_ccxt_market(TICK_MARKET, venue="binance")
    out = rules.adapt(req(side=side, qty=str(qty), price=str(price)))
    if isinstance(out, Rejection):
        return
    p, q = out.request["limit_price"], out.request["quantity"]
    assert p % D("0.01") == 0
    assert q % D("0.00001") == 0
    assert q <= qty
    assert (p <= price) if side == "BUY" else (p >= price)


@pytest.mark.parametrize(
    ("side", "stop", "prices", "fires_at"),
    [
        ("BUY", "105", ["104", "104.99", "105", "106"], 2),
        ("SELL", "95", ["96", "95.01", "94", "93"], 2),
    ],
)
def test_stop_triggers_at_exact_trade(
    side: str, stop: str, prices: list[str], fires_at: int
) -> None:
    w = TriggerWatcher()
    w.add_request("k", req(side=side, kind="STOP", stop_price=D(stop)))
    fired = [i for i, p in enumerate(prices) if w.on_price(D(p))]
    assert fired == [fires_at]
    assert len(w) == 0


def test_trailing_bps_buy_follows_low_water_mark() -> None:
    w = TriggerWatcher()
    trig = w.add_request(
        "k", req(kind="TRAILING_STOP", trailing_offset=D(100), trailing_offset_type="BASIS_POINTS")
    )
    assert w.on_price(D(100)) == []
    assert trig.stop == D(101)
    assert w.on_price(D(90)) == []
    assert trig.stop == D("90.9")
    assert w.on_price(D("90.89")) == []
    assert w.on_price(D("90.9")) == ["k"]


def test_local_cancel_all_filters_and_is_deterministic() -> None:
    opened = [req().replace(client_order_id="a"), req().replace(client_order_id="b", venue="okx")]
    cancel_all = req().replace(
        **{
            "client_order_id": "k",
            "action": "CANCEL_ALL",
            "venue": "okx",
            "instrument": "",
        }
    )
    out = local_cancel_all(opened, cancel_all)
    assert [(c["client_order_id"], c["orig_client_order_id"], c["action"]) for c in out] == [
        ("k:0", "b", "CANCEL")
    ]
