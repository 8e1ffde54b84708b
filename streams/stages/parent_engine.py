"""What a parent-order algorithm offers the parent stage: :class:`ParentEngine`.

An engine works parent orders (``oms.parent_requests``) into child ``OrderRequest``s
that go to ``oms.requests`` like any order, so each passes the risk gate. The smart order
router (:class:`~tapewire.streams.stages.sor.SorEngine`) is one, the execution algos
(:class:`~tapewire.streams.stages.algos.AlgoStageEngine`) another: each takes the parents
whose ``algo`` field it names.

Contract:

* every method but :meth:`~ParentEngine.take_events` returns the child requests to send
  now (possibly none), in order;
* every state change is a ``ParentOrderEvent`` record (the event as the engine's JSON in
  ``event``, the parent's state after it), handed out by ``take_events``; the stage
  journals them on ``oms.parent_events`` *before* the child requests they caused;
* :meth:`~ParentEngine.restore` rebuilds the engine from its journal after a restart and
  returns the requests of the children still open: the stage sends again those the risk
  gate never decided (same ids: a second one would be denied as a duplicate);
* a child refused by the gate reaches the engine as a REJECTED ``OrderEvent``;
* a bad request raises an error naming the field (``TapewireError``): the stage turns it
  into a REJECTED parent event and a dead letter.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from tapewire.records.market import BookUpdate, Trade
from tapewire.records.orders import Fill, OrderEvent, ParentOrderEvent
from tapewire.records.orders import ParentRequest as ParentRequestRecord
from tapewire.records.positions import Position
from tapewire.streams.oms.request import OrderRequest


class ParentEngine(Protocol):
    """A parent-order algorithm as the parent stage drives it (see the module doc)."""

    algos: tuple[str, ...]
    """The ``algo`` values of the parents it takes (``SOR``; ``TWAP``, ``POV``...): also
    the ``algo`` of its journal records, so each engine restores only its own."""

    def submit(self, request: ParentRequestRecord, now_ns: int) -> list[OrderRequest]:
        """Take a NEW parent; raise for a bad or duplicate one (nothing changes)."""
        ...

    def knows(self, parent_id: str) -> bool:
        """True when it has this parent (a NEW for it again is a redelivery)."""
        ...

    def cancel(self, parent_id: str, now_ns: int, reason: str = "") -> list[OrderRequest]:
        """Stop working ``parent_id``: cancels of its open children."""
        ...

    def on_book(self, update: BookUpdate) -> None:
        """An ``md.book`` update."""
        ...

    def on_trade(self, trade: Trade) -> None:
        """An ``md.trades`` record (children it causes come from the next ``on_timer``)."""
        ...

    def on_order_event(self, event: OrderEvent) -> bool:
        """An execution report; False when it is not one of its children's."""
        ...

    def on_fill(self, fill: Fill) -> bool:
        """A fill; False when it is not one of its children's."""
        ...

    def on_position(self, position: Position) -> None:
        """A position record (balances)."""
        ...

    def on_timer(self, now_ns: int) -> list[OrderRequest]:
        """Time or the market moved: the next children of any parent due (re-routes)."""
        ...

    def take_events(self) -> list[ParentOrderEvent]:
        """The journal records since the last call, in order."""
        ...

    def restore(self, journal: Iterable[ParentOrderEvent], now_ns: int) -> list[OrderRequest]:
        """Rebuild from the journal (before any other input); the requests of the
        children still open. Called again with no records, it only returns those."""
        ...
