"""What the gate needs to know besides the request: market, position, open orders, PnL."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tapewire.core.exact import ZERO, add, div18
from tapewire.records.market import ConsolidatedQuote
from tapewire.streams.oms import Order, OrderType, Side, TimeInForce


@dataclass(frozen=True, slots=True)
class ReferenceQuote:
    """The NBBO of one instrument; timestamps are receive times in UTC ns."""

    bid: Decimal | None
    ask: Decimal | None
    bid_ts_ns: int | None
    ask_ts_ns: int | None

    @classmethod
    def from_nbbo(cls, nbbo: ConsolidatedQuote) -> ReferenceQuote:
        """From a ``ConsolidatedQuote`` record (topic ``md.nbbo``)."""
        return cls(nbbo.bid_price, nbbo.ask_price, nbbo.bid_receive_ts_ns, nbbo.ask_receive_ts_ns)

    @property
    def mid(self) -> Decimal | None:
        """Mid price to 18 places; None unless both sides exist and are not crossed."""
        if self.bid is None or self.ask is None or self.bid <= 0 or self.bid > self.ask:
            return None
        return div18(add(self.bid, self.ask), Decimal(2))

    @property
    def ts_ns(self) -> int | None:
        """Receive time of the older side (staleness is judged by it)."""
        if self.bid_ts_ns is None or self.ask_ts_ns is None:
            return None
        return min(self.bid_ts_ns, self.ask_ts_ns)

    def touch(self, side: Side) -> Decimal | None:
        """The price a market order on ``side`` would hit first (ask to buy, bid to sell)."""
        return self.ask if side is Side.BUY else self.bid


@dataclass(frozen=True, slots=True)
class OpenOrder:
    """An open order as risk sees it."""

    client_order_id: str
    account: str
    venue: str
    instrument: str
    side: Side
    leaves_qty: Decimal
    order_type: OrderType = OrderType.LIMIT
    time_in_force: TimeInForce = TimeInForce.GTC

    @classmethod
    def of(cls, order: Order) -> OpenOrder:
        """From an OMS order."""
        return cls(
            order.client_order_id,
            order.account,
            order.venue,
            order.instrument,
            order.side,
            order.leaves_qty,
            order.order_type,
            order.time_in_force,
        )


@dataclass(frozen=True, slots=True)
class RiskContext:
    """State of the world for one request, from the other streams.

    ``position`` is the account's signed position in the request's instrument (all
    venues); ``open_orders`` are all of the account's open orders; ``daily_pnl`` is the
    account's realized + unrealized PnL since 00:00 UTC (negative is a loss).
    """

    now_ns: int
    quote: ReferenceQuote | None
    position: Decimal = ZERO
    open_orders: tuple[OpenOrder, ...] = ()
    daily_pnl: Decimal = ZERO
