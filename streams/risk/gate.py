"""The risk gate: evaluate a request against the rules, and the kill switch."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from tapewire.core.bounded import RecentKeys
from tapewire.records.risk import RiskDecision as RiskDecisionRecord
from tapewire.streams.oms import OrderAction, OrderRequest
from tapewire.streams.oms.request import derived_id
from tapewire.streams.risk.config import AccountLimits, RiskConfig, TradingState
from tapewire.streams.risk.context import OpenOrder, RiskContext
from tapewire.streams.risk.rules import (
    NS_PER_MS,
    Check,
    account_known,
    client_order_id_format,
    request_valid,
    rules_for,
)

APPROVED_TOPIC = "oms.approved"
DENIED_TOPIC = "oms.denied"

_NONE_SEEN: frozenset[str] = frozenset()


class Decision(StrEnum):
    """Avro ``Decision``."""

    APPROVED = "APPROVED"
    DENIED = "DENIED"


@dataclass(frozen=True, slots=True)
class RiskDecision:
    """A decision on one request: which rule denied it and why (None when approved)."""

    decision_id: str
    request: OrderRequest
    decision: Decision
    rule: str | None
    reason: str | None
    rules_evaluated: tuple[str, ...]
    trading_state: TradingState
    reference_price: Decimal | None
    reference_ts_ns: int | None
    decision_ts_ns: int

    @property
    def approved(self) -> bool:
        """True when the router may act on the request."""
        return self.decision is Decision.APPROVED

    @property
    def topic(self) -> str:
        """``oms.approved`` or ``oms.denied``."""
        return APPROVED_TOPIC if self.approved else DENIED_TOPIC

    def to_record(self) -> RiskDecisionRecord:
        """The ``RiskDecision`` record."""
        return RiskDecisionRecord(
            decision_id=self.decision_id,
            client_order_id=self.request.client_order_id,
            account=self.request.account,
            decision=self.decision.value,
            rule=self.rule,
            reason=self.reason,
            rules_evaluated=list(self.rules_evaluated),
            trading_state=self.trading_state.value,
            reference_price=self.reference_price,
            reference_ts_ns=self.reference_ts_ns,
            decision_ts_ns=self.decision_ts_ns,
            request=self.request.to_record(),
        )


class RiskGate:
    """Pre-trade checks per account and instrument; holds the trading states, the seen
    client order ids and the order-rate windows. Time comes only from the context.

    Memory per account: the last ``config.seen_ids_per_account`` client order ids (the
    duplicate-id window; ids of open orders are always known through the context) and at
    most ``max_orders_per_window`` send times."""

    def __init__(self, config: RiskConfig) -> None:
        self.config = config
        self._global_state = config.initial_state
        self._states: dict[str, TradingState] = {}
        self._seen: dict[str, RecentKeys[str]] = {}
        self._sent: dict[str, deque[int]] = {}

    # --- trading state -----------------------------------------------------------------

    def trading_state(self, account: str) -> TradingState:
        """Effective state of ``account``: the stricter of the global and its own."""
        own = self._states.get(account, TradingState.ACTIVE)
        state = max(own, self._global_state, key=lambda s: s.severity)
        return TradingState.HALTED if state is TradingState.UNKNOWN else state

    def set_trading_state(self, state: TradingState, account: str | None = None) -> None:
        """Set the state of one account, or the global state (``account=None``)."""
        if account is None:
            self._global_state = state
        else:
            self._states[account] = state

    def set_limits(self, account: str, limits: AccountLimits) -> None:
        """Replace the limits of ``account`` (adding it if it had none)."""
        accounts = {**self.config.accounts, account: limits}
        self.config = self.config.model_copy(update={"accounts": accounts})

    def kill_switch(
        self, open_orders: Iterable[OpenOrder], now_ns: int, account: str | None = None
    ) -> list[OrderRequest]:
        """Set HALTED (globally, or for one account) and return a CANCEL request for every
        open order on every venue (of that account), for the router to execute."""
        self.set_trading_state(TradingState.HALTED, account)
        cancels = [
            OrderRequest(
                client_order_id=derived_id("kill", now_ns, o.client_order_id),
                account=o.account,
                venue=o.venue,
                instrument=o.instrument,
                side=o.side,
                order_type=o.order_type,
                time_in_force=o.time_in_force,
                quantity=o.leaves_qty,
                action=OrderAction.CANCEL,
                orig_client_order_id=o.client_order_id,
                requested_by="killswitch",
                request_ts_ns=now_ns,
            )
            for o in open_orders
            if account is None or o.account == account
        ]
        return sorted(cancels, key=lambda r: (r.venue, r.account, r.client_order_id))

    def remember(self, account: str, client_order_id: str) -> None:
        """Mark a client order id as used (e.g. when restoring state after a restart)."""
        seen = self._seen.get(account)
        if seen is None:
            seen = self._seen[account] = RecentKeys(self.config.seen_ids_per_account)
        seen.add(client_order_id)

    # --- evaluation --------------------------------------------------------------------

    def evaluate(self, request: OrderRequest, ctx: RiskContext) -> RiskDecision:
        """Decide on ``request``: the first rule that denies wins; all pass: APPROVED."""
        account = request.account
        limits = self.config.accounts.get(account)
        window = self._window(account, ctx.now_ns, limits.rate_window_ms if limits else 0)
        check = Check(
            request=request,
            ctx=ctx,
            state=self.trading_state(account),
            account=limits,
            seen=self._seen.get(account, _NONE_SEEN),
            rate_count=len(window),
        )
        evaluated: list[str] = []
        rule_name: str | None = None
        reason: str | None = None
        for rule in rules_for(request.action):
            evaluated.append(rule.__name__)
            reason = rule(check)
            if reason is not None:
                rule_name = rule.__name__
                break
        malformed = (request_valid.__name__, client_order_id_format.__name__)
        if rule_name not in (*malformed, account_known.__name__):
            self.remember(account, request.client_order_id)
        approved = rule_name is None
        if approved and request.action in (OrderAction.NEW, OrderAction.REPLACE):
            window.append(ctx.now_ns)
        quote = ctx.quote
        return RiskDecision(
            decision_id=f"risk:{account}:{request.client_order_id}:{ctx.now_ns}",
            request=request,
            decision=Decision.APPROVED if approved else Decision.DENIED,
            rule=rule_name,
            reason=reason,
            rules_evaluated=tuple(evaluated),
            trading_state=check.state,
            reference_price=quote.mid if quote else None,
            reference_ts_ns=quote.ts_ns if quote else None,
            decision_ts_ns=ctx.now_ns,
        )

    def _window(self, account: str, now_ns: int, window_ms: int) -> deque[int]:
        sent = self._sent.setdefault(account, deque())
        while sent and sent[0] <= now_ns - window_ms * NS_PER_MS:
            sent.popleft()
        return sent
