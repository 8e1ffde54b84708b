"""The trading state of a restarted hot path, rebuilt from what it wrote to Kafka.

A ``trade`` process keeps its state in memory: the risk gate's open orders, positions,
daily loss, trading states and used client order ids; the positions stage's books; the
paper venues' resting orders. On restart, :func:`restore_trading` folds the process's own
record (``oms.events``, ``oms.fills``, ``positions``, ``alerts``, ``oms.approved``,
``oms.denied``) back into the freshly built stages before the first new message:

- risk: open orders from the events, signed positions from the fills, the day's PnL
  marks from the positions, every decided client order id (a redelivered request is a
  duplicate, never a second order), and the trading state from the risk stage's
  ``TRADING_STATE`` alerts (a halted desk stays halted) and the limits changed at run time
  from its ``RISK_LIMITS`` alerts;
- positions: every fill and approval (so the next position record continues the old one);
- parents (the SOR and the execution algos): every parent from its journal
  (``oms.parent_events``), then the children's events, fills and denials written since
  folded in (their journal records are published first), and the requests of open
  children the risk gate never decided sent again (a crash between the journal and the
  child request); see ``docs/sor.md`` and ``docs/algos.md``;
- tca: the open orders from approvals, events and fills (orders already reported are not
  reported again; their arrival mid is the risk gate's reference price, market data is
  not re-read);
- router: every order id ever sent (never re-sent), and each paper venue's open orders
  (:meth:`~tapewire.streams.execution.paper.PaperVenue.restore`). Open orders a venue
  cannot take back (no acknowledgement seen, another kind of venue) are reconciled as
  after a router restart (``streams/router/recovery.py``): quarantined, never re-sent.

The inputs after the last committed offsets are then processed again by the worker;
their outputs repeat with the same ids (fills, events) or are denied as duplicates.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

from tapewire.core import metrics
from tapewire.records.orders import Fill, OrderEvent, ParentOrderEvent
from tapewire.records.positions import Position
from tapewire.records.risk import Alert, RiskDecision
from tapewire.runtime.kafka_io import read_to_end
from tapewire.schemas.codec import Codec
from tapewire.streams.hotpath.worker import HotPath
from tapewire.streams.risk import AccountLimits, TradingState
from tapewire.streams.router.recovery import RecoveryPlan, SeenApproval, plan_recovery
from tapewire.streams.router.stage import RouterStage
from tapewire.streams.router.venue import PaperVenueAdapter
from tapewire.streams.stages.base import OutMsg
from tapewire.streams.stages.config import StreamsConfig
from tapewire.streams.stages.parents import ParentStage
from tapewire.streams.stages.positions import PositionsStage
from tapewire.streams.stages.risk import RISK_LIMITS_CODE, TRADING_STATE_CODE, RiskStage
from tapewire.streams.stages.tca import TcaStage
from tapewire.streams.trading.config import ALL_ACCOUNTS
from tapewire.streams.trading.shard import AccountShard

log = logging.getLogger("tapewire.hotpath")


@dataclass
class TradingHistory:
    """What a trading process wrote, in topic order."""

    events: list[OrderEvent] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    positions: list[Position] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    approvals: list[RiskDecision] = field(default_factory=list)
    denials: list[RiskDecision] = field(default_factory=list)
    parent_events: list[ParentOrderEvent] = field(default_factory=list)
    ends: dict[tuple[str, int], int] = field(default_factory=dict)
    """(Kafka topic, partition) -> the offset after the last record read: what the restore
    already applied (a worker reading the topic too starts there, not before)."""

    def owned_by(self, shard: AccountShard) -> TradingHistory:
        """The records of ``shard``'s accounts only (a sharded trade process restores its
        own accounts; the trading-state alerts of its accounts and the global ones)."""
        return TradingHistory(
            events=[e for e in self.events if shard.owns(e.account)],
            fills=[f for f in self.fills if shard.owns(f.account)],
            positions=[p for p in self.positions if shard.owns(p.account)],
            alerts=[a for a in self.alerts if shard.owns(a.labels.get("account", ""))],
            approvals=[d for d in self.approvals if shard.owns(d.account)],
            denials=[d for d in self.denials if shard.owns(d.account)],
            parent_events=[p for p in self.parent_events if shard.owns(p.account)],
            ends=dict(self.ends),
        )


@dataclass
class RestoreSummary:
    """What :func:`restore_trading` took back."""

    restored_orders: list[str] = field(default_factory=list)
    """Client order ids resting again on a paper venue."""
    reconciled: int = 0
    """Open orders no venue could take back (reported by ``outputs``)."""
    known_ids: int = 0
    fills: int = 0
    positions: int = 0
    trading_states: dict[str, str] = field(default_factory=dict)
    parents: int = 0
    """Parent orders rebuilt from ``oms.parent_events``."""
    resent_children: int = 0
    """Child requests sent again (journaled, never decided)."""
    outputs: list[OutMsg] = field(default_factory=list)
    """Messages to publish before new work (the reconciliation's reports)."""


def restore_trading(hot_path: HotPath, history: TradingHistory, now_ns: int) -> RestoreSummary:
    """Fold ``history`` into the trading stages of ``hot_path`` (see the module doc)."""
    summary = RestoreSummary(fills=len(history.fills), positions=len(history.positions))
    risk = hot_path.stages.get("risk")
    if isinstance(risk, RiskStage):
        _restore_risk(risk, history, summary)
    positions = hot_path.stages.get("positions")
    if isinstance(positions, PositionsStage):
        for decision in history.approvals:
            positions.book.on_approved(decision)
        for fill in history.fills:
            positions.book.on_fill(fill)
    tca = hot_path.stages.get("tca")
    if isinstance(tca, TcaStage):
        tca.engine.restore(history.approvals, history.events, history.fills)
    router = hot_path.stages.get("router")
    if isinstance(router, RouterStage):
        _restore_router(router, history, now_ns, summary)
    parents = hot_path.stages.get("sor")
    if isinstance(parents, ParentStage):
        decided = frozenset(
            (d.account, d.client_order_id) for d in (*history.approvals, *history.denials)
        )
        reports: list[OrderEvent | Fill | RiskDecision] = [
            *history.events,
            *history.fills,
            *history.denials,
        ]
        outputs = parents.restore(history.parent_events, now_ns, reports=reports, decided=decided)
        summary.parents = len({e.parent_id for e in history.parent_events})
        summary.resent_children = sum(1 for o in outputs if o.topic.endswith("oms.requests"))
        summary.outputs += outputs
    return summary


def _restore_risk(risk: RiskStage, history: TradingHistory, summary: RestoreSummary) -> None:
    for event in history.events:
        risk.on_event(event)
    for fill in history.fills:
        risk.on_fill(fill)
    for position in history.positions:
        risk.daily_pnl.on_position(position)
    for decision in (*history.approvals, *history.denials):
        risk.gate.remember(decision.account, decision.client_order_id)
    for alert in history.alerts:
        if alert.source == "risk" and alert.code == RISK_LIMITS_CODE:
            _restore_limits(risk, alert)
        if alert.source != "risk" or alert.code != TRADING_STATE_CODE:
            continue
        account, state = alert.labels.get("account"), alert.labels.get("state")
        if account is None or state is None:
            continue
        scope = None if account == ALL_ACCOUNTS else account
        restored = TradingState(state)
        risk.gate.set_trading_state(restored, scope)
        metrics.trading_state.labels(account).set(restored.severity)
        metrics.kill_switch_engaged.labels(account).set(restored is TradingState.HALTED)
        summary.trading_states[account] = state


def _restore_limits(risk: RiskStage, alert: Alert) -> None:
    account, limits = alert.labels.get("account"), alert.labels.get("limits")
    if account is None or limits is None:
        return
    try:
        risk.gate.set_limits(account, AccountLimits.model_validate_json(limits))
    except ValueError as exc:  # written by the risk stage itself: never expected
        log.warning("restore: risk limits alert %s unreadable: %s", alert.alert_id, exc)


def _restore_router(
    router: RouterStage, history: TradingHistory, now_ns: int, summary: RestoreSummary
) -> None:
    approvals = [SeenApproval(d, consumed=True) for d in history.approvals]
    plan = plan_recovery(history.events, approvals, set(router.venues))
    # the approval holds the whole request (expiry, reduce-only, tags); events only part
    requests = {(d.account, d.client_order_id): d.request for d in history.approvals}
    orders = [
        replace(o, request={**requests[key].to_dict(), **o.request})
        if (key := (o.account, o.client_order_id)) in requests
        else o
        for o in plan.reconcile
    ]
    restored: set[str] = set()
    for venue in router.venues.values():
        if isinstance(venue, PaperVenueAdapter):
            mine_events = [e for e in history.events if e.venue == venue.name]
            mine_fills = [f for f in history.fills if f.venue == venue.name]
            restored.update(venue.paper.restore(orders, mine_events, mine_fills))
    rest = tuple(o for o in plan.reconcile if o.client_order_id not in restored)
    summary.restored_orders = sorted(restored)
    summary.reconciled = len(rest)
    summary.known_ids = len(plan.known)
    router.known |= plan.known
    if rest:
        summary.outputs = router.recover(RecoveryPlan(rest, plan.known, plan.final), now_ns)


HISTORY_TOPICS = (
    "oms.events",
    "oms.fills",
    "positions",
    "alerts",
    "oms.approved",
    "oms.denied",
    "oms.parent_events",
)


def read_trading_history(
    bootstrap: str, config: StreamsConfig, codec: Codec, timeout_s: float = 120.0
) -> TradingHistory:
    """Every record of :data:`HISTORY_TOPICS` (by ``config``'s topic names) up to their
    ends now. A record that does not decode is skipped with a warning (it is not this
    process's output). A sharded process (``config.trading.shard``) keeps its accounts'
    records only. Reads the whole retained history: bounded by the topics' retention
    (a checkpoint to start from is not built yet)."""
    history = TradingHistory()
    lists: dict[str, list[Any]] = {
        "oms.events": history.events,
        "oms.fills": history.fills,
        "positions": history.positions,
        "alerts": history.alerts,
        "oms.approved": history.approvals,
        "oms.denied": history.denials,
        "oms.parent_events": history.parent_events,
    }
    for topic in HISTORY_TOPICS:
        name = config.topics.name(topic)
        for stored in read_to_end(bootstrap, name, timeout_s, missing_ok=True):
            history.ends[(name, stored.partition)] = stored.offset + 1
            try:
                lists[topic].append(codec.read(topic, stored.value or b""))
            except Exception as exc:
                log.warning(
                    "restore: %s[%d]@%d skipped: %s", name, stored.partition, stored.offset, exc
                )
    shard = None if config.trading is None else config.trading.shard
    return history if shard is None else history.owned_by(shard)
