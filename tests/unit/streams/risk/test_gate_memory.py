"""The gate's memory stays bounded over many requests: the seen-id window and the rate window."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from tapewire.streams.oms import OrderRequest, Side
from tapewire.streams.risk import OpenOrder, ReferenceQuote, RiskContext, RiskGate
from tests.factories.orders import order_request
from tests.factories.trading import risk_config

MS = 1_000_000
NOW = 1_767_225_600_000_000_000
WINDOW = 50
CONFIG = risk_config(
    instrument="BTC-USDT-SPOT", max_order_notional=100_000, max_orders_per_window=5
).model_copy(update={"seen_ids_per_account": WINDOW})


def request(cid: str, ts: int) -> OrderRequest:
    return OrderRequest.from_record(order_request(cid, price="50000", ts=ts))


def context(ts: int) -> RiskContext:
    quote = ReferenceQuote(Decimal(49_990), Decimal(50_010), ts, ts)
    return RiskContext(now_ns=ts, quote=quote)


def test_seen_ids_and_rate_window_bounded_over_10000_requests_duplicates_still_denied() -> None:
    gate = RiskGate(CONFIG)
    for i in range(10_000):
        ts = NOW + i * MS
        decision = gate.evaluate(request(f"c{i}", ts), context(ts))
        assert decision.rule in (None, "order_rate")
        if i % 97 == 0:  # a replay of an id inside the window is still a duplicate
            recent = f"c{i - WINDOW + 1}" if i >= WINDOW else "c0"
            again = gate.evaluate(request(recent, ts), context(ts))
            assert again.rule == "duplicate_client_order_id"
        assert len(gate._seen["acct"]) <= WINDOW
        assert len(gate._sent["acct"]) <= 5
    # outside the window (oldest 10,000 - 50 ids) the id is forgotten: the documented bound
    ts = NOW + 20_000 * MS
    assert gate.evaluate(request("c0", ts), context(ts)).rule is None


def test_open_order_id_is_a_duplicate_even_when_forgotten_by_the_window() -> None:
    gate = RiskGate(CONFIG)
    for i in range(WINDOW * 3):
        ts = NOW + i * 1000 * MS
        gate.evaluate(request(f"c{i}", ts), context(ts))
    ts = NOW + 10**6 * MS
    resting = OpenOrder("c0", "acct", "binance", "BTC-USDT-SPOT", Side.BUY, Decimal(1))
    ctx = replace(context(ts), open_orders=(resting,))
    assert gate.evaluate(request("c0", ts), ctx).rule == "duplicate_client_order_id"
