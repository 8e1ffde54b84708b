"""Risk stage: ``oms.requests`` -> ``oms.approved`` / ``oms.denied`` (+ ``alerts``).

Inputs besides the requests build the gate's context: ``md.nbbo`` (reference prices),
``oms.events`` (open orders), ``oms.fills`` (positions) and ``positions`` (the positions
agent's PnL, summed per account since 00:00 UTC for ``daily_loss_limit``:
:class:`tapewire.streams.risk.DailyPnl`). The gate
(:class:`tapewire.streams.risk.RiskGate`) and that context live in this stage, on one thread.

Trading-state commands (the kill switch): a ``CANCEL_ALL`` request tagged
``trading_state=HALTED|REDUCING|ACTIVE`` (account ``*`` = global). It sets the state and
emits an Alert; HALTED also emits one approved CANCEL_ALL (all venues, all instruments)
per affected account, for the router. See ``docs/trading.md``.

Risk-limit commands: a ``CANCEL_ALL`` request tagged ``risk_limits=<AccountLimits JSON>``
replaces one account's limits and emits a ``RISK_LIMITS`` Alert carrying them (restarts
replay those alerts); a command that does not parse changes nothing and emits a
``RISK_LIMITS_REJECTED`` Alert naming the field. See ``docs/risk.md``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from decimal import Decimal

from tapewire.core import metrics
from tapewire.core.bounded import RecentKeys
from tapewire.core.exact import ZERO, add
from tapewire.core.instruments import InstrumentError
from tapewire.core.records import expect
from tapewire.records.market import ConsolidatedQuote
from tapewire.records.orders import Fill, OrderEvent
from tapewire.records.orders import OrderRequest as OrderRequestRecord
from tapewire.records.positions import Position
from tapewire.records.risk import Alert
from tapewire.schemas.codec import Codec
from tapewire.streams.aggregate import NbboConfig
from tapewire.streams.oms import OPEN, OrderAction, OrderRequest, OrderType, Side, TimeInForce
from tapewire.streams.oms.request import derived_id
from tapewire.streams.risk import (
    AccountLimits,
    DailyPnl,
    OpenOrder,
    ReferenceQuote,
    RiskConfig,
    RiskContext,
    RiskGate,
    TradingState,
)
from tapewire.streams.stages.base import (
    Emitter,
    OutMsg,
    TopicMsg,
    dead_record,
    decode_topics,
)
from tapewire.streams.stages.latency import StageLatency, tagged_times
from tapewire.streams.stages.strategy import DLQ
from tapewire.streams.trading.config import ALL_ACCOUNTS, KILL_SWITCH_TAG, RISK_LIMITS_TAG

TRADING_STATE_CODE = "TRADING_STATE"
RISK_LIMITS_CODE = "RISK_LIMITS"
RISK_LIMITS_REJECTED_CODE = "RISK_LIMITS_REJECTED"
INPUTS = ("oms.requests", "md.nbbo", "oms.events", "oms.fills", "positions")
OPEN_STATUSES = frozenset(s.value for s in OPEN)


class RiskStage:
    """Requests -> decisions; NBBO, order events, fills and positions -> the gate's context."""

    name = "risk"

    def __init__(
        self,
        codec: Codec,
        config: RiskConfig,
        clock: Callable[[], int],
        kafka_name: Callable[[str], str] = str,
        mark_id: Callable[[str], str] | None = None,
        *,
        id_window: int = 100_000,
    ) -> None:
        self.codec = codec
        self.gate = RiskGate(config)
        self.clock = clock
        self.mark_id = mark_id or NbboConfig().consolidated_id
        self.emitter = Emitter(codec, self.name, kafka_name, DLQ)
        self.latency = StageLatency(self.name)
        self.quotes: dict[str, ReferenceQuote] = {}
        self.open_orders: dict[tuple[str, str], OpenOrder] = {}
        self.positions: dict[tuple[str, str], Decimal] = {}
        self.daily_pnl = DailyPnl()
        # the last id_window fill ids (at-least-once fills) and final orders (an open
        # status arriving after the final one is ignored); docs/memory.md
        self._fills: RecentKeys[str] = RecentKeys(id_window)
        self._final: RecentKeys[tuple[str, str]] = RecentKeys(id_window)

    # --- stage -----------------------------------------------------------------------

    def process(self, batch: Sequence[TopicMsg]) -> list[OutMsg]:
        """Apply context inputs and decide on requests, in arrival order."""
        for msg, record in decode_topics(self.codec, batch, self.emitter):
            try:
                if msg.topic == "oms.requests":
                    self.on_request(expect(record, OrderRequestRecord))
                elif msg.topic == "md.nbbo":
                    nbbo = expect(record, ConsolidatedQuote)
                    self.quotes[nbbo.instrument] = ReferenceQuote.from_nbbo(nbbo)
                elif msg.topic == "oms.events":
                    self.on_event(expect(record, OrderEvent))
                elif msg.topic == "oms.fills":
                    self.on_fill(expect(record, Fill))
                elif msg.topic == "positions":
                    self.daily_pnl.on_position(expect(record, Position))
            except Exception as exc:
                dead_record(self.emitter, msg, exc, self.name)
        return self.emitter.take()

    # --- context ---------------------------------------------------------------------

    def on_event(self, event: OrderEvent) -> None:
        """Track open orders (status open: update leaves; final: forget)."""
        key = (event.account, event.client_order_id)
        if event.exec_type in ("CANCEL_REJECTED", "REPLACE_REJECTED"):
            return  # says nothing new about the order's openness
        if event.orig_client_order_id:
            self.open_orders.pop((event.account, event.orig_client_order_id), None)
        if event.status in OPEN_STATUSES and key not in self._final:
            known = self.open_orders.get(key)
            self.open_orders[key] = OpenOrder(
                event.client_order_id,
                event.account,
                event.venue,
                event.instrument,
                Side(event.side) if known is None else known.side,
                event.leaves_qty,
                OrderType(event.order_type),
                TimeInForce(event.time_in_force),
            )
        elif event.status not in OPEN_STATUSES:
            self._final.add(key)
            self.open_orders.pop(key, None)

    def on_fill(self, fill: Fill) -> None:
        """Signed position per (account, instrument) over venues; fills de-duplicated."""
        if fill.fill_id in self._fills:
            return
        self._fills.add(fill.fill_id)
        key = (fill.account, fill.instrument)
        qty = fill.quantity if fill.side == "BUY" else fill.quantity.copy_negate()
        self.positions[key] = add(self.positions.get(key, ZERO), qty)

    def context(self, request: OrderRequest, now_ns: int) -> RiskContext:
        """The gate's view of the world for ``request``."""
        quote = None
        if request.instrument:
            try:
                mark = self.mark_id(request.instrument)
            except InstrumentError:  # not a canonical id: no quote; unknown_instrument denies it
                mark = None
            quote = None if mark is None else self.quotes.get(mark)
        return RiskContext(
            now_ns=now_ns,
            quote=quote,
            position=self.positions.get((request.account, request.instrument), ZERO),
            open_orders=tuple(o for o in self.open_orders.values() if o.account == request.account),
            daily_pnl=self.daily_pnl.pnl(request.account, now_ns),
        )

    # --- requests --------------------------------------------------------------------

    def on_request(self, record: OrderRequestRecord) -> None:
        """Decide; trading-state commands change the state (and HALTED cancels all)."""
        request = OrderRequest.from_record(record)
        now = self.clock()
        if request.action is OrderAction.CANCEL_ALL and KILL_SWITCH_TAG in request.tags:
            self.on_command(request, now)
            return
        if request.action is OrderAction.CANCEL_ALL and RISK_LIMITS_TAG in request.tags:
            self.on_limits(request, now)
            return
        self.decide(request, now)

    def decide(self, request: OrderRequest, now: int) -> None:
        """Evaluate one request and emit its decision."""
        decision = self.gate.evaluate(request, self.context(request, now))
        metrics.risk_decisions.labels(decision.decision.value, decision.rule or "").inc()
        if decision.approved and request.action is OrderAction.NEW:
            # open from now on, so max_open_orders/position_limit see it before its ack
            self.open_orders[(request.account, request.client_order_id)] = OpenOrder(
                request.client_order_id,
                request.account,
                request.venue,
                request.instrument,
                request.side,
                request.quantity,
                request.order_type,
                request.time_in_force,
            )
        self.emitter.emit(decision.topic, decision.to_record())
        self.latency.observe(*tagged_times(request.tags), time.time_ns())

    def on_command(self, request: OrderRequest, now: int) -> None:
        """Set the trading state of one account (or all, ``*``); HALTED cancels all."""
        raw = request.tags[KILL_SWITCH_TAG]
        try:
            state = TradingState(raw)
        except ValueError:
            state = TradingState.HALTED  # fail closed: a garbled command halts
        scope = None if request.account == ALL_ACCOUNTS else request.account
        self.gate.set_trading_state(state, scope)
        metrics.trading_state.labels(request.account).set(state.severity)
        metrics.kill_switch_engaged.labels(request.account).set(state is TradingState.HALTED)
        self.emitter.emit(
            "alerts",
            Alert(
                alert_id=f"risk:{request.account}:{request.client_order_id}",
                severity="CRITICAL" if state is TradingState.HALTED else "WARNING",
                source="risk",
                code=TRADING_STATE_CODE,
                message=f"trading state of {request.account} set to {state.value} "
                f"(asked {raw!r}) by {request.requested_by}",
                labels={"account": request.account, "state": state.value},
                event_ts_ns=now,
            ),
        )
        if state is not TradingState.HALTED:
            return
        accounts = sorted(self.gate.config.accounts) if scope is None else [scope]
        for account in accounts:
            cancel_all = request.with_(
                client_order_id=derived_id(request.client_order_id, account),
                account=account,
                venue="",
                instrument="",
                orig_client_order_id=None,
                request_ts_ns=now,
            )
            self.decide(cancel_all, now)

    def on_limits(self, request: OrderRequest, now: int) -> None:
        """Replace one account's limits (never ``*``); a bad command changes nothing."""
        account = request.account
        try:
            if account == ALL_ACCOUNTS:
                raise ValueError("limits are per account: name one, not '*'")
            limits = AccountLimits.model_validate_json(request.tags[RISK_LIMITS_TAG])
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            self.emitter.emit(
                "alerts",
                Alert(
                    alert_id=f"risk:{account}:{request.client_order_id}",
                    severity="ERROR",
                    source="risk",
                    code=RISK_LIMITS_REJECTED_CODE,
                    message=f"risk limits of {account} NOT changed (asked by "
                    f"{request.requested_by}): {' '.join(str(exc).split())[:500]}",
                    labels={"account": account},
                    event_ts_ns=now,
                ),
            )
            return
        self.gate.set_limits(account, limits)
        self.emitter.emit(
            "alerts",
            Alert(
                alert_id=f"risk:{account}:{request.client_order_id}",
                severity="WARNING",
                source="risk",
                code=RISK_LIMITS_CODE,
                message=f"risk limits of {account} replaced by {request.requested_by}",
                labels={"account": account, "limits": limits.model_dump_json()},
                event_ts_ns=now,
            ),
        )
