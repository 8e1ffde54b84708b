"""Tutorial strategy: long-only mean reversion on the NBBO mid (docs/tutorial-strategy.md).

It lives outside the ``tapewire`` package on purpose: a deployment file loads it by
``mean_reversion:MeanReversion`` with ``strategy_path = ["strategies"]`` (a folder
relative to the file), the same class runs live on paper (``tapewire run all``) and in a
backtest (``tapewire backtest``).

The idea: keep the mean of the last ``window`` NBBO mids of one instrument. When the mid
falls ``entry_bps`` below that mean, buy ``quantity`` at the best ask (an IOC limit on the
venue that shows it), up to ``max_position``; when the mid is back ``exit_bps`` above the
mean, sell what it holds at the best bid. After each order it waits ``cooldown_ms`` of
market time. Every order goes through the risk gate like any other.

Rules a strategy must follow (``docs/trading.md``): plain Python with explicit state; no
clock, no randomness, no I/O; client order ids built from input fields only, so a replay
(or a backtest) makes the same ids.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tapewire.core.exact import BPS, ZERO, add, div18, mul, sub
from tapewire.records.market import ConsolidatedQuote
from tapewire.records.orders import OrderEvent
from tapewire.streams.oms import OrderAction, OrderRequest, OrderType, Side, TimeInForce
from tapewire.streams.trading.strategy import Strategy

TWO = Decimal(2)


@dataclass(frozen=True)
class MeanReversionConfig:
    """The strategy's parameters (a deployment file's ``params``)."""

    instrument: str
    venues: tuple[str, ...]
    """Venues it may trade on (the paper venues); an NBBO side elsewhere is skipped."""
    quantity: Decimal
    max_position: Decimal
    window: int = 50
    entry_bps: Decimal = Decimal("0.5")
    exit_bps: Decimal = Decimal(0)
    cooldown_ms: int = 1_000
    account: str = "paper"
    strategy_id: str = "meanrev"

    def __post_init__(self) -> None:
        if self.window < 2:
            raise ValueError(f"window must be >= 2 (got {self.window})")
        if self.quantity <= 0 or self.max_position < self.quantity:
            raise ValueError("quantity must be > 0 and max_position >= quantity")
        if self.entry_bps <= 0:
            raise ValueError(f"entry_bps must be > 0 (got {self.entry_bps})")
        if not self.venues:
            raise ValueError("venues must name at least one venue")


class MeanReversion(Strategy):
    """Buy dips below the rolling mean of the NBBO mid, sell the recovery (module doc)."""

    def __init__(self, config: MeanReversionConfig) -> None:
        self.config = config
        self.strategy_id = config.strategy_id
        self.account = config.account
        self.mids: deque[Decimal] = deque()
        self.total = ZERO
        self.position = ZERO
        """Filled position, from this strategy's own execution reports."""
        self.quiet_until_ns = 0

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> MeanReversion:
        """From a deployment file's ``params``: decimals as strings, ``venues`` a list."""
        values = dict(params)
        for name in ("quantity", "max_position", "entry_bps", "exit_bps"):
            if name in values:
                values[name] = Decimal(str(values[name]))
        if "venues" in values:
            values["venues"] = tuple(values["venues"])
        return cls(MeanReversionConfig(**values))

    # --- hooks -------------------------------------------------------------------------

    def on_nbbo(self, nbbo: ConsolidatedQuote) -> list[OrderRequest]:
        cfg = self.config
        bid, ask = nbbo.bid_price, nbbo.ask_price
        if nbbo.instrument != cfg.instrument or bid is None or ask is None or bid >= ask:
            return []  # another instrument, one-sided or crossed: no signal
        mid = div18(add(bid, ask), TWO)
        mean = self._update_mean(mid)
        ts = max(nbbo.bid_receive_ts_ns or 0, nbbo.ask_receive_ts_ns or 0)
        if mean is None or ts < self.quiet_until_ns:
            return []
        deviation_bps = div18(mul(sub(mid, mean), BPS), mean)
        if deviation_bps <= -cfg.entry_bps and add(self.position, cfg.quantity) <= cfg.max_position:
            return self._order(Side.BUY, ask, nbbo.ask_venue, ts, deviation_bps)
        if deviation_bps >= cfg.exit_bps and self.position >= cfg.quantity:
            return self._order(Side.SELL, bid, nbbo.bid_venue, ts, deviation_bps)
        return []

    def on_order_event(self, event: OrderEvent) -> list[OrderRequest]:
        if event.last_qty:  # a fill: the position moves
            signed = event.last_qty if event.side == "BUY" else event.last_qty.copy_negate()
            self.position = add(self.position, signed)
        return []

    # --- helpers -----------------------------------------------------------------------

    def _update_mean(self, mid: Decimal) -> Decimal | None:
        """Add ``mid`` to the window; the mean of the previous ``window`` mids (None until
        the window is full), so a mid is compared with what came before it."""
        mean = (
            div18(self.total, Decimal(len(self.mids)))
            if len(self.mids) == self.config.window
            else None
        )
        self.mids.append(mid)
        self.total = add(self.total, mid)
        if len(self.mids) > self.config.window:
            self.total = sub(self.total, self.mids.popleft())
        return mean

    def _order(
        self, side: Side, price: Decimal, venue: str | None, ts_ns: int, deviation: Decimal
    ) -> list[OrderRequest]:
        cfg = self.config
        if venue is None or venue not in cfg.venues:
            return []
        self.quiet_until_ns = ts_ns + cfg.cooldown_ms * 1_000_000
        return [
            OrderRequest(
                client_order_id=self.client_order_id(ts_ns, side.value.lower()),
                account=cfg.account,
                venue=venue,
                instrument=cfg.instrument,
                side=side,
                order_type=OrderType.LIMIT,
                time_in_force=TimeInForce.IOC,
                quantity=cfg.quantity,
                limit_price=price,
                action=OrderAction.NEW,
                requested_by=f"strategy:{cfg.strategy_id}",
                request_ts_ns=ts_ns,
                strategy_id=cfg.strategy_id,
                tags={"signal": "mean_reversion", "deviation_bps": f"{deviation.normalize():f}"},
            )
        ]
