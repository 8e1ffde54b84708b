"""The backtest report's TCA summary from known TCA reports: exact sums and ratios.

Three USDT orders (a filled buy on binance; a half-filled sell and an unfilled buy without
an arrival mid on okx), one ETH-BTC order whose fee is in the base currency, and two
revisions of one parent. Every expected figure is worked out by hand in the comments.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tapewire.backtest.tca import approved_new_orders, tca_summary
from tapewire.records.orders import OrderRequest
from tapewire.records.risk import RiskDecision
from tapewire.records.tca import TcaReport

D = Decimal
TS = 1_704_067_200_000_000_000


def _report(order_id: str, **fields: Any) -> TcaReport:
    base: dict[str, Any] = {
        "tca_id": f"order:paper:{order_id}",
        "kind": "ORDER",
        "account": "paper",
        "order_id": order_id,
        "instrument": "BTC-USDT-SPOT",
        "side": "BUY",
        "status": "FILLED",
        "filled_qty": D(0),
        "notional": D(0),
        "arrival_ts_ns": TS,
        "arrival_source": "NBBO",
        "end_ts_ns": TS + 1_000,
        "interval_volume": D(0),
        "interval_trades": 0,
        "fees_quote": D(0),
        "quote_currency": "USDT",
    }
    return TcaReport(**(base | fields))


REPORTS = [
    # buy 1 @ 101, arrival 100, VWAP 100.5, fee 0.1: execution cost 1, VWAP cost 0.5,
    # shortfall cost 1 + 0.1 over 1 * 100
    _report(
        "a",
        venue="binance",
        quantity=D(1),
        filled_qty=D(1),
        notional=D(101),
        arrival_mid=D(100),
        interval_vwap=D("100.5"),
        slippage_arrival_bps=D(100),
        slippage_vwap_bps=D("49.751243781094527363"),
        execution_cost=D(1),
        fees_quote=D("0.1"),
        fees={"USDT": D("0.1")},
        opportunity_cost=D(0),
        shortfall_bps=D(110),
    ),
    # sell 2 of 4 @ 99, arrival 100, VWAP 99.5, end mid 98, fee 0.2: execution cost
    # -(198 - 200) = 2, VWAP cost -(198 - 199) = 1, opportunity -(2 * (98 - 100)) = 4,
    # shortfall cost 2 + 0.2 + 4 = 6.2 over 4 * 100
    _report(
        "b",
        venue="okx",
        side="SELL",
        status="CANCELED",
        quantity=D(4),
        filled_qty=D(2),
        notional=D(198),
        arrival_mid=D(100),
        end_mid=D(98),
        interval_vwap=D("99.5"),
        slippage_arrival_bps=D(100),
        slippage_vwap_bps=D("50.251256281407035176"),
        execution_cost=D(2),
        fees_quote=D("0.2"),
        fees={"USDT": D("0.2")},
        opportunity_cost=D(4),
        shortfall_bps=D(155),
    ),
    # unfilled, no arrival mid: counted, in no ratio
    _report("c", venue="okx", status="CANCELED", quantity=D(1), arrival_source="NONE"),
    # ETH-BTC: buy 1 @ 0.05, arrival 0.049, fee 0.001 ETH = 0.00005 BTC, no VWAP
    _report(
        "d",
        venue="okx",
        instrument="ETH-BTC-SPOT",
        quote_currency="BTC",
        quantity=D(1),
        filled_qty=D(1),
        notional=D("0.05"),
        arrival_mid=D("0.049"),
        slippage_arrival_bps=D("204.081632653061224490"),
        execution_cost=D("0.001"),
        fees_quote=D("0.00005"),
        fees={"ETH": D("0.001")},
        opportunity_cost=D(0),
        shortfall_bps=D("214.285714285714285714"),
    ),
    *(
        _report("p1", kind="PARENT", venue=None, revision=rev, filled_qty=D(1), notional=D(101))
        for rev in (1, 2)
    ),
]


def test_the_summary_adds_costs_and_values_exactly() -> None:
    summary = tca_summary(REPORTS, approved_orders=6)
    assert summary["order_reports"] == 4
    assert summary["parent_reports"] == 1
    assert summary["orders_open_at_end"] == 2  # 6 approved, 4 reported
    usdt = summary["by_quote_currency"]["USDT"]
    by_venue = usdt.pop("by_venue")
    assert usdt == {
        "orders": 3,
        "filled_orders": 2,
        "filled_notional": "299",
        "fees_quote": "0.3",
        "fees": {"USDT": "0.3"},
        "slippage_arrival_bps": "100",  # (1 + 2) / (100 + 200)
        "slippage_vwap_bps": "50.08347245409015025",  # (0.5 + 1) / (100.5 + 199)
        "shortfall_bps": "146",  # (1.1 + 6.2) / (100 + 400)
        "orders_with_arrival_slippage": 2,
        "orders_with_vwap_slippage": 2,
        "orders_with_shortfall": 2,
    }
    assert by_venue["binance"]["shortfall_bps"] == "110"
    assert by_venue["binance"]["slippage_vwap_bps"] == "49.751243781094527363"
    okx = by_venue["okx"]
    assert (okx["orders"], okx["filled_orders"]) == (2, 1)
    assert (okx["slippage_arrival_bps"], okx["shortfall_bps"]) == ("100", "155")
    assert okx["slippage_vwap_bps"] == "50.251256281407035176"
    btc = summary["by_quote_currency"]["BTC"]
    assert btc["fees"] == {"ETH": "0.001"}
    assert btc["fees_quote"] == "0.00005"
    assert btc["slippage_arrival_bps"] == "204.08163265306122449"
    assert btc["slippage_vwap_bps"] is None
    assert btc["shortfall_bps"] == "214.285714285714285714"  # 0.00105 / 0.049


def test_no_reports_give_empty_figures() -> None:
    summary = tca_summary([], approved_orders=0)
    assert summary["by_quote_currency"] == {}
    assert (summary["order_reports"], summary["orders_open_at_end"]) == (0, 0)


def test_only_approved_new_orders_are_counted() -> None:
    def decision(action: str, verdict: str) -> RiskDecision:
        request = OrderRequest(
            client_order_id=f"{action}-{verdict}",
            account="paper",
            venue="okx",
            instrument="BTC-USDT-SPOT",
            action=action,
            side="BUY",
            order_type="LIMIT",
            time_in_force="GTC",
            quantity=D(1),
            limit_price=D(100),
            requested_by="test",
            request_ts_ns=TS,
        )
        return RiskDecision(
            decision_id=f"d-{action}-{verdict}",
            client_order_id=request.client_order_id,
            account="paper",
            request=request,
            decision=verdict,
            decision_ts_ns=TS,
        )

    decisions = [decision("NEW", "APPROVED"), decision("CANCEL", "APPROVED")]
    assert approved_new_orders([*decisions, decision("NEW", "DENIED"), "not a decision"]) == 1
