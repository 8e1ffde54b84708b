"""Shared cases of the hot-path tests: a seeded two-venue run and a small taker strategy."""

from __future__ import annotations

from decimal import Decimal

from tapewire.connectors.capture.simulated import raw_frames
from tapewire.connectors.simulator import InstrumentSpec, MarketSimulator, SimConfig
from tapewire.core.records import Record
from tapewire.schemas.codec import Codec
from tapewire.streams.execution.paper import PaperConfig
from tapewire.streams.oms import OrderAction, OrderRequest, OrderType, Side, TimeInForce
from tapewire.streams.stages.base import InMsg
from tapewire.streams.stages.config import StreamsConfig
from tapewire.streams.trading.config import TradingConfig
from tapewire.streams.trading.strategy import Strategy
from tests.factories.orders import trading_state_command
from tests.factories.trading import risk_config

D = Decimal
INST = "BTC-USDT-SPOT"
CODEC = Codec()


class Taker(Strategy):
    """Every 25th Binance quote (from the first): one IOC buy at the ask (max 4); and
    every 40th OKX quote (max 3): one GTC buy far below the bid, which rests."""

    strategy_id = "taker"
    account = "acct"

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}
        self.sent: dict[str, int] = {}

    def on_quote(self, quote: Record) -> list[OrderRequest]:
        venue = quote["venue"]
        if quote["instrument"] != INST:
            return []
        n = self.seen[venue] = self.seen.get(venue, 0) + 1
        every, cap = (25, 4) if venue == "binance" else (40, 3)
        if (n - 1) % every or self.sent.get(venue, 0) >= cap:
            return []
        self.sent[venue] = self.sent.get(venue, 0) + 1
        rest = venue == "okx"
        price = quote["bid_price"] - D(500) if rest else quote["ask_price"]
        return [
            OrderRequest(
                client_order_id=self.client_order_id(venue, quote["receive_ts_ns"]),
                account=self.account,
                venue=venue,
                instrument=INST,
                side=Side.BUY,
                order_type=OrderType.LIMIT,
                time_in_force=TimeInForce.GTC if rest else TimeInForce.IOC,
                quantity=D("0.001"),
                limit_price=price,
                action=OrderAction.NEW,
                requested_by="strategy:taker",
                request_ts_ns=quote["receive_ts_ns"],
                strategy_id=self.strategy_id,
            )
        ]


def config(prefix: str = "t.", partitions: int = 6) -> StreamsConfig:
    big = D(10) ** 9
    risk = risk_config(
        max_order_qty=1,
        max_order_notional=big,
        max_position=1,
        price_band_bps=10_000,
        max_open_orders=100,
        max_orders_per_window=1000,
        daily_loss_limit=big,
        stale_quote_ms=10**15,  # simulator clock (2024) vs. the gate's wall clock
    )
    trading = TradingConfig(
        risk=risk,
        paper_venues=(PaperConfig("binance"), PaperConfig("okx")),
        strategies=(Taker,),
    )
    return StreamsConfig(topic_prefix=prefix, partitions=partitions, trading=trading)


def frames(n: int = 1500) -> list[InMsg]:
    sim = MarketSimulator(
        SimConfig(
            seed=5,
            venues=("binance", "okx"),
            instruments=(
                InstrumentSpec(symbol="BTC/USDT", start_price=D(65000), typical_size=D("0.4")),
            ),
            n_frames=n,
            spread_ticks=100,  # one-tick spreads cross across venues; risk fails closed
            ground_truth=False,
        )
    )
    encode = CODEC.for_topic("md.raw").encode
    return [
        InMsg(0, i, CODEC.key("md.raw", r), encode(r))
        for i, r in enumerate(raw_frames(sim.frames()))
    ]


def kill_switch(request_ts_ns: int = 1) -> bytes:
    """A ``tapewire kill-switch on`` command (HALTED, every account) as on oms.requests."""
    command = trading_state_command("kill-it", requested_by="cli:test", ts=request_ts_ns)
    return CODEC.encode("oms.requests", command)
