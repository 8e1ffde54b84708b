"""The smart order router over many parents: the object a stage drives.

:class:`SmartOrderRouter` keeps the consolidated book (``md.book``), every parent order and
the child -> parent map, and turns inputs into child ``OrderRequest``s:

* :meth:`~SmartOrderRouter.submit` a :class:`ParentRequest` -> the first wave;
* :meth:`~SmartOrderRouter.on_book` a ``BookUpdate`` (``md.book``);
* :meth:`~SmartOrderRouter.on_fill` a ``Fill`` (``oms.fills``) and
  :meth:`~SmartOrderRouter.on_order_event` an ``OrderEvent`` (``oms.events``) of a child;
* :meth:`~SmartOrderRouter.reroute` -> a new wave for every parent whose children are all
  done with quantity left, once the book changed after its last wave;
* :meth:`~SmartOrderRouter.cancel` a parent -> cancels of its open children.

Every state change is a parent event (:mod:`~tapewire.streams.sor.parent`), kept until
:meth:`~SmartOrderRouter.take_events` hands it to the caller to journal (a stage: before
the child requests are produced); :meth:`~SmartOrderRouter.restore` rebuilds the router
from that journal after a restart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tapewire.core.records import Record
from tapewire.streams.aggregate.consolidated import ConsolidatedBook, NbboConfig
from tapewire.streams.oms.enums import Side
from tapewire.streams.oms.request import OrderRequest
from tapewire.streams.sor.allocation import VenueLevel, venue_levels
from tapewire.streams.sor.config import UNLIMITED, Balances, SorConfig
from tapewire.streams.sor.errors import SorError, UnknownParentError
from tapewire.streams.sor.parent import (
    ParentEvent,
    ParentNew,
    ParentOrder,
    child_done,
    child_filled,
)
from tapewire.streams.sor.request import ParentRequest
from tapewire.streams.sor.routing import Routed, cancel, route


class SmartOrderRouter:
    """Parents in, child requests out; see the module docstring. Not thread-safe."""

    def __init__(self, config: SorConfig, book: ConsolidatedBook | None = None) -> None:
        self.config = config
        self.terms = config.terms()
        self.book = book or ConsolidatedBook(NbboConfig())
        self.parents: dict[str, ParentOrder] = {}
        self.child_parent: dict[str, str] = {}
        self.last_routed: dict[str, Routed] = {}
        """The latest wave of each parent (its allocation shows the expected prices)."""
        self._events: list[ParentEvent] = []
        self._book_updates = 0
        self._wave_at: dict[str, int] = {}  # parent -> book updates seen at its last wave

    # --- inputs ----------------------------------------------------------------------

    def submit(
        self, request: ParentRequest, now_ns: int, balances: Balances = UNLIMITED
    ) -> list[OrderRequest]:
        """Take on a parent and route its first wave (empty when the book gives none
        yet: :meth:`reroute` tries again on the next book change). A known parent id
        raises :class:`SorError` (idempotency); a bad field ``OrderValidationError``."""
        request.check(frozenset(self.terms))
        if request.parent_id in self.parents:
            raise SorError(
                f"parent id {request.parent_id} is taken", hint="a known id is a duplicate"
            )
        self._apply(request.to_event())
        return self._route(self.parents[request.parent_id], now_ns, balances)

    def on_book(self, update: Record) -> None:
        """A ``BookUpdate`` of any venue (the consolidated book's rejects are in
        ``self.book.drain_rejected()``)."""
        self.book.add(update)
        self._book_updates += 1

    def on_fill(self, fill: Record) -> bool:
        """A ``Fill``; False when it is not a child's."""
        parent_id = self.child_parent.get(fill["client_order_id"])
        if parent_id is None:
            return False
        self._apply(child_filled(parent_id, fill))
        return True

    def on_order_event(self, event: Record) -> bool:
        """An ``OrderEvent``; False when it is not a child's (only final ones matter)."""
        parent_id = self.child_parent.get(event["client_order_id"])
        if parent_id is None:
            return False
        done = child_done(parent_id, event)
        if done is not None:
            self._apply(done)
        return True

    def reroute(
        self, now_ns: int, balances: Balances | Callable[[ParentOrder], Balances] = UNLIMITED
    ) -> list[OrderRequest]:
        """A new wave for each parent with routable quantity, no open child, and a book
        that changed since its last wave (in parent id order). ``balances`` may be a
        function of the parent (balances are per account)."""
        out: list[OrderRequest] = []
        for parent_id in sorted(self.parents):
            parent = self.parents[parent_id]
            if parent.routable_qty <= 0 or parent.open_children:
                continue
            if self._wave_at.get(parent_id) == self._book_updates:
                continue
            spendable = balances(parent) if callable(balances) else balances
            out += self._route(parent, now_ns, spendable)
        return out

    def cancel(self, parent_id: str, now_ns: int, reason: str = "") -> list[OrderRequest]:
        """Cancel a parent: CANCEL requests for its open children (none: CANCELED now)."""
        parent = self.parents.get(parent_id)
        if parent is None:
            raise UnknownParentError(parent_id)
        event, requests = cancel(parent, now_ns, reason=reason, requested_by=self._by)
        self._apply(event)
        return list(requests)

    # --- journal ---------------------------------------------------------------------

    def take_events(self) -> list[ParentEvent]:
        """The parent events since the last call, in order (journal them)."""
        events, self._events = self._events, []
        return events

    def restore(self, events: Iterable[ParentEvent]) -> None:
        """Rebuild every parent from its journaled events (before any other input)."""
        for event in events:
            self._apply(event)
        self._events = []

    def levels(self, instrument: str, side: Side) -> list[VenueLevel]:
        """The book side a parent of ``side`` takes from, one level per venue."""
        book_side = "ask" if side is Side.BUY else "bid"
        return venue_levels(self.book.depth(instrument, book_side, self.config.depth_levels))

    # --- internals -------------------------------------------------------------------

    @property
    def _by(self) -> str:
        return self.config.requested_by

    def _route(self, parent: ParentOrder, now_ns: int, balances: Balances) -> list[OrderRequest]:
        self._wave_at[parent.parent_id] = self._book_updates
        levels = self.levels(parent.instrument, parent.side)
        routed = route(parent, levels, self.terms, now_ns, balances=balances, requested_by=self._by)
        if routed is None:
            return []
        self._apply(routed.event)
        self.last_routed[parent.parent_id] = routed
        return list(routed.requests)

    def _apply(self, event: ParentEvent) -> None:
        if isinstance(event, ParentNew):
            parent = ParentOrder.from_event(event)
        else:
            known = self.parents.get(event.parent_id)
            if known is None:
                raise UnknownParentError(event.parent_id)
            parent = known.apply(event)
            if parent is known:
                return  # a repeated fill or done event: nothing to journal
        self.parents[event.parent_id] = parent
        for child_id in parent.children:
            self.child_parent.setdefault(child_id, parent.parent_id)
        self._events.append(event)
