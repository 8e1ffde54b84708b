"""Risk gate: one table row per rule per allow/deny edge, HALTED, REDUCING, kill switch,
and every decision encoded with the Avro codec."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from tapewire.schemas.codec import Codec
from tapewire.streams.oms import (
    OrderAction,
    OrderRequest,
    OrderType,
    Side,
    TimeInForce,
    TrailingOffsetType,
)
from tapewire.streams.risk import (
    ALL_RULES,
    AccountLimits,
    InstrumentLimits,
    OpenOrder,
    ReferenceQuote,
    RiskContext,
    RiskGate,
    TradingState,
)
from tests.factories.orders import order_request
from tests.factories.trading import risk_config

CODEC = Codec()
MS = 1_000_000
NOW = 1_767_225_600_000_000_000
BTC = "BTC-USDT-SPOT"
D = Decimal

CONFIG = risk_config(
    instrument=BTC,
    max_order_qty=2,
    max_order_notional=100_000,
    max_position=5,
    price_band_bps=100,
    max_open_orders=3,
    max_orders_per_window=2,
    stale_quote_ms=500,
)
QUOTE = ReferenceQuote(D(49_990), D(50_010), NOW - 100 * MS, NOW - 10 * MS)  # mid 50000
REQUEST = OrderRequest.from_record(
    order_request("new-1", price="50000", requested_by="strategy:t", ts=NOW)
)
"""A limit buy of 1 BTC at the quote's mid."""


def req(**changes: Any) -> OrderRequest:
    return REQUEST.with_(**changes)


def ctx(**changes: Any) -> RiskContext:
    return replace(RiskContext(now_ns=NOW, quote=QUOTE), **changes)


def open_order(cid: str, side: Side = Side.BUY, qty: str = "1") -> OpenOrder:
    return OpenOrder(cid, "acct", "binance", BTC, side, D(qty))


# (row id, request changes, context changes, state, denying rule or None)
ROWS: list[tuple[str, dict[str, Any], dict[str, Any], TradingState, str | None]] = [
    ("ok", {}, {}, TradingState.ACTIVE, None),
    ("invalid", {"quantity": D(0)}, {}, TradingState.ACTIVE, "request_valid"),
    ("unknown-type", {"order_type": OrderType.UNKNOWN}, {}, TradingState.ACTIVE, "request_valid"),
    ("unknown-account", {"account": "ghost"}, {}, TradingState.ACTIVE, "account_known"),
    (
        "client-order-id-charset",
        {"client_order_id": "new#1 é"},
        {},
        TradingState.ACTIVE,
        "client_order_id_format",
    ),
    (
        "orig-client-order-id-charset",
        {"action": OrderAction.CANCEL, "orig_client_order_id": "o?1"},
        {"open_orders": (open_order("o?1"),)},
        TradingState.ACTIVE,
        "client_order_id_format",
    ),
    (
        "client-order-id-every-allowed-char",
        {"client_order_id": "Az09._:/~-"},
        {},
        TradingState.ACTIVE,
        None,
    ),
    ("halted-new", {}, {}, TradingState.HALTED, "trading_state"),
    (
        "halted-reducing",
        {"side": Side.SELL},
        {"position": D(3)},
        TradingState.HALTED,
        "trading_state",
    ),
    (
        "halted-replace",
        {"action": OrderAction.REPLACE, "orig_client_order_id": "o1"},
        {"open_orders": (open_order("o1"),)},
        TradingState.HALTED,
        "trading_state",
    ),
    ("unknown-state", {}, {}, TradingState.UNKNOWN, "trading_state"),
    ("reducing-deny-flat", {}, {}, TradingState.REDUCING, "trading_state"),
    ("reducing-deny-adds", {}, {"position": D(3)}, TradingState.REDUCING, "trading_state"),
    (
        "reducing-deny-flips",
        {"side": Side.SELL, "quantity": D(2)},
        {"position": D(1)},
        TradingState.REDUCING,
        "trading_state",
    ),
    (
        "reducing-allow",
        {"side": Side.SELL, "quantity": D(2)},
        {"position": D(2)},
        TradingState.REDUCING,
        None,
    ),
    (
        "reducing-deny-with-open",
        {"side": Side.SELL, "quantity": D(2)},
        {"position": D(2), "open_orders": (open_order("o1", Side.SELL, "0.5"),)},
        TradingState.REDUCING,
        "trading_state",
    ),
    (
        "duplicate-open",
        {"client_order_id": "o1"},
        {"open_orders": (open_order("o1"),)},
        TradingState.ACTIVE,
        "duplicate_client_order_id",
    ),
    (
        "unknown-instrument",
        {"instrument": "ETH-USDT-SPOT"},
        {},
        TradingState.ACTIVE,
        "unknown_instrument",
    ),
    ("missing-quote", {}, {"quote": None}, TradingState.ACTIVE, "missing_reference_price"),
    (
        "one-sided-quote",
        {},
        {"quote": replace(QUOTE, ask=None)},
        TradingState.ACTIVE,
        "missing_reference_price",
    ),
    (
        "crossed-quote",
        {},
        {"quote": replace(QUOTE, bid=D(50_020))},
        TradingState.ACTIVE,
        "missing_reference_price",
    ),
    ("stale-at-threshold", {}, {"now_ns": NOW + 400 * MS}, TradingState.ACTIVE, None),
    (
        "stale-over-threshold",
        {},
        {"now_ns": NOW + 400 * MS + 1},
        TradingState.ACTIVE,
        "stale_market_data",
    ),
    ("qty-at-max", {"quantity": D(2)}, {}, TradingState.ACTIVE, None),
    (
        "qty-over-max",
        {"quantity": D("2.000000000000000001")},
        {},
        TradingState.ACTIVE,
        "max_order_qty",
    ),
    (
        "notional-at-max",
        {"quantity": D(2), "limit_price": D(50_000)},
        {},
        TradingState.ACTIVE,
        None,
    ),
    (
        "notional-over-max",
        {"quantity": D(2), "limit_price": D("50000.01")},
        {},
        TradingState.ACTIVE,
        "max_notional",
    ),
    (
        "market-notional-uses-ask",
        {
            "order_type": OrderType.MARKET,
            "limit_price": None,
            "quantity": D(2),
            "time_in_force": TimeInForce.IOC,
        },
        {},
        TradingState.ACTIVE,
        "max_notional",
    ),
    (
        "market-sell-notional-uses-bid",
        {
            "order_type": OrderType.MARKET,
            "limit_price": None,
            "quantity": D(2),
            "side": Side.SELL,
            "time_in_force": TimeInForce.IOC,
        },
        {},
        TradingState.ACTIVE,
        None,
    ),
    ("band-at-edge", {"limit_price": D(50_500)}, {}, TradingState.ACTIVE, None),
    ("band-over-edge", {"limit_price": D("49499.99")}, {}, TradingState.ACTIVE, "price_band"),
    (
        "band-stop-price",
        {"order_type": OrderType.STOP, "limit_price": None, "stop_price": D(40_000)},
        {},
        TradingState.ACTIVE,
        "price_band",
    ),
    ("reduce-only-deny", {"reduce_only": True}, {}, TradingState.ACTIVE, "reduce_only"),
    (
        "reduce-only-allow",
        {"reduce_only": True, "side": Side.SELL},
        {"position": D(1)},
        TradingState.ACTIVE,
        None,
    ),
    ("position-at-limit", {}, {"position": D(4)}, TradingState.ACTIVE, None),
    ("position-over-limit", {}, {"position": D("4.5")}, TradingState.ACTIVE, "position_limit"),
    (
        "position-open-orders-count",
        {},
        {"position": D(3), "open_orders": (open_order("o1", Side.BUY, "1.5"),)},
        TradingState.ACTIVE,
        "position_limit",
    ),
    (
        "position-over-but-reducing",
        {"side": Side.SELL},
        {"position": D(9)},
        TradingState.ACTIVE,
        None,
    ),
    ("loss-below-limit", {}, {"daily_pnl": D("-999.99")}, TradingState.ACTIVE, None),
    ("loss-at-limit", {}, {"daily_pnl": D(-1000)}, TradingState.ACTIVE, "daily_loss_limit"),
    (
        "loss-reducing-allowed",
        {"side": Side.SELL},
        {"daily_pnl": D(-5000), "position": D(1)},
        TradingState.ACTIVE,
        None,
    ),
    (
        "open-orders-below-max",
        {},
        {"open_orders": (open_order("o1", Side.SELL), open_order("o2", Side.SELL))},
        TradingState.ACTIVE,
        None,
    ),
    (
        "open-orders-at-max",
        {},
        {"open_orders": tuple(open_order(f"o{i}", Side.SELL) for i in range(3))},
        TradingState.ACTIVE,
        "max_open_orders",
    ),
    (
        "replace-unknown-order",
        {"action": OrderAction.REPLACE, "orig_client_order_id": "nope"},
        {},
        TradingState.ACTIVE,
        "unknown_order",
    ),
    (
        "replace-excludes-own-leaves",
        {"action": OrderAction.REPLACE, "orig_client_order_id": "o1", "quantity": D(2)},
        {"position": D(3), "open_orders": (open_order("o1", Side.BUY, "2"),)},
        TradingState.ACTIVE,
        None,
    ),
    (
        "cancel-allowed-halted",
        {"action": OrderAction.CANCEL, "orig_client_order_id": "o1"},
        {"open_orders": (open_order("o1"),), "quote": None},
        TradingState.HALTED,
        None,
    ),
    (
        "cancel-unknown",
        {"action": OrderAction.CANCEL, "orig_client_order_id": "o9"},
        {},
        TradingState.ACTIVE,
        "unknown_order",
    ),
    (
        "cancel-all-halted",
        {"action": OrderAction.CANCEL_ALL, "venue": "", "instrument": ""},
        {"quote": None},
        TradingState.HALTED,
        None,
    ),
]


@pytest.mark.parametrize(
    ("changes", "context", "state", "rule"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS]
)
def test_rule_table(
    changes: dict[str, Any], context: dict[str, Any], state: TradingState, rule: str | None
) -> None:
    gate = RiskGate(CONFIG)
    gate.set_trading_state(state, "acct")
    decision = gate.evaluate(req(**changes), ctx(**context))
    assert decision.rule == rule, decision.reason
    assert decision.approved is (rule is None)
    assert decision.rules_evaluated[-1] == rule if rule else decision.rules_evaluated
    if rule:
        assert decision.reason
    record = decision.to_record()
    topic = decision.topic
    assert CODEC.read(topic, CODEC.encode(topic, record)) == record


def test_every_rule_has_a_deny_row() -> None:
    denied = {row[4] for row in ROWS if row[4]}
    # order_rate is stateful, the increments need a config with a lot and a tick: own tests
    assert denied | {"order_rate", "quantity_increment", "price_increment"} == ALL_RULES


GRID = risk_config(
    instrument=BTC,
    max_order_qty=2,
    max_order_notional=100_000,
    max_position=5,
    price_band_bps=100,
    qty_increment="0.001",
    price_increment="0.5",
)


@pytest.mark.parametrize(
    ("changes", "rule", "reason"),
    [
        ({"quantity": D("1.001")}, None, None),
        (
            {"quantity": D("1.0005")},
            "quantity_increment",
            "quantity 1.0005 is not a multiple of the lot 0.001 (nearest below: 1, above: 1.001)",
        ),
        (
            {"limit_price": D("50000.25")},
            "price_increment",
            "limit_price 50000.25 is not a multiple of the tick 0.5 "
            "(nearest below: 50000, above: 50000.5)",
        ),
        (
            {"order_type": OrderType.STOP_LIMIT, "stop_price": D("49999.9")},
            "price_increment",
            "stop_price 49999.9 is not a multiple of the tick 0.5",
        ),
        (
            {
                "order_type": OrderType.TRAILING_STOP,
                "limit_price": None,
                "trailing_offset": D("10.1"),
                "trailing_offset_type": TrailingOffsetType.PRICE,
            },
            "price_increment",
            "trailing_offset 10.1 is not a multiple of the tick 0.5",
        ),
        (
            {
                "order_type": OrderType.TRAILING_STOP,
                "limit_price": None,
                "trailing_offset": D("10.1"),
                "trailing_offset_type": TrailingOffsetType.BASIS_POINTS,
            },
            None,
            None,
        ),
        ({"quantity": D("1." + "0" * 17 + "1")}, "quantity_increment", "lot 0.001"),
    ],
)
def test_quantity_and_price_increments_deny_with_the_nearest_valid_values(
    changes: dict[str, Any], rule: str | None, reason: str | None
) -> None:
    decision = RiskGate(GRID).evaluate(req(**changes), ctx())
    assert decision.rule == rule, decision.reason
    if reason is not None:
        assert decision.reason is not None
        assert reason in decision.reason


def test_duplicate_client_order_id_seen_before() -> None:
    gate = RiskGate(CONFIG)
    first = gate.evaluate(req(), ctx())
    again = gate.evaluate(req(), ctx())
    assert first.approved
    assert (again.rule, again.reason) == (
        "duplicate_client_order_id",
        "client order id 'new-1' is already known for this account",
    )
    denied_once = gate.evaluate(req(client_order_id="n2"), ctx(quote=None))
    retry = gate.evaluate(req(client_order_id="n2"), ctx())
    assert (denied_once.rule, retry.rule) == (
        "missing_reference_price",
        "duplicate_client_order_id",
    )


def test_order_rate_sliding_window_with_injected_clock() -> None:
    gate = RiskGate(CONFIG)

    def at(ts: int, cid: str) -> Any:
        fresh = replace(QUOTE, bid_ts_ns=ts, ask_ts_ns=ts)
        return gate.evaluate(req(client_order_id=cid), ctx(now_ns=ts, quote=fresh))

    assert at(NOW, "r0").approved
    assert at(NOW + 1, "r1").approved
    third = at(NOW + 999 * MS, "r2")
    assert third.rule == "order_rate"
    assert "2 orders in the last 1000 ms + 1 > max 2" in (third.reason or "")
    fourth = at(NOW + 1000 * MS, "r3")  # r0 is exactly one window old: out of the window
    assert fourth.approved, fourth.reason
    assert at(NOW + 1000 * MS, "r4").rule == "order_rate"  # r1 and r3 are in


def test_reason_carries_numbers() -> None:
    decision = RiskGate(CONFIG).evaluate(req(limit_price=D(52_000)), ctx())
    assert decision.reason == (
        "limit_price 52000 is 400.00 bps from NBBO mid 50000.000000000000000000 > band 100 bps"
    )
    assert decision.reference_price == D(50_000)
    assert decision.reference_ts_ns == NOW - 100 * MS


def test_global_halt_overrides_accounts_and_kill_switch_cancels_everything() -> None:
    gate = RiskGate(CONFIG)
    orders = [
        OpenOrder(f"o{v}", "acct", v, BTC, Side.BUY, D("0.5")) for v in ("okx", "binance", "kraken")
    ]
    cancels = gate.kill_switch(orders, NOW)
    assert [c.venue for c in cancels] == ["binance", "kraken", "okx"]
    assert all(c.action is OrderAction.CANCEL and c.requested_by == "killswitch" for c in cancels)
    assert gate.trading_state("acct") is TradingState.HALTED
    assert gate.evaluate(req(), ctx()).rule == "trading_state"
    for c in cancels:
        decision = gate.evaluate(c, ctx(open_orders=tuple(orders)))
        assert decision.approved, decision.reason
        CODEC.encode("oms.approved", decision.to_record())
    gate.set_trading_state(TradingState.ACTIVE)
    assert gate.evaluate(req(client_order_id="after"), ctx()).approved


def test_config_rejects_non_canonical_instrument() -> None:
    with pytest.raises(ValueError, match="max_order_qty"):
        InstrumentLimits.model_validate({})
    with pytest.raises(ValueError, match="canonical"):
        AccountLimits(
            instruments={"btc-usdt-spot": CONFIG.accounts["acct"].instruments[BTC]},
            max_open_orders=1,
            max_orders_per_window=1,
            rate_window_ms=1,
            daily_loss_limit=D(1),
            stale_quote_ms=1,
        )


def test_an_oversized_client_order_id_is_denied_with_a_short_reason() -> None:
    huge = "x" * 340_000
    decision = RiskGate(CONFIG).evaluate(req(client_order_id=huge), ctx())
    assert decision.rule == "request_valid"
    reason = decision.reason or ""
    assert reason.startswith("client_order_id='xxxx")
    assert "(340000 characters)" in reason
    assert "is longer than 64 characters" in reason
    assert len(reason) < 300
