"""Trading records and configuration: fills, positions, TCA reports, the risk configuration."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tapewire.records.orders import Fill
from tapewire.records.positions import Position
from tapewire.records.tca import TcaReport
from tapewire.streams.risk import AccountLimits, InstrumentLimits, RiskConfig
from tests.factories import INST, T0, Num


def fill(
    fill_id: str = "f1",
    side: str = "BUY",
    price: Num = "100",
    qty: Num = "1",
    *,
    fee: Num = "0",
    cid: str | None = None,
    account: str = "acct",
    venue: str = "binance",
    instrument: str = INST,
    ts: int = T0,
    **changes: Any,
) -> Fill:
    """A taker ``Fill`` record (``oms.fills``) of order ``cid`` (default: ``fill_id``); fee in
    USDT; venue and receive time ``ts``."""
    record: dict[str, Any] = {
        "fill_id": fill_id,
        "client_order_id": fill_id if cid is None else cid,
        "venue_order_id": None,
        "account": account,
        "venue": venue,
        "instrument": instrument,
        "side": side,
        "price": Decimal(price),
        "quantity": Decimal(qty),
        "fee": Decimal(fee),
        "fee_currency": "USDT",
        "liquidity": "TAKER",
        "venue_ts_ns": ts,
        "receive_ts_ns": ts,
        "strategy_id": None,
    }
    return Fill(**(record | changes))


def position(
    ts: int = T0,
    realized: Num = "0",
    unrealized: Num = "0",
    fees: Num = "0",
    *,
    account: str = "acct",
    venue: str = "binance",
    instrument: str = INST,
    quantity: Num = "1",
    avg_price: Num = "100",
    mark_price: Num = "100",
    last_fill_id: str = "f1",
    **changes: Any,
) -> Position:
    """A ``Position`` record as the positions agent publishes it, PnL in USDT, updated and
    marked at ``ts``."""
    record: dict[str, Any] = {
        "account": account,
        "venue": venue,
        "instrument": instrument,
        "quantity": Decimal(quantity),
        "avg_price": Decimal(avg_price),
        "realized_pnl": Decimal(realized),
        "unrealized_pnl": Decimal(unrealized),
        "fees": Decimal(fees),
        "mark_price": Decimal(mark_price),
        "mark_ts_ns": ts,
        "pnl_currency": "USDT",
        "last_fill_id": last_fill_id,
        "update_ts_ns": ts,
    }
    return Position(**(record | changes))


def risk_config(
    *,
    account: str = "acct",
    instrument: str = INST,
    max_order_qty: Num = 5,
    max_order_notional: Num = 10_000,
    max_position: Num = 10,
    price_band_bps: Num = 500,
    max_open_orders: int = 10,
    max_orders_per_window: int = 100,
    rate_window_ms: int = 1000,
    daily_loss_limit: Num = 1000,
    stale_quote_ms: int = 60_000,
    qty_increment: Num | None = None,
    price_increment: Num | None = None,
) -> RiskConfig:
    """A ``RiskConfig`` with limits for one account trading one instrument."""
    limits = InstrumentLimits(
        max_order_qty=Decimal(max_order_qty),
        max_order_notional=Decimal(max_order_notional),
        max_position=Decimal(max_position),
        price_band_bps=Decimal(price_band_bps),
        qty_increment=None if qty_increment is None else Decimal(qty_increment),
        price_increment=None if price_increment is None else Decimal(price_increment),
    )
    limits_of_account = AccountLimits(
        instruments={instrument: limits},
        max_open_orders=max_open_orders,
        max_orders_per_window=max_orders_per_window,
        rate_window_ms=rate_window_ms,
        daily_loss_limit=Decimal(daily_loss_limit),
        stale_quote_ms=stale_quote_ms,
    )
    return RiskConfig(accounts={account: limits_of_account})


def tca_report(order_id: str = "o1", *, ts: int = T0, **changes: Any) -> TcaReport:
    """A ``TcaReport`` (``tca``) of a filled buy of 1 at 100.5 against an arrival mid of
    100 (50 bps), fee 0.1 USDT; arrival ``ts``, end ``ts`` + 1 s."""
    record: dict[str, Any] = {
        "tca_id": f"order:acct:{order_id}",
        "kind": "ORDER",
        "account": "acct",
        "order_id": order_id,
        "venue": "binance",
        "instrument": INST,
        "side": "BUY",
        "status": "FILLED",
        "quantity": Decimal(1),
        "filled_qty": Decimal(1),
        "fill_ratio": Decimal(1),
        "avg_price": Decimal("100.5"),
        "notional": Decimal("100.5"),
        "arrival_ts_ns": ts,
        "arrival_mid": Decimal(100),
        "arrival_source": "NBBO",
        "arrival_quote_ts_ns": ts,
        "end_ts_ns": ts + 1_000_000_000,
        "interval_volume": Decimal(0),
        "interval_trades": 0,
        "slippage_arrival_bps": Decimal(50),
        "execution_cost": Decimal("0.5"),
        "fees_quote": Decimal("0.1"),
        "opportunity_cost": Decimal(0),
        "shortfall_bps": Decimal(60),
        "quote_currency": "USDT",
        "fees": {"USDT": Decimal("0.1")},
        "venue_mix": {"binance": Decimal(1)},
    }
    return TcaReport(**(record | changes))
