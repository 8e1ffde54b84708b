"""The fake Binance spot venue's order state: orders, stop triggers, trades, commissions.

Plain Python, no server: :class:`FakeEngine` holds the orders the signed endpoints create
and produces, for every change, the Binance spot ``executionReport`` event the user data
stream pushes. Semantics follow Binance spot:

* ``STOP_LOSS`` / ``STOP_LOSS_LIMIT`` carry ``stopPrice``; a BUY triggers when the last
  price is at or above it, a SELL at or below; ``STOP_LOSS`` then fills at the last price
  (taker), ``STOP_LOSS_LIMIT`` starts working as a limit order (``isWorking`` true);
* a resting ``LIMIT`` fills at its price (maker) when the last price reaches it;
* commission: ``commission_rate`` of what the order receives, in that asset (BUY: base
  asset, SELL: quote asset), as Binance charges without BNB discounts.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ZERO = Decimal(0)
OPEN = frozenset({"NEW", "PARTIALLY_FILLED"})
STOPS = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT"})


def text(value: Decimal) -> str:
    """A decimal as Binance writes it (8 places)."""
    return f"{value:.8f}"


def now_ms() -> int:
    """Wall clock in milliseconds (Binance's timestamps)."""
    return int(time.time() * 1000)


@dataclass
class FakeTrade:
    """One execution of an order (a row of ``GET /api/v3/myTrades``)."""

    trade_id: int
    order_id: int
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    maker: bool
    time_ms: int = field(default_factory=now_ms)

    def to_json(self) -> dict[str, Any]:
        """As ``GET /api/v3/myTrades`` returns it."""
        return {
            "symbol": self.symbol,
            "id": self.trade_id,
            "orderId": self.order_id,
            "orderListId": -1,
            "price": text(self.price),
            "qty": text(self.qty),
            "quoteQty": text(self.price * self.qty),
            "commission": text(self.commission),
            "commissionAsset": self.commission_asset,
            "time": self.time_ms,
            "isBuyer": self.side == "BUY",
            "isMaker": self.maker,
            "isBestMatch": True,
        }

    def to_fill(self) -> dict[str, Any]:
        """As an entry of the ``fills`` array of a FULL order response."""
        return {
            "price": text(self.price),
            "qty": text(self.qty),
            "commission": text(self.commission),
            "commissionAsset": self.commission_asset,
            "tradeId": self.trade_id,
        }


@dataclass
class FakeOrder:
    """An order as the fake venue holds it (Binance spot fields)."""

    order_id: int
    client_order_id: str
    symbol: str
    side: str
    type: str
    time_in_force: str | None
    quantity: Decimal
    price: Decimal | None
    stop_price: Decimal | None = None
    status: str = "NEW"
    executed: Decimal = ZERO
    quote: Decimal = ZERO
    working: bool = True
    time_ms: int = field(default_factory=now_ms)
    trades: list[FakeTrade] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        """NEW or PARTIALLY_FILLED."""
        return self.status in OPEN

    def to_json(self) -> dict[str, Any]:
        """The order as Binance's ``GET /api/v3/order`` returns it."""
        return {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_order_id,
            "price": text(self.price or ZERO),
            "origQty": text(self.quantity),
            "executedQty": text(self.executed),
            "cummulativeQuoteQty": text(self.quote),
            "status": self.status,
            "timeInForce": self.time_in_force or "GTC",
            "type": self.type,
            "side": self.side,
            "stopPrice": text(self.stop_price or ZERO),
            "icebergQty": "0.00000000",
            "time": self.time_ms,
            "updateTime": self.time_ms,
            "isWorking": self.working,
            "workingTime": self.time_ms if self.working else -1,
            "origQuoteOrderQty": "0.00000000",
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }

    def report(
        self, exec_type: str, trade: FakeTrade | None = None, orig_cid: str = ""
    ) -> dict[str, Any]:
        """The spot user data stream's ``executionReport`` for this change."""
        ms = now_ms()
        return {
            "e": "executionReport",
            "E": ms,
            "s": self.symbol,
            "c": self.client_order_id,
            "S": self.side,
            "o": self.type,
            "f": self.time_in_force or "GTC",
            "q": text(self.quantity),
            "p": text(self.price or ZERO),
            "P": text(self.stop_price or ZERO),
            "F": "0.00000000",
            "g": -1,
            "C": orig_cid,
            "x": exec_type,
            "X": self.status,
            "r": "NONE",
            "i": self.order_id,
            "l": text(trade.qty if trade else ZERO),
            "z": text(self.executed),
            "L": text(trade.price if trade else ZERO),
            "n": text(trade.commission) if trade else "0",
            "N": trade.commission_asset if trade else None,
            "T": trade.time_ms if trade else ms,
            "t": trade.trade_id if trade else -1,
            "I": ms,
            "w": self.working and self.is_open,
            "m": bool(trade and trade.maker),
            "M": False,
            "O": self.time_ms,
            "Z": text(self.quote),
            "Y": text(trade.price * trade.qty if trade else ZERO),
            "Q": "0.00000000",
        }


class FakeEngine:
    """Orders by client order id, the last price per symbol, and the reports to push.

    ``assets`` maps a Binance symbol to its (base, quote) assets (commission currency).
    Every state change appends its ``executionReport`` to :attr:`reports`; the server
    drains them to the user data stream subscribers.
    """

    def __init__(self, assets: dict[str, tuple[str, str]]) -> None:
        self.assets = assets
        self.orders: dict[str, FakeOrder] = {}
        self.last_price: dict[str, Decimal] = {}
        self.commission_rate = Decimal("0.001")
        self.reports: list[dict[str, Any]] = []
        self._ids = itertools.count(1000)
        self._trade_ids = itertools.count(5000)

    def next_id(self) -> int:
        """A fresh order id."""
        return next(self._ids)

    def find(self, params: dict[str, str], *, prefix: str = "orig") -> FakeOrder | None:
        """The order named by ``<prefix>ClientOrderId`` or ``orderId`` (Binance lookups)."""
        key = "origClientOrderId" if prefix == "orig" else f"{prefix}OrigClientOrderId"
        id_key = "orderId" if prefix == "orig" else f"{prefix}OrderId"
        cid = params.get(key)
        if cid is not None:
            return self.orders.get(cid)
        order_id = params.get(id_key)
        return next((o for o in self.orders.values() if str(o.order_id) == order_id), None)

    def accept(self, order: FakeOrder, *, fill_on_accept: bool) -> None:
        """Take a new order: report NEW, then fill what the rules fill at once."""
        if order.type in STOPS:
            order.working = False
        self.orders[order.client_order_id] = order
        self.reports.append(order.report("NEW"))
        if order.type == "MARKET" or (fill_on_accept and order.type not in STOPS):
            price = order.price or self.last_price.get(order.symbol, Decimal(100))
            self.execute(order, order.quantity, price, maker=False)
        elif order.symbol in self.last_price:
            self._match(order, self.last_price[order.symbol])

    def cancel(self, order: FakeOrder, orig_cid: str = "") -> None:
        """Cancel an open order."""
        order.status = "CANCELED"
        self.reports.append(order.report("CANCELED", orig_cid=orig_cid))

    def execute(self, order: FakeOrder, qty: Decimal, price: Decimal, *, maker: bool) -> FakeTrade:
        """One execution of ``qty`` at ``price``: trade, commission, status, report."""
        qty = min(qty, order.quantity - order.executed)
        base, quote = self.assets.get(order.symbol, ("BASE", "QUOTE"))
        received = qty if order.side == "BUY" else qty * price
        trade = FakeTrade(
            trade_id=next(self._trade_ids),
            order_id=order.order_id,
            symbol=order.symbol,
            side=order.side,
            price=price,
            qty=qty,
            commission=received * self.commission_rate,
            commission_asset=base if order.side == "BUY" else quote,
            maker=maker,
        )
        order.trades.append(trade)
        order.executed += qty
        order.quote += qty * price
        order.working = True
        order.status = "FILLED" if order.executed >= order.quantity else "PARTIALLY_FILLED"
        self.reports.append(order.report("TRADE", trade))
        return trade

    def trade_at(self, symbol: str, price: Decimal) -> None:
        """A public trade at ``price``: stops trigger, resting limits it reaches fill."""
        self.last_price[symbol] = price
        for order in list(self.orders.values()):
            if order.symbol == symbol and order.is_open:
                self._match(order, price)

    def _match(self, order: FakeOrder, price: Decimal) -> None:
        triggered = False
        if order.type in STOPS and not order.working:
            stop = order.stop_price or ZERO
            if not (price >= stop if order.side == "BUY" else price <= stop):
                return
            order.working = True
            if order.type == "STOP_LOSS":
                self.execute(order, order.quantity, price, maker=False)
                return
            self.reports.append(order.report("NEW"))  # Binance: working after the trigger
            triggered = True
        limit = order.price
        if order.type == "MARKET" or limit is None:
            return
        if price <= limit if order.side == "BUY" else price >= limit:
            # a limit just triggered takes the market (taker); a resting one is reached
            fill_price, maker = (price, False) if triggered else (limit, True)
            self.execute(order, order.quantity - order.executed, fill_price, maker=maker)
