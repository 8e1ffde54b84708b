"""The execution algos over many algo orders: the object a stage drives.

:class:`AlgoEngine` keeps every algo order (:class:`AlgoOrder`) and the child -> (algo,
leg) map, and turns inputs into child ``OrderRequest``s (for ``oms.requests``):

* :meth:`~AlgoEngine.submit` an :class:`AlgoRequest` (its first children, if any are due);
* :meth:`~AlgoEngine.on_timer` the clock (TWAP/VWAP slices, POV's end): call it at
  :meth:`~AlgoEngine.next_timer_ns` (calling more often is harmless);
* :meth:`~AlgoEngine.on_book` a ``BookUpdate`` (``md.book``: prices capped slices);
* :meth:`~AlgoEngine.on_trade` a ``Trade`` (``md.trades``: POV's volume);
* :meth:`~AlgoEngine.on_order_event` an ``OrderEvent`` (``oms.events``),
  :meth:`~AlgoEngine.on_fill` a ``Fill`` (``oms.fills``), :meth:`~AlgoEngine.on_denied` a
  denied ``RiskDecision`` (``oms.denied``) of a child;
* :meth:`~AlgoEngine.cancel` an algo order: cancels of its open children, no new child.

Time comes only from the inputs (``now_ns``, the records' own times), never the wall
clock, so a backtest runs the same code deterministically. Every state change is an
event (:mod:`~tapewire.streams.algos.events`), kept until :meth:`~AlgoEngine.take_events`
hands it over to be journaled (a stage: before the child requests are produced);
:meth:`~AlgoEngine.restore` rebuilds exactly the live state from that journal. None of
the algos waits on the book: :meth:`~AlgoEngine.on_book` only keeps the books that price
the slices of requests with ``max_slippage_bps``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tapewire.core.exact import ZERO
from tapewire.core.records import Record
from tapewire.streams.algos.errors import AlgoError, UnknownAlgoError
from tapewire.streams.algos.events import AlgoEvent, AlgoNew, LegEvent
from tapewire.streams.algos.iceberg import Iceberg
from tapewire.streams.algos.linked import Bracket, Oco
from tapewire.streams.algos.pov import Pov
from tapewire.streams.algos.request import AlgoKind, AlgoRequest
from tapewire.streams.algos.scheduled import Scheduled
from tapewire.streams.algos.state import AlgoOrder
from tapewire.streams.algos.work import AlgoLogic, Work
from tapewire.streams.execution.book import L2Book
from tapewire.streams.execution.rules import Increment, VenueRules
from tapewire.streams.oms.enums import OrdStatus
from tapewire.streams.oms.request import OrderRequest
from tapewire.streams.sor.config import VenueTerms
from tapewire.streams.sor.parent import ChildDone, ChildrenRouted, child_done, child_filled


@dataclass(frozen=True, slots=True)
class AlgoConfig:
    """The engine's settings.

    ``venues``: each venue's rules per instrument (the SOR's :class:`VenueTerms`); slice
    and display sizes are rounded down to the rules' amount step, capped slice prices to
    their price step (no rules: 18 places).
    ``requested_by``: the ``requested_by`` of every child request.
    """

    venues: tuple[VenueTerms, ...] = ()
    requested_by: str = "algo"

    def __post_init__(self) -> None:
        names = [v.venue for v in self.venues]
        if len(set(names)) != len(names):
            raise ValueError(f"AlgoConfig.venues lists a venue twice: {sorted(names)}")
        if not self.requested_by.strip():
            raise ValueError("AlgoConfig.requested_by is empty")

    def rules(self, venue: str, instrument: str) -> VenueRules | None:
        """The rules of ``instrument`` on ``venue`` (lot and tick); None when unknown."""
        for terms in self.venues:
            if terms.venue == venue:
                return terms.rules_for(instrument)
        return None


def logic_for(request: AlgoRequest, lot: Increment | None) -> AlgoLogic:
    """The logic of the request's algo."""
    kind = request.kind
    if kind in (AlgoKind.TWAP, AlgoKind.VWAP):
        return Scheduled(request, lot)
    factories: dict[AlgoKind, Callable[[AlgoRequest], AlgoLogic]] = {
        AlgoKind.POV: Pov,
        AlgoKind.ICEBERG: Iceberg,
        AlgoKind.OCO: Oco,
        AlgoKind.BRACKET: Bracket,
    }
    return factories[kind](request)


class AlgoEngine:
    """Algo orders in, child requests out; see the module docstring. Not thread-safe."""

    def __init__(self, config: AlgoConfig | None = None) -> None:
        self.config = config or AlgoConfig()
        self.algos: dict[str, AlgoOrder] = {}
        self.child_leg: dict[str, tuple[str, str]] = {}
        """Child client order id -> (algo id, leg)."""
        self.books: dict[tuple[str, str], L2Book] = {}
        """(venue, instrument) -> its book (market data: not journaled, fed again)."""
        self._logic: dict[str, AlgoLogic] = {}
        self._events: list[AlgoEvent] = []

    # --- inputs ----------------------------------------------------------------------

    def submit(self, request: AlgoRequest, now_ns: int) -> list[OrderRequest]:
        """Take on an algo order (its first children if due). A bad field raises
        :class:`AlgoRequestError`; a known algo id :class:`AlgoError` (idempotency)."""
        request.check()
        if request.algo_id in self.algos:
            raise AlgoError(f"algo id {request.algo_id} is taken", hint="a known id is a duplicate")
        new = AlgoNew(request=request, ts_ns=now_ns)
        self._new(new)
        try:
            requests = self._run(
                request.algo_id, lambda logic, work: logic.start(work, now_ns), first=new
            )
        except Exception:
            del self.algos[request.algo_id], self._logic[request.algo_id]
            raise
        return requests

    def on_timer(self, now_ns: int) -> list[OrderRequest]:
        """Slices due, ends reached (in algo id order)."""
        out: list[OrderRequest] = []
        for algo_id in sorted(self._active()):
            out += self._run(algo_id, lambda logic, work: logic.on_timer(work, now_ns))
        return out

    def on_trade(self, trade: Record) -> list[OrderRequest]:
        """A public ``Trade``: fed to the active POV orders of its venue and instrument."""
        out: list[OrderRequest] = []
        for algo_id in sorted(self._active()):
            request = self.algos[algo_id].request
            if request.kind is not AlgoKind.POV:
                continue
            if (request.venue, request.instrument) != (trade["venue"], trade["instrument"]):
                continue
            out += self._run(algo_id, lambda logic, work: logic.on_trade(work, trade))
        return out

    def on_book(self, update: Record) -> None:
        """A ``BookUpdate``: the book of its venue and instrument, which prices the slices
        of algo orders with ``max_slippage_bps`` (it sends nothing by itself)."""
        key = (update["venue"], update["instrument"])
        book = self.books.get(key)
        if book is None:
            book = self.books[key] = L2Book()
        book.apply(update)

    def on_fill(self, fill: Record) -> list[OrderRequest]:
        """A ``Fill``; nothing when it is not a child's, or was seen before."""
        found = self.child_leg.get(fill["client_order_id"])
        if found is None:
            return []
        algo_id, leg = found
        leg_id = self.algos[algo_id].leg_of(leg).parent_id
        event = LegEvent(algo_id=algo_id, leg=leg, event=child_filled(leg_id, fill))

        def step(logic: AlgoLogic, work: Work) -> None:
            if work.apply(event):
                logic.on_fill(work, leg, fill["quantity"], fill["receive_ts_ns"])

        return self._run(algo_id, step)

    def on_order_event(self, event: Record) -> list[OrderRequest]:
        """An ``OrderEvent``; nothing when it is not a child's."""
        found = self.child_leg.get(event["client_order_id"])
        if found is None:
            return []
        algo_id, leg = found
        leg_id = self.algos[algo_id].leg_of(leg).parent_id
        done = child_done(leg_id, event)

        def step(logic: AlgoLogic, work: Work) -> None:
            if done is not None:
                work.apply(LegEvent(algo_id=algo_id, leg=leg, event=done))
            logic.on_child_event(work, leg, event, event["event_ts_ns"])

        return self._run(algo_id, step)

    def on_denied(self, decision: Record) -> list[OrderRequest]:
        """A ``RiskDecision`` the gate denied: for a child, it is done (REJECTED, nothing
        filled); the algo reacts as to a venue reject."""
        found = self.child_leg.get(decision["client_order_id"])
        if found is None or decision["decision"] != "DENIED":
            return []
        algo_id, leg = found
        leg_id = self.algos[algo_id].leg_of(leg).parent_id
        ts = decision["decision_ts_ns"]
        done = ChildDone(
            parent_id=leg_id,
            client_order_id=decision["client_order_id"],
            status=OrdStatus.REJECTED.value,
            cum_qty=ZERO,
            ts_ns=ts,
        )
        shown = {"client_order_id": done.client_order_id, "cum_qty": done.cum_qty}

        def step(logic: AlgoLogic, work: Work) -> None:
            work.apply(LegEvent(algo_id=algo_id, leg=leg, event=done))
            logic.on_child_event(work, leg, shown | {"status": "REJECTED"}, ts)

        return self._run(algo_id, step)

    def cancel(self, algo_id: str, now_ns: int, reason: str = "") -> list[OrderRequest]:
        """Cancel an algo order: CANCEL requests for its open children, no new child.
        Nothing (no event) for one already canceled or done; :class:`UnknownAlgoError`
        for an unknown id."""
        algo = self.algos.get(algo_id)
        if algo is None:
            raise UnknownAlgoError(algo_id)
        if algo.canceled or algo.is_done:
            return []
        return self._run(algo_id, lambda logic, work: work.cancel_all(now_ns, reason))

    # --- clock and journal -----------------------------------------------------------

    def next_timer_ns(self) -> int | None:
        """The earliest time :meth:`on_timer` has something to do; None: no timer."""
        times = [self._logic[a].next_timer_ns(self.algos[a]) for a in self._active()]
        return min((t for t in times if t is not None), default=None)

    def take_events(self) -> list[AlgoEvent]:
        """The events since the last call, in order (journal them)."""
        events, self._events = self._events, []
        return events

    def restore(self, events: Iterable[AlgoEvent]) -> None:
        """Rebuild every algo order from its journaled events (before any other input)."""
        for event in events:
            if isinstance(event, AlgoNew):
                self._new(event)
            else:
                algo = self.algos.get(event.algo_id)
                if algo is None:
                    raise UnknownAlgoError(event.algo_id)
                self._store(algo.apply(event), event)

    # --- internals -------------------------------------------------------------------

    def _active(self) -> list[str]:
        return [a for a, algo in self.algos.items() if not algo.is_done]

    def _new(self, event: AlgoNew) -> None:
        request = event.request
        self.algos[request.algo_id] = AlgoOrder.from_event(event)
        rules = self.config.rules(request.venue, request.instrument)
        self._logic[request.algo_id] = logic_for(request, rules.amount if rules else None)

    def _run(
        self,
        algo_id: str,
        step: Callable[[AlgoLogic, Work], None],
        first: AlgoEvent | None = None,
    ) -> list[OrderRequest]:
        """Run one input's ``step`` on a copy; store it all only if it all worked."""
        algo = self.algos[algo_id]
        key = (algo.request.venue, algo.request.instrument)
        work = Work(algo, self.config.requested_by, self.config.rules(*key), self.books.get(key))
        step(self._logic[algo_id], work)
        events = [first, *work.events] if first is not None else work.events
        for event in events:
            self._store(work.algo, event)
        self._events += events
        return work.requests

    def _store(self, algo: AlgoOrder, event: AlgoEvent) -> None:
        self.algos[algo.algo_id] = algo
        if isinstance(event, LegEvent) and isinstance(event.event, ChildrenRouted):
            for child in event.event.children:
                self.child_leg[child.client_order_id] = (algo.algo_id, event.leg)
