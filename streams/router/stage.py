"""Router stage: ``oms.approved`` -> venues -> ``oms.events``, ``oms.fills`` (+ ``alerts``).

Fail closed: the only order input is ``oms.approved``; a record there that is not an
APPROVED decision, or whose request disagrees with the decision, is refused (Alert +
dead letter), never sent. ``md.book`` and ``md.trades`` only feed the paper venues' books.

Venues implement :class:`Venue` (``submit``/``cancel``/``cancel_all`` returning
:class:`tapewire.streams.execution.paper.Reports`); :class:`PaperVenueAdapter` wraps a
:class:`PaperVenue`. A live venue (ccxt) plugs in with the same three calls.

Restart safety (``docs/trading.md``, "Restart and reconciliation"): with a ``journal``
the router writes a send intent (``PENDING_NEW`` "sending") to ``oms.events`` durably
before it sends a NEW to a venue; :meth:`RouterStage.recover` reconciles what a restart finds
unfinished (venues implementing :class:`Reconciling`) and remembers every client order
id that already has events, so a redelivered approval is never sent twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from tapewire.core import metrics
from tapewire.core.bounded import RecentKeys
from tapewire.core.records import Record, expect
from tapewire.records.orders import OrderEvent, OrderRequest
from tapewire.records.risk import Alert, RiskDecision
from tapewire.schemas.codec import Codec
from tapewire.streams.oms.reports import Reports, pending_new_event
from tapewire.streams.oms.reports import rejected_event as rejected_record
from tapewire.streams.router.recovery import (
    SEND_INTENT_TEXT,
    SENDING_ACTIONS,
    RecoveredOrder,
    RecoveryPlan,
)
from tapewire.streams.router.venue import MarketFed, Reconciling, Venue
from tapewire.streams.stages.base import (
    Emitter,
    OutMsg,
    TopicMsg,
    dead_record,
    decode_topics,
)
from tapewire.streams.stages.latency import TickToOrder
from tapewire.streams.stages.strategy import DLQ

log = logging.getLogger(__name__)

INPUTS = ("oms.approved", "md.book", "md.trades")
Journal = Callable[[Sequence[OutMsg]], None]
"""Writes messages to Kafka and returns once the broker acknowledged each (raises else)."""


class RouterStage:
    """Approved decisions -> venue calls; market data -> paper venues; reports out."""

    name = "router"

    def __init__(
        self,
        codec: Codec,
        venues: Sequence[Venue],
        kafka_name: Callable[[str], str] = str,
        journal: Journal | None = None,
        *,
        sent_ids: int = 100_000,
        routed_elsewhere: Callable[[str], bool] = lambda _venue: False,
    ) -> None:
        self.codec = codec
        self.venues: dict[str, Venue] = {v.name: v for v in venues}
        self.routed_elsewhere = routed_elsewhere
        """True for a venue another router process executes (the trade role's router:
        the ccxt venues; a ccxt router: every venue but its own): approvals for it are left
        to that router, not rejected here. An approval for a venue no router has is
        rejected by the trade role's router (it sees every approval its risk gate makes)."""
        # checked once: isinstance against a runtime Protocol costs ~25 us a message
        self.market_fed: dict[str, MarketFed] = {
            v.name: v for v in venues if isinstance(v, MarketFed)
        }
        self.emitter = Emitter(codec, self.name, kafka_name, DLQ)
        self.journal = journal
        self.tick_to_order = TickToOrder()
        self.known: RecentKeys[tuple[str, str]] = RecentKeys(sent_ids)
        """``(account, client_order_id)`` already sent (or known from before a restart):
        the last ``sent_ids`` of them (an approval redelivered later than that is sent
        again, and the venue refuses the duplicate client order id)."""

    def recover(self, plan: RecoveryPlan, now_ns: int) -> list[OutMsg]:
        """Before any approval: remember ``plan.known`` and reconcile ``plan.reconcile``
        with each venue; returns the messages to publish (the venues' answers, alerts)."""
        self.known |= plan.known
        by_venue: dict[str, list[RecoveredOrder]] = {}
        for order in plan.reconcile:
            by_venue.setdefault(order.venue, []).append(order)
        for name, orders in sorted(by_venue.items()):
            venue = self.venues.get(name)
            if not isinstance(venue, Reconciling):
                log.warning(
                    "router: %d open order(s) on %s cannot be reconciled (no reconcile)",
                    len(orders),
                    name,
                )
                continue
            for order in orders:
                log.info(
                    "router: reconciling %s/%s/%s (%s)",
                    name,
                    order.account,
                    order.client_order_id,
                    order.reason,
                )
            metrics.orders_routed.labels(name, "RECONCILE").inc(len(orders))
            self.emit(venue.reconcile(orders, now_ns))
        return self.emitter.take()

    def process(self, batch: Sequence[TopicMsg]) -> list[OutMsg]:
        """Each record in arrival order; reports emitted as they happen."""
        for msg, record in decode_topics(self.codec, batch, self.emitter):
            try:
                if msg.topic == "oms.approved":
                    self.on_approved(expect(record, RiskDecision), msg)
                else:
                    venue = self.market_fed.get(record["venue"])
                    if venue is not None:
                        fed = venue.on_book if msg.topic == "md.book" else venue.on_trade
                        reports = fed(record)
                        if reports.events or reports.fills or getattr(reports, "alerts", None):
                            self.emit(reports)
            except Exception as exc:
                dead_record(self.emitter, msg, exc, self.name)
        return self.emitter.take()

    def emit(self, reports: Reports) -> None:
        """Encode the reports (events before the fills of the same call)."""
        _emit(self.emitter, reports)

    def encode(self, reports: Reports) -> list[OutMsg]:
        """The messages of reports a venue pushed on its own (``watch_orders``), outside
        :meth:`process`: an emitter of their own, so another thread may call this."""
        emitter = Emitter(self.codec, self.name, self.emitter.kafka_name, DLQ)
        _emit(emitter, reports)
        return emitter.take()

    def on_approved(self, decision: RiskDecision, msg: TopicMsg) -> None:
        """Act on one approving decision; refuse anything else (fail closed)."""
        request = decision.request
        problem = None
        if decision.decision != "APPROVED":
            problem = f"decision {decision.decision} on oms.approved"
        elif (request.client_order_id, request.account) != (
            decision.client_order_id,
            decision.account,
        ):
            problem = "the request does not match its decision"
        if problem is not None:
            self.refuse(decision, msg, problem)
            return
        action, now = request.action, decision.decision_ts_ns
        if action == "CANCEL_ALL":
            targets = (
                list(self.venues.values())
                if not request.venue
                else [v for v in (self.venues.get(request.venue),) if v is not None]
            )
            for venue in targets:
                metrics.orders_routed.labels(venue.name, action).inc()
                self.emit(venue.cancel_all(request, now))
            return
        target = self.venues.get(request.venue)
        if target is None and self.routed_elsewhere(request.venue):
            return
        if target is None:
            self.no_venue(request, now)
            return
        if action in SENDING_ACTIONS:
            key = (request.account, request.client_order_id)
            if key in self.known:
                self.skip_duplicate(decision, now)
                return
            self.known.add(key)
            if self.journal is not None and action == "NEW":  # (REPLACE: not on ccxt yet)
                self.record_intent(request, now)
        metrics.orders_routed.labels(target.name, action).inc()
        if action in SENDING_ACTIONS:
            self.tick_to_order.observe(target.name, request.client_order_id, request.tags)
            self.emit(target.submit(request, now))
        elif action == "CANCEL":
            self.emit(target.cancel(request, now))
        else:
            self.refuse(decision, msg, f"unsupported action {action}")

    def record_intent(self, request: OrderRequest, now_ns: int) -> None:
        """Write the send intent (and everything emitted before it) durably to Kafka
        before the venue is called: after a crash the restart knows a send may have
        happened. A failed write raises (the approval is dead-lettered, nothing sent)."""
        assert self.journal is not None
        intent = _send_intent(request, now_ns)
        key = (request.account, request.client_order_id)
        try:
            message = OutMsg(
                self.emitter.kafka_name("oms.events"),
                self.codec.key("oms.events", intent),
                self.codec.encode("oms.events", intent),
            )
        except Exception:
            self.known.discard(key)
            raise
        pending = self.emitter.take()
        try:
            self.journal([*pending, message])
        except Exception:
            self.known.discard(key)
            self.emitter.out[:0] = pending  # the earlier outputs still go out with the batch
            raise

    def no_venue(self, request: OrderRequest, now_ns: int) -> None:
        """An approval for a venue no router executes: REJECTED and an ERROR alert (fail
        closed and visible: the order exists nowhere)."""
        self.emit(Reports([_no_venue(request, now_ns)], []))
        self._order_alert(
            request,
            f"router:novenue:{request.account}:{request.client_order_id}",
            "ERROR",
            "ROUTER_NO_VENUE",
            f"rejected: no router executes venue {request.venue!r}",
            now_ns,
        )

    def skip_duplicate(self, decision: RiskDecision, now_ns: int) -> None:
        """A NEW/REPLACE whose client order id was already sent: not sent again."""
        request = decision.request
        metrics.messages_rejected.labels(self.name, "duplicate").inc()
        log.warning(
            "router: %s/%s already sent; approval %s not sent again",
            request.account,
            request.client_order_id,
            decision.decision_id,
        )
        self._order_alert(
            request,
            f"router:duplicate:{decision.decision_id}",
            "WARNING",
            "ROUTER_DUPLICATE",
            f"not sent: client order id {request.client_order_id} already has "
            "an order (redelivered approval or duplicate); never sent twice",
            now_ns,
        )

    def _order_alert(
        self,
        request: OrderRequest,
        alert_id: str,
        severity: str,
        code: str,
        message: str,
        now_ns: int,
    ) -> None:
        """An alert about one order, labelled with its account, id and venue."""
        self.emitter.emit(
            "alerts",
            Alert(
                alert_id=alert_id,
                severity=severity,
                source="router",
                code=code,
                message=message,
                labels={
                    "account": request.account,
                    "client_order_id": request.client_order_id,
                    "venue": request.venue,
                },
                event_ts_ns=now_ns,
            ),
        )

    def refuse(self, decision: RiskDecision, msg: TopicMsg, problem: str) -> None:
        """Not sent: an Alert and a dead letter with the bytes."""
        metrics.messages_rejected.labels(self.name, "refused").inc()
        self.emitter.emit(
            "alerts",
            Alert(
                alert_id=f"router:refused:{decision.decision_id}",
                severity="ERROR",
                source="router",
                code="ROUTER_REFUSED",
                message=f"not routed: {problem}",
                labels={
                    "account": decision.account,
                    "client_order_id": decision.client_order_id,
                },
                event_ts_ns=decision.decision_ts_ns,
            ),
        )
        self.emitter.dead(
            source_topic=msg.topic,
            payload=msg.value or b"",
            error_type="refused",
            reason=problem,
            labels={"partition": str(msg.partition), "offset": str(msg.offset)},
        )


def _send_intent(request: Record, now_ns: int) -> OrderEvent:
    """The ``PENDING_NEW`` "sending" event recorded before a NEW reaches a venue."""
    event_id = f"router:intent:{request['venue']}:{request['account']}:{request['client_order_id']}"
    return pending_new_event(request, event_id=event_id, text=SEND_INTENT_TEXT, now_ns=now_ns)


def _no_venue(request: Record, now_ns: int) -> OrderEvent:
    """A REJECTED event for a request naming a venue this router does not have."""
    return rejected_event(
        request, now_ns, f"no venue {request['venue']!r} configured on this router", "novenue"
    )


def rejected_event(request: Record, now_ns: int, text: str, why: str) -> OrderEvent:
    """A REJECTED ``OrderEvent`` for a request the router does not send (``why`` goes in
    the event id ``router:<why>:<account>:<client_order_id>``)."""
    event_id = f"router:{why}:{request['account']}:{request['client_order_id']}"
    return rejected_record(request, event_id=event_id, text=text, now_ns=now_ns)


def _emit(emitter: Emitter, reports: Reports) -> None:
    for event in reports.events:
        emitter.emit("oms.events", event)
    for fill in reports.fills:
        metrics.trading_fills.labels(fill["venue"], fill["liquidity"]).inc()
        emitter.emit("oms.fills", fill)
    for alert in getattr(reports, "alerts", ()):  # LiveReports (quarantines)
        emitter.emit("alerts", alert)
