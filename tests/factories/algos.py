"""The execution algos' test material: algo requests, and a desk that drives an
``AlgoEngine`` against the real paper venue, journals its events and can restart it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tapewire.records.market import BookUpdate
from tapewire.schemas.codec import Codec
from tapewire.streams.algos import (
    AlgoConfig,
    AlgoEngine,
    AlgoEvent,
    AlgoParams,
    AlgoRequest,
    decode_events,
    encode_events,
)
from tapewire.streams.execution.paper import PaperConfig, PaperVenue
from tapewire.streams.oms import OrderType, Side, TimeInForce, validate_request
from tapewire.streams.oms.reports import Reports
from tapewire.streams.oms.request import OrderRequest
from tapewire.streams.risk import (
    OpenOrder,
    ReferenceQuote,
    RiskContext,
    RiskDecision,
    RiskGate,
)
from tapewire.streams.sor import VenueTerms
from tests.factories import INST, T0, Num
from tests.factories.market import Level, book, trade
from tests.factories.sor import rules

D = Decimal
VENUE = "binance"
S = 1_000_000_000
"""One second in ns."""
CODEC = Codec()
CONFIG = AlgoConfig((VenueTerms(VENUE, rules={INST: rules(VENUE, lot="0.001")}),))
"""The engine's venue: BTC-USDT-SPOT on a 0.001 lot."""


def algo_request(
    params: AlgoParams,
    quantity: Num = "1",
    *,
    algo_id: str = "al1",
    side: Side = Side.BUY,
    limit_price: Num | None = None,
    ts: int = T0,
    **changes: Any,
) -> AlgoRequest:
    """An algo order of ``quantity`` BTC-USDT-SPOT on :data:`VENUE` for account ``acct``."""
    fields: dict[str, Any] = {
        "algo_id": algo_id,
        "account": "acct",
        "venue": VENUE,
        "instrument": INST,
        "side": side,
        "quantity": D(quantity),
        "params": params,
        "request_ts_ns": ts,
        "limit_price": None if limit_price is None else D(limit_price),
        "strategy_id": "strat",
    }
    return AlgoRequest(**(fields | changes))


@dataclass
class Desk:
    """An engine and a real paper venue. Children go to the venue after the checks the
    risk gate starts with (``validate_request``, the ``oms.requests`` codec), as if
    approved; the venue's events and fills go back to the engine, whose new children go
    out in turn. Every child sent and every journaled event is kept."""

    engine: AlgoEngine = field(default_factory=lambda: AlgoEngine(CONFIG))
    paper: PaperVenue = field(default_factory=lambda: PaperVenue(PaperConfig(VENUE)))
    sent: list[OrderRequest] = field(default_factory=list)
    sent_at: list[int] = field(default_factory=list)
    journal: list[AlgoEvent] = field(default_factory=list)
    books: list[BookUpdate] = field(default_factory=list)
    gate: RiskGate | None = None
    """The real risk gate, if given: each child is evaluated (quote from the last book,
    position and open orders from the paper venue); a denied child goes back to the
    engine's ``on_denied`` and never reaches the venue."""
    denied: list[RiskDecision] = field(default_factory=list)

    def submit(self, request: AlgoRequest, now: int) -> None:
        self._send(self.engine.submit(request, now), now)

    def cancel(self, algo_id: str, now: int) -> None:
        self._send(self.engine.cancel(algo_id, now, reason="user"), now)

    def timer(self, now: int) -> None:
        self._feed(self.paper.advance(now))
        self._send(self.engine.on_timer(now), now)

    def book(self, bids: Sequence[Level], asks: Sequence[Level], ts: int) -> None:
        update = book(VENUE, bids, asks, ts=ts)
        self.books.append(update)
        self.engine.on_book(update)
        self._feed(self.paper.on_book(update))
        self._journal()

    def trade(self, price: Num, size: Num, ts: int, *, side: str = "BUY", tid: str = "") -> None:
        record = trade(price, size, ts=ts, venue=VENUE, side=side, trade_id=tid or None)
        self._feed(self.paper.on_trade(record))
        self._send(self.engine.on_trade(record), ts)

    def restart(self) -> None:
        """A new engine rebuilt from the journal (through JSON), fed the last book again
        (market data is not journaled: a stage reads ``md.book`` again); it must equal the
        old one."""
        restored = AlgoEngine(CONFIG)
        restored.restore(decode_events(encode_events(self.journal)))
        if self.books:
            restored.on_book(self.books[-1])
        assert restored.algos == self.engine.algos
        assert restored.child_leg == self.engine.child_leg
        assert restored.next_timer_ns() == self.engine.next_timer_ns()
        self.engine = restored

    def _send(self, requests: list[OrderRequest], now: int) -> None:
        self._journal()
        for request in requests:
            assert validate_request(request) == [], request
            CODEC.encode("oms.requests", request.to_record())
            self.sent.append(request)
            self.sent_at.append(now)
            if self.gate is not None:
                decision = self.gate.evaluate(request, self._risk_context(now))
                CODEC.encode(decision.topic, decision.to_record())
                if not decision.approved:
                    self.denied.append(decision)
                    self._send(self.engine.on_denied(decision.to_record()), now)
                    continue
            self._feed(self.paper.submit(request.to_record(), now))

    def _risk_context(self, now: int) -> RiskContext:
        last = self.books[-1]
        bid = max((lv.price for lv in last.bids), default=None)
        ask = min((lv.price for lv in last.asks), default=None)
        ts = last.receive_ts_ns
        open_orders = tuple(
            OpenOrder(
                o["client_order_id"],
                o["account"],
                o["venue"],
                o["instrument"],
                Side(o["side"]),
                self.paper.orders[o["client_order_id"]].leaves,
                OrderType(o["order_type"]),
                TimeInForce(o["time_in_force"]),
            )
            for o in self.paper.open_orders()
        )
        return RiskContext(
            now_ns=now,
            quote=ReferenceQuote(bid, ask, ts, ts),
            position=self.paper.position("acct", INST),
            open_orders=open_orders,
        )

    def _feed(self, reports: Reports) -> None:
        for event in reports.events:
            self._send(self.engine.on_order_event(event), event.event_ts_ns)
        for fill in reports.fills:
            self._send(self.engine.on_fill(fill), fill.receive_ts_ns)

    def _journal(self) -> None:
        self.journal += self.engine.take_events()


Step = Callable[[Desk], None]


def run(steps: Sequence[Step], restart_after: int | None = None) -> Desk:
    """A fresh desk through ``steps``, restarted after step ``restart_after`` if given."""
    desk = Desk()
    for n, step in enumerate(steps):
        step(desk)
        if n == restart_after:
            desk.restart()
    return desk


def assert_restart_changes_nothing(steps: Sequence[Step]) -> Desk:
    """Restart after every step in turn: each run sends the same children and journals
    the same events as the run without a restart, and ends in the same state."""
    whole = run(steps)
    for n in range(len(steps)):
        again = run(steps, restart_after=n)
        assert again.sent == whole.sent, f"restart after step {n}"
        assert again.journal == whole.journal, f"restart after step {n}"
        assert again.engine.algos == whole.engine.algos, f"restart after step {n}"
    return whole


def book_step(asks: Sequence[Level], ts: int, bids: Sequence[Level] = (("90", "5"),)) -> Step:
    """A step: a book snapshot on the paper venue."""
    return lambda desk: desk.book(bids, asks, ts)


def summary(requests: Sequence[OrderRequest]) -> list[tuple[Any, ...]]:
    """``(id, action, type, tif, side, qty, limit, stop)`` of each request."""
    return [
        (
            r.client_order_id,
            r.action.value,
            r.order_type.value,
            r.time_in_force.value,
            r.side.value,
            r.quantity,
            r.limit_price,
            r.stop_price,
        )
        for r in requests
    ]
