"""Strategy hook: normalized market events in, order intents (``OrderRequest``) out.

A strategy is plain Python with explicit state, run by the ``strategy`` agent
(``md.quotes``, ``md.nbbo``, ``md.trades``, ``oms.events`` -> ``oms.requests``) and equally
by a backtest loop. It never talks to a venue: every intent goes through the risk gate.
See ``docs/trading.md``.

Client order ids must be *deterministic functions of the input* (never a counter reset by
a restart, never random): replaying the same market records yields the same ids, so the
risk gate's duplicate-id rule makes a replayed intent harmless instead of a second order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tapewire.core.exact import BPS, ZERO, add, div18, mul, sub
from tapewire.core.records import TypedRecord, expect
from tapewire.records.market import ConsolidatedQuote, Quote, Trade
from tapewire.records.orders import OrderEvent
from tapewire.streams.oms import OrderAction, OrderRequest, OrderType, Side, TimeInForce

FINAL_STATUSES = frozenset({"FILLED", "CANCELED", "REJECTED", "EXPIRED"})


class Strategy:
    """Base class: override the hooks you need; each returns the intents it makes.

    ``strategy_id`` is stamped on every request (``strategy_id``, ``requested_by``) and is
    the prefix of every client order id (:meth:`client_order_id`). Hooks must not raise
    on ordinary market data; the agent dead-letters a record whose hook raised.
    """

    strategy_id: str = "strategy"
    account: str = "paper"

    def on_quote(self, quote: Quote) -> list[OrderRequest]:
        """A per-venue BBO (``md.quotes``, Avro ``Quote``)."""
        return []

    def on_nbbo(self, nbbo: ConsolidatedQuote) -> list[OrderRequest]:
        """A consolidated quote (``md.nbbo``, Avro ``ConsolidatedQuote``)."""
        return []

    def on_trade(self, trade: Trade) -> list[OrderRequest]:
        """A public trade (``md.trades``, Avro ``Trade``)."""
        return []

    def on_order_event(self, event: OrderEvent) -> list[OrderRequest]:
        """An execution report of one of this strategy's orders (``oms.events``)."""
        return []

    def on_record(self, topic: str, record: TypedRecord) -> list[OrderRequest]:
        """Dispatch by canonical topic; ``oms.events`` of other strategies are skipped.
        A record that is not of its topic's type raises :class:`TypeError`."""
        if topic == "md.quotes":
            return self.on_quote(expect(record, Quote))
        if topic == "md.nbbo":
            return self.on_nbbo(expect(record, ConsolidatedQuote))
        if topic == "md.trades":
            return self.on_trade(expect(record, Trade))
        if topic == "oms.events":
            event = expect(record, OrderEvent)
            if event.strategy_id != self.strategy_id:
                return []
            return self.on_order_event(event)
        return []

    def client_order_id(self, *parts: object) -> str:
        """``<strategy_id>:<part>:<part>...``: build it from input fields only."""
        return ":".join((self.strategy_id, *(str(p) for p in parts)))


@dataclass(frozen=True)
class SpreadConfig:
    """Knobs of :class:`CrossVenueSpread` (quantities in base units)."""

    instrument: str
    venues: tuple[str, ...]
    threshold_bps: Decimal
    quantity: Decimal
    strategy_id: str = "xspread"
    account: str = "paper"
    max_pairs: int = 1
    """Pairs sent in total (a hard bound on the strategy's exposure); at most one is open."""
    slippage_bps: Decimal = ZERO
    """How far past the touch each IOC leg may fill: the buy limit is the cheap venue's ask
    plus this, the sell limit the rich venue's bid minus it (the venue still fills at its
    book's prices). Zero: exactly the touch seen, which misses when the book moved between
    the quote and the order's arrival."""
    wait_for_nbbo: bool = False
    """No pair while the latest NBBO of ``instrument`` (``md.nbbo``) is missing, one-sided
    or crossed: the risk gate denies such orders (``missing_reference_price``), and a
    denied leg never becomes final on ``oms.events``, so the pair would stay open for the
    rest of the run. In a deployment the NBBO comes from the aggregate process and may
    arrive after the quotes: each usable NBBO is then also a moment to decide."""

    def __post_init__(self) -> None:
        if len(set(self.venues)) < 2:
            raise ValueError("CrossVenueSpread needs at least two distinct venues")
        if self.threshold_bps <= 0 or self.quantity <= 0 or self.max_pairs < 1:
            raise ValueError("threshold_bps, quantity and max_pairs must be positive")
        if not ZERO <= self.slippage_bps < BPS:
            raise ValueError(f"slippage_bps must be in [0, 10000), not {self.slippage_bps}")


@dataclass(frozen=True, slots=True)
class _Touch:
    bid: Decimal
    ask: Decimal
    ts_ns: int

    @property
    def mid(self) -> Decimal:
        return div18(add(self.bid, self.ask), Decimal(2))


class CrossVenueSpread(Strategy):
    """Cross-venue mid divergence: when one venue's mid is ``threshold_bps`` above
    another's, buy on the cheap venue at its ask and sell on the rich one at its bid
    (IOC limits, ``quantity`` each), betting that the venues converge.

    Honest about what it is: the risk gate denies orders while the NBBO is *crossed*
    (``missing_reference_price``), so the riskless case (rich bid > cheap ask) is exactly
    the one the gate refuses; what remains is a convergence bet that pays both half
    spreads up front. At most one pair is open (until both legs are final on
    ``oms.events``) and at most ``max_pairs`` are ever sent.
    """

    def __init__(self, config: SpreadConfig) -> None:
        self.config = config
        self.strategy_id = config.strategy_id
        self.account = config.account
        self.touches: dict[str, _Touch] = {}
        self.open_legs: set[str] = set()
        self.pairs_sent = 0
        self.nbbo_usable = False

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> CrossVenueSpread:
        """From a deployment file's ``params`` (``SpreadConfig`` fields; decimals as
        strings, ``venues`` a list)."""
        values = dict(params)
        for name in ("threshold_bps", "quantity", "slippage_bps"):
            if name in values:
                values[name] = Decimal(str(values[name]))
        if "venues" in values:
            values["venues"] = tuple(values["venues"])
        return cls(SpreadConfig(**values))

    def on_quote(self, quote: Quote) -> list[OrderRequest]:
        cfg = self.config
        if quote.instrument != cfg.instrument or quote.venue not in cfg.venues:
            return []
        bid, ask = quote.bid_price, quote.ask_price
        if bid is None or ask is None or bid <= ZERO or bid > ask:
            self.touches.pop(quote.venue, None)  # one-sided or crossed: not usable
            return []
        self.touches[quote.venue] = _Touch(bid, ask, quote.receive_ts_ns)
        return self._signal(quote.receive_ts_ns)

    def on_nbbo(self, nbbo: ConsolidatedQuote) -> list[OrderRequest]:
        cfg = self.config
        if nbbo.instrument != cfg.instrument:
            return []
        bid, ask = nbbo.bid_price, nbbo.ask_price
        self.nbbo_usable = (
            bid is not None
            and ask is not None
            and ZERO < bid <= ask
            and nbbo.bid_receive_ts_ns is not None
            and nbbo.ask_receive_ts_ns is not None
        )
        # the quotes may have come first (another process makes the NBBO): a usable NBBO
        # is a moment to decide too, ids from its time so that no two decisions share them
        return self._signal(nbbo.process_ts_ns) if cfg.wait_for_nbbo else []

    def _signal(self, ts: int) -> list[OrderRequest]:
        """A pair on the current touches, if they diverge enough and the bounds allow."""
        cfg = self.config
        if cfg.wait_for_nbbo and not self.nbbo_usable:
            return []
        if self.open_legs or self.pairs_sent >= cfg.max_pairs or len(self.touches) < 2:
            return []
        ranked = sorted(self.touches.items(), key=lambda kv: (kv[1].mid, kv[0]))
        (cheap, low), (rich, high) = ranked[0], ranked[-1]
        divergence = div18(mul(sub(high.mid, low.mid), BPS), low.mid)
        if divergence < cfg.threshold_bps:
            return []
        slip = cfg.slippage_bps
        buy = add(low.ask, div18(mul(low.ask, slip), BPS)) if slip else low.ask
        sell = sub(high.bid, div18(mul(high.bid, slip), BPS)) if slip else high.bid
        legs = [
            self._leg(cheap, Side.BUY, buy, ts, divergence),
            self._leg(rich, Side.SELL, sell, ts, divergence),
        ]
        self.pairs_sent += 1
        self.open_legs.update(r.client_order_id for r in legs)
        return legs

    def on_order_event(self, event: OrderEvent) -> list[OrderRequest]:
        if event.status in FINAL_STATUSES:
            self.open_legs.discard(event.client_order_id)
        return []

    def _leg(
        self, venue: str, side: Side, price: Decimal, ts_ns: int, divergence: Decimal
    ) -> OrderRequest:
        cfg = self.config
        return OrderRequest(
            client_order_id=self.client_order_id(ts_ns, venue, side.value.lower()),
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
            tags={"signal": "mid_divergence", "divergence_bps": f"{divergence.normalize():f}"},
        )
