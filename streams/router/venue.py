"""The venue protocol the router stage drives, and the paper venue behind it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from tapewire.core.records import Record
from tapewire.streams.execution.paper import PaperConfig, PaperVenue
from tapewire.streams.oms.reports import Reports
from tapewire.streams.router.recovery import (
    RecoveredOrder,
)


class Venue(Protocol):
    """What the router calls on a venue. Every call returns the ``OrderEvent`` and
    ``Fill`` records it caused (possibly none yet: a live venue reports later)."""

    name: str

    def submit(self, request: Record, now_ns: int) -> Reports:
        """A NEW or REPLACE request (``OrderRequest`` record)."""
        ...

    def cancel(self, request: Record, now_ns: int) -> Reports:
        """A CANCEL request naming ``orig_client_order_id``."""
        ...

    def cancel_all(self, request: Record, now_ns: int) -> Reports:
        """Cancel every open order of ``request['account']`` on this venue (in
        ``request['instrument']``, or all when empty), natively or one by one."""
        ...


@runtime_checkable
class MarketFed(Protocol):
    """A venue that needs the public market data (a paper venue)."""

    def on_book(self, update: Record) -> Reports:
        """A ``BookUpdate`` of this venue."""
        ...

    def on_trade(self, trade: Record) -> Reports:
        """A ``Trade`` of this venue."""
        ...


@runtime_checkable
class Reconciling(Protocol):
    """A venue that can look orders up by client order id (ccxt and paper venues)."""

    def reconcile(self, orders: Sequence[RecoveredOrder], now_ns: int) -> Reports:
        """Take on ``orders`` (known from ``oms.events``/``oms.approved`` only) and report
        the venue's state of each; one it does not know is quarantined, never re-sent."""
        ...


class PaperVenueAdapter:
    """:class:`Venue` over a :class:`PaperVenue` (which takes every action via submit)."""

    def __init__(self, config: PaperConfig) -> None:
        self.name = config.venue
        self.paper = PaperVenue(config)

    def submit(self, request: Record, now_ns: int) -> Reports:
        """NEW / REPLACE."""
        return self.paper.submit(request, now_ns)

    def cancel(self, request: Record, now_ns: int) -> Reports:
        """CANCEL."""
        return self.paper.submit(request, now_ns)

    def cancel_all(self, request: Record, now_ns: int) -> Reports:
        """CANCEL_ALL on this venue (the request's venue is set to this one)."""
        return self.paper.submit({**request, "venue": self.name}, now_ns)

    def reconcile(self, orders: Sequence[RecoveredOrder], now_ns: int) -> Reports:
        """:class:`Reconciling` on a paper venue (:meth:`PaperVenue.reconcile`): an order
        it knows reports its state; one it does not know (after a process restart it
        knows none: its book is in memory) is quarantined as on the ccxt venue."""
        return self.paper.reconcile(orders, now_ns)

    def on_book(self, update: Record) -> Reports:
        """Feed the book."""
        return self.paper.on_book(update)

    def on_trade(self, trade: Record) -> Reports:
        """Feed a public trade (resting orders fill on trades through them)."""
        return self.paper.on_trade(trade)
