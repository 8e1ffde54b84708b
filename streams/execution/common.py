"""What every venue shares for a restart: the order a restart recovers, quarantine.

Decimal arithmetic is :mod:`tapewire.core.exact`'s; the records a venue reports are built
by :mod:`tapewire.streams.oms.reports`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from tapewire.core.records import Record

NS_PER_DAY = 86_400 * 1_000_000_000


class RestorableOrder(Protocol):
    """An order known from before a restart (from ``oms.events``/``oms.approved`` only).

    :class:`tapewire.streams.router.recovery.RecoveredOrder` is one (structural typing: the
    venues do not depend on the recovery module).
    """

    @property
    def client_order_id(self) -> str:
        """The order's client order id (venues look it up by this id)."""
        ...

    @property
    def request(self) -> Record:
        """Order fields: ``client_order_id``, ``account``, ``venue``, ``instrument``,
        ``side``, ``order_type``, ``time_in_force``, ``quantity``, ``limit_price``, ..."""
        ...

    @property
    def status(self) -> str:
        """Last known OrdStatus (``PENDING_NEW`` after a send intent, ``UNKNOWN``, ...)."""
        ...

    @property
    def venue_order_id(self) -> str | None:
        """The venue's order id, when an acknowledgement was seen."""
        ...

    @property
    def cum_qty(self) -> Decimal:
        """Cumulative filled quantity already reported."""
        ...

    @property
    def avg_price(self) -> Decimal | None:
        """Average fill price of ``cum_qty``; None when nothing filled."""
        ...

    @property
    def venue_seq(self) -> int:
        """Highest ``n`` of the venue's event ids ``<venue>:<account>:<cid>:<n>`` so far."""
        ...

    @property
    def quarantined(self) -> bool:
        """Quarantined before the restart (its last state is a venue's quarantine): a venue
        that still does not know it reports nothing new (the quarantine is on record once)."""
        ...


class ReconcileOrder(RestorableOrder, Protocol):
    """A :class:`RestorableOrder` with its account and why it is reconciled."""

    @property
    def account(self) -> str:
        """The order's account."""
        ...

    @property
    def reason(self) -> str:
        """Why the restart reconciles it (goes into the event text)."""
        ...


QUARANTINE_TEXT_HEAD = "quarantined: "


def quarantine_text(why: str) -> str:
    """``text`` of the ``ORDER_STATUS``/``UNKNOWN`` event of a quarantined order (every
    venue: ccxt and paper)."""
    return f"{QUARANTINE_TEXT_HEAD}state unknown after reconciliation ({why}); not re-sent"


def is_quarantine(event: Record) -> bool:
    """Whether an ``OrderEvent`` is a venue's quarantine of its order (see
    :func:`quarantine_text`)."""
    return (
        event.get("exec_type") == "ORDER_STATUS"
        and event.get("status") == "UNKNOWN"
        and str(event.get("text") or "").startswith(QUARANTINE_TEXT_HEAD)
    )


QUARANTINE_ALERT = "ORDER_QUARANTINED"
"""Alert ``code`` (severity CRITICAL) of a quarantined order."""
