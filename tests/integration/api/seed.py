"""Rows of the trading tables, inserted as the sink would store them (exact decimals,
integer nanoseconds)."""

from __future__ import annotations

from decimal import Decimal

from clickhouse_connect.driver.client import Client

T0 = 1_700_000_000_123_456_789


def seed_trading(client: Client) -> None:
    """Two accounts (desk, other): orders, a fill each, positions."""
    client.insert(
        "order_events",
        [
            ["ev-1", "o-desk-1", "desk", "binance", "BTC-USDT-SPOT", "BUY", "LIMIT", "GTC",
             "NEW", "NEW", Decimal("0.5"), Decimal("64000.1"), Decimal(0), Decimal("0.5"),
             None, None, T0],
            ["ev-2", "o-desk-1", "desk", "binance", "BTC-USDT-SPOT", "BUY", "LIMIT", "GTC",
             "PARTIALLY_FILLED", "TRADE", Decimal("0.5"), Decimal("64000.1"),
             Decimal("0.00000812"), Decimal("0.49999188"), Decimal("64000.1"), None, T0 + 5],
            ["ev-3", "o-other-1", "other", "okx", "ETH-USDT-SPOT", "SELL", "MARKET", "IOC",
             "FILLED", "TRADE", Decimal("2"), None, Decimal("2"), Decimal(0),
             Decimal("3000.25"), "done, \"quoted\"", T0 + 7],
        ],
        column_names=[
            "event_id", "client_order_id", "account", "venue", "instrument", "side",
            "order_type", "time_in_force", "status", "exec_type", "quantity", "limit_price",
            "cum_qty", "leaves_qty", "avg_price", "text", "event_ts",
        ],
    )
    client.insert(
        "fills",
        [
            ["binance:f1", "o-desk-1", "desk", "binance", "BTC-USDT-SPOT", "BUY",
             Decimal("64000.1"), Decimal("0.00000812"), Decimal("-0.000000001"), "USDT",
             "MAKER", None, T0 + 5],
            ["okx:f2", "o-other-1", "other", "okx", "ETH-USDT-SPOT", "SELL",
             Decimal("3000.25"), Decimal("2"), Decimal("0.6"), "USDT", "TAKER", T0 + 6, T0 + 7],
        ],
        column_names=[
            "fill_id", "client_order_id", "account", "venue", "instrument", "side", "price",
            "quantity", "fee", "fee_currency", "liquidity", "venue_ts", "receive_ts",
        ],
    )
    client.insert(
        "positions",
        [
            ["desk", "binance", "BTC-USDT-SPOT", Decimal("0.00000812"), Decimal("64000.1"),
             Decimal(0), Decimal("0.000000812"), Decimal("-0.000000001"), Decimal("64000.2"),
             "USDT", T0 + 5, "positions", 0, 1],
            ["other", "okx", "ETH-USDT-SPOT", Decimal("-2"), Decimal("3000.25"), Decimal(0),
             Decimal(0), Decimal("0.6"), None, "USDT", T0 + 7, "positions", 0, 2],
        ],
        column_names=[
            "account", "venue", "instrument", "quantity", "avg_price", "realized_pnl",
            "unrealized_pnl", "fees", "mark_price", "pnl_currency", "update_ts",
            "kafka_topic", "kafka_partition", "kafka_offset",
        ],
    )
