"""Parent stage: parent orders (``oms.parent_requests``) worked by their algorithm's
engine into child requests (``oms.requests``), journaled on ``oms.parent_events``.

Inputs: the parent requests (NEW or CANCEL, keyed by account), ``md.book`` (the engines'
market), ``md.trades`` (POV's volume), the children's ``oms.events`` and ``oms.fills``,
``oms.denied`` (a child the risk gate refused reaches its engine as a REJECTED report;
a ``duplicate_client_order_id`` denial is ignored: it answers a child sent again after a
restart, the first one stands) and ``positions`` (balances). After each message the
engines' new journal records are emitted **before** the child requests they caused, then
``on_timer`` runs (re-routes, slices due).

A parent the stage cannot take (bad field, unknown algo, unknown parent to cancel) is
answered with a REJECTED ``ParentOrderEvent`` (``event_type`` ``ParentRejected``, the
reason in ``event``) and a dead letter naming the field. A CANCEL goes to the engine that
has the parent, whatever its ``algo`` says. A NEW request for a parent id
the engine already has is a redelivery after a restart: skipped.

Engines implement :class:`~tapewire.streams.stages.parent_engine.ParentEngine`; each
takes the ``algo`` values it names (``SOR``: :class:`~tapewire.streams.stages.sor.SorEngine`;
``TWAP``, ``VWAP``, ``POV``, ``ICEBERG``, ``OCO``, ``BRACKET``:
:class:`~tapewire.streams.stages.algos.AlgoStageEngine`). Time is the stage's ``clock``:
``on_timer(clock())`` runs after every input, so live an algo's slice goes out with the
first record (a book update, usually) at or after its due time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal

from tapewire.core import metrics
from tapewire.core.errors import TapewireError
from tapewire.core.records import TypedRecord, expect
from tapewire.records.market import BookUpdate, Trade
from tapewire.records.orders import Fill, OrderEvent, ParentOrderEvent
from tapewire.records.orders import ParentRequest as ParentRequestRecord
from tapewire.records.positions import Position
from tapewire.records.risk import RiskDecision
from tapewire.schemas.codec import Codec
from tapewire.streams.oms.request import OrderRequest
from tapewire.streams.stages.base import Emitter, OutMsg, TopicMsg, dead_record, decode_topics
from tapewire.streams.stages.parent_engine import ParentEngine
from tapewire.streams.stages.strategy import DLQ

INPUTS = (
    "oms.parent_requests",
    "md.book",
    "md.trades",
    "oms.events",
    "oms.fills",
    "oms.denied",
    "positions",
)
JOURNAL = "oms.parent_events"
DUPLICATE_RULE = "duplicate_client_order_id"


class ParentStage:
    """Parent requests and the children's reports in; journal records and child
    requests out (see the module doc)."""

    name = "parents"

    def __init__(
        self,
        codec: Codec,
        engines: Sequence[ParentEngine],
        clock: Callable[[], int],
        kafka_name: Callable[[str], str] = str,
    ) -> None:
        self.codec = codec
        self.engines = {name: e for e in engines for name in e.algos}
        self.distinct = list({id(e): e for e in engines}.values())
        self.clock = clock
        self.emitter = Emitter(codec, self.name, kafka_name, DLQ)

    def process(self, batch: Sequence[TopicMsg]) -> list[OutMsg]:
        """Every input in order; journal, then children, after each."""
        for msg, record in decode_topics(self.codec, batch, self.emitter):
            try:
                self._on(msg, record)
            except Exception as exc:
                dead_record(self.emitter, msg, exc, self.name)
            now = self.clock()
            for engine in self.distinct:
                self._send(engine, engine.on_timer(now))
        return self.emitter.take()

    def restore(
        self,
        journal: Iterable[ParentOrderEvent],
        now_ns: int,
        *,
        reports: Iterable[OrderEvent | Fill | RiskDecision] = (),
        decided: frozenset[tuple[str, str]] = frozenset(),
    ) -> list[OutMsg]:
        """Rebuild every engine from ``journal`` (before any other input), fold in the
        children's ``reports`` written since (events, fills, denials), and return what
        to publish first: the journal records those reports add, then the requests of
        open children the risk gate never decided (``decided``: ``(account, client
        order id)`` of every decision seen)."""
        records = list(journal)
        resend: list[OrderRequest] = []
        for engine in self.distinct:
            mine = [r for r in records if r.algo in engine.algos]
            engine.restore(mine, now_ns)
        for report in reports:
            if isinstance(report, RiskDecision):
                self._on_denied(report)
            else:
                self._report(report)
        for engine in self.distinct:
            for event in engine.take_events():
                self.emitter.emit(JOURNAL, event)
            still_open = engine.restore([], now_ns)
            resend += [r for r in still_open if (r.account, r.client_order_id) not in decided]
        for request in resend:
            self.emitter.emit("oms.requests", request.to_record())
        return self.emitter.take()

    # --- inputs ----------------------------------------------------------------------

    def _on(self, msg: TopicMsg, record: TypedRecord) -> None:
        topic = msg.topic
        if topic == "oms.parent_requests":
            self._on_parent(msg, expect(record, ParentRequestRecord))
        elif topic == "md.book":
            update = expect(record, BookUpdate)
            for engine in self.distinct:
                engine.on_book(update)
        elif topic == "md.trades":
            trade = expect(record, Trade)
            for engine in self.distinct:
                engine.on_trade(trade)
        elif topic == "oms.events":
            self._report(expect(record, OrderEvent))
        elif topic == "oms.fills":
            self._report(expect(record, Fill))
        elif topic == "oms.denied":
            self._on_denied(expect(record, RiskDecision))
        elif topic == "positions":
            position = expect(record, Position)
            for engine in self.distinct:
                engine.on_position(position)

    def _report(self, report: OrderEvent | Fill) -> None:
        for engine in self.distinct:
            if isinstance(report, Fill):
                taken = engine.on_fill(report)
            else:
                taken = engine.on_order_event(report)
            if taken:
                self._send(engine, [])
                return

    def _on_denied(self, decision: RiskDecision) -> None:
        if decision.rule == DUPLICATE_RULE:
            return
        self._report(rejected_report(decision))

    def _on_parent(self, msg: TopicMsg, request: ParentRequestRecord) -> None:
        now = self.clock()
        engine = self.engines.get(request.algo)
        if request.action == "CANCEL" and (engine is None or not engine.knows(request.parent_id)):
            # a cancel names the parent: whichever engine has it takes it
            engine = next((e for e in self.distinct if e.knows(request.parent_id)), engine)
        try:
            if engine is None:
                raise TapewireError(
                    f"parent order algo={request.algo!r}: no such algorithm here",
                    hint=f"use one of {sorted(self.engines)}",
                )
            if request.action == "CANCEL":
                children = engine.cancel(request.parent_id, now, f"by {request.requested_by}")
            elif request.action == "NEW":
                if engine.knows(request.parent_id):
                    metrics.messages_rejected.labels(self.name, "duplicate_parent").inc()
                    return
                children = engine.submit(request, now)
            else:
                raise TapewireError(
                    f"parent order action={request.action!r}: only NEW and CANCEL",
                    hint="send NEW to start a parent, CANCEL to stop it",
                )
        except TapewireError as exc:
            self._send(engine, [])  # whatever the engine journaled before it refused
            self.emitter.emit(JOURNAL, parent_rejected(request, str(exc), now))
            dead_record(self.emitter, msg, exc, self.name)
            return
        self._send(engine, children)

    def _send(self, engine: ParentEngine | None, children: Iterable[OrderRequest]) -> None:
        """Journal first, then the children."""
        if engine is not None:
            for event in engine.take_events():
                self.emitter.emit(JOURNAL, event)
        for child in children:
            self.emitter.emit("oms.requests", child.to_record())


def rejected_report(decision: RiskDecision) -> OrderEvent:
    """A risk denial of a request as the REJECTED report an engine understands."""
    request = decision.request
    return OrderEvent(
        event_id=f"denied:{decision.decision_id}",
        client_order_id=decision.client_order_id,
        account=decision.account,
        venue=request.venue,
        instrument=request.instrument,
        side=request.side,
        order_type=request.order_type,
        time_in_force=request.time_in_force,
        status="REJECTED",
        exec_type="REJECTED",
        quantity=request.quantity,
        limit_price=request.limit_price,
        cum_qty=Decimal(0),
        leaves_qty=Decimal(0),
        text=f"risk: {decision.rule}: {decision.reason}",
        event_ts_ns=decision.decision_ts_ns,
        strategy_id=request.strategy_id,
    )


def parent_rejected(request: ParentRequestRecord, reason: str, now_ns: int) -> ParentOrderEvent:
    """The REJECTED answer to a parent request the stage could not take."""
    return ParentOrderEvent(
        event_id=f"{request.parent_id}:rejected:{request.request_ts_ns}",
        parent_id=request.parent_id,
        account=request.account,
        algo=request.algo,
        instrument=request.instrument,
        side=request.side if request.side in ("BUY", "SELL") else "BUY",
        event_type="ParentRejected",
        event=json.dumps({"action": request.action, "reason": reason}),
        status="REJECTED",
        quantity=request.quantity,
        limit_price=request.limit_price,
        cum_qty=Decimal(0),
        leaves_qty=Decimal(0),
        children=0,
        open_children=0,
        waves=0,
        strategy_id=request.strategy_id,
        event_ts_ns=now_ns,
    )
