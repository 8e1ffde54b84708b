"""What a restarting router must do before it accepts new work (pure, no Kafka).

Input: every ``OrderEvent`` on ``oms.events`` (in topic order) and the ``RiskDecision``
records on ``oms.approved``, each marked ``consumed`` when it lies before the router
group's committed offset (processed before the restart) or not (Kafka redelivers it).
Output (:class:`RecoveryPlan`):

* ``reconcile``: orders of this router's venues that are not final — including a send
  intent (``PENDING_NEW`` "sending") with no acknowledgement, an ``UNKNOWN`` or
  quarantined order, and a processed approval that left no event at all. Each is looked
  up on its venue **by client order id**; an order the venue does not know is
  quarantined, never re-sent under a new id. An order already quarantined before this
  restart is marked ``quarantined``: the venue asks again (a live venue that finds it
  releases it) but reports nothing when it still does not know it, so a second restart
  does not write the same quarantine twice to ``oms.events``.
* ``known``: ``(account, client_order_id)`` of every order that has any event or was
  processed. A NEW/REPLACE approval with one of these ids is never sent again (the
  redelivered approval of an order in flight at the crash, or a duplicate).

An approval that is redelivered and has no event was never sent: the router records its
send intent on ``oms.events`` (durably) before it calls a venue. It is simply processed.
See ``docs/trading.md`` ("Restart and reconciliation").
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from decimal import Decimal

from tapewire.core.records import Record
from tapewire.streams.execution.common import is_quarantine
from tapewire.streams.oms.reports import order_fields, venue_event_seq

FINAL = frozenset({"FILLED", "CANCELED", "REJECTED", "EXPIRED"})
SEND_INTENT_TEXT = "sending"
"""``text`` of the ``PENDING_NEW`` event the router records before it calls a venue."""
SENDING_ACTIONS = frozenset({"NEW", "REPLACE"})


@dataclass(frozen=True, slots=True)
class SeenApproval:
    """One record of ``oms.approved``; ``consumed`` = before the group's committed offset."""

    decision: Record
    consumed: bool


@dataclass(frozen=True, slots=True)
class RecoveredOrder:
    """An order to reconcile with its venue by client order id.

    ``request`` has the order fields a venue needs (from the order's latest event, else
    from its approval); ``status`` is the last known status (``PENDING_NEW`` after a
    send intent only; ``UNKNOWN`` when nothing but the approval is known);
    ``venue_seq`` is the highest ``n`` of the venue's own event ids
    ``<venue>:<account>:<cid>:<n>`` (so new event ids do not collide with old ones);
    ``reason`` says why it is reconciled; ``quarantined``: its last state is a venue's
    quarantine (nothing but further ``UNKNOWN`` events since).
    """

    account: str
    venue: str
    client_order_id: str
    request: Record
    status: str
    venue_order_id: str | None
    cum_qty: Decimal
    avg_price: Decimal | None
    venue_seq: int
    reason: str
    quarantined: bool = False


@dataclass(frozen=True, slots=True)
class RecoveryPlan:
    """See the module docstring."""

    reconcile: tuple[RecoveredOrder, ...]
    known: frozenset[tuple[str, str]]
    final: int
    """How many orders of this router's venues are final (nothing to do)."""


@dataclass(slots=True)
class _Fold:
    last: Record
    final: bool
    cum: Decimal
    venue_order_id: str | None
    venue_seq: int
    venue_events: int
    quarantined: bool = False


def plan_recovery(
    events: Iterable[Record], approvals: Iterable[SeenApproval], venues: Collection[str]
) -> RecoveryPlan:
    """The plan for a router trading on ``venues`` (see the module docstring)."""
    folds: dict[tuple[str, str], _Fold] = {}
    for event in events:
        if event["venue"] not in venues:
            continue
        key = (event["account"], event["client_order_id"])
        fold = folds.get(key)
        if fold is None:
            fold = folds[key] = _Fold(event, False, Decimal(0), None, 0, 0)
        fold.last = event
        fold.final = fold.final or event["status"] in FINAL
        fold.cum = max(fold.cum, Decimal(event.get("cum_qty") or 0))
        if event.get("venue_order_id"):
            fold.venue_order_id = str(event["venue_order_id"])
        if is_quarantine(event):
            fold.quarantined = True
        elif event["status"] != "UNKNOWN":
            fold.quarantined = False
        seq = venue_event_seq(event)
        if seq is not None:
            fold.venue_seq = max(fold.venue_seq, seq)
            fold.venue_events += 1
    known = set(folds)
    todo: list[RecoveredOrder] = []
    final = 0
    for (account, cid), fold in folds.items():
        if fold.final:
            final += 1
            continue
        last = fold.last
        status = str(last["status"])
        if fold.quarantined:
            reason = f"quarantined before the restart (last status {status})"
        elif fold.venue_events == 0 and last.get("text") == SEND_INTENT_TEXT:
            reason = "send intent recorded, no acknowledgement before the restart"
        else:
            reason = f"open at restart (last status {status})"
        todo.append(
            RecoveredOrder(
                account=account,
                venue=str(last["venue"]),
                client_order_id=cid,
                request=order_fields(last),
                status=status,
                venue_order_id=fold.venue_order_id,
                cum_qty=fold.cum,
                avg_price=last.get("avg_price"),
                venue_seq=fold.venue_seq,
                reason=reason,
                quarantined=fold.quarantined,
            )
        )
    for seen in approvals:
        decision = seen.decision
        request = decision.get("request") or {}
        if (
            decision.get("decision") != "APPROVED"
            or request.get("action") not in SENDING_ACTIONS
            or request.get("venue") not in venues
        ):
            continue
        key = (str(request["account"]), str(request["client_order_id"]))
        if key in known or not seen.consumed:
            continue  # has events / will be redelivered and processed normally
        known.add(key)
        todo.append(
            RecoveredOrder(
                account=key[0],
                venue=str(request["venue"]),
                client_order_id=key[1],
                request=order_fields(request),
                status="UNKNOWN",
                venue_order_id=None,
                cum_qty=Decimal(0),
                avg_price=None,
                venue_seq=0,
                reason="approval processed before the restart but no event recorded",
            )
        )
    todo.sort(key=lambda o: (o.venue, o.account, o.client_order_id))
    return RecoveryPlan(tuple(todo), frozenset(known), final)
