"""Paper venue: orders matched against an L2 book and public trades, deterministic.

Feed it ``BookUpdate`` and ``Trade`` records (:meth:`PaperVenue.on_book`,
:meth:`PaperVenue.on_trade`) and ``OrderRequest`` records (:meth:`PaperVenue.submit`); each
call returns the ``OrderEvent`` and ``Fill`` records it caused. Time is the caller's: market
records carry ``receive_ts_ns``, requests a ``now_ns``; :meth:`PaperVenue.advance` moves the
clock (expiry, requests still in flight). Semantics are in ``docs/paper-venue.md``.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from tapewire.core.bounded import RecentKeys
from tapewire.core.exact import ZERO, q18, wide
from tapewire.core.records import MutableRecord, Record
from tapewire.records.orders import Fill, OrderEvent
from tapewire.records.risk import Alert
from tapewire.streams.execution.book import L2Book
from tapewire.streams.execution.common import (
    NS_PER_DAY,
    QUARANTINE_ALERT,
    ReconcileOrder,
    quarantine_text,
)
from tapewire.streams.execution.emulation import (
    STOP_TYPES,
    TriggerWatcher,
    emulation_note,
    local_cancel_all,
    triggered_note,
    triggered_type,
)
from tapewire.streams.execution.fees import FeeSchedule
from tapewire.streams.execution.latency import LatencyModel
from tapewire.streams.execution.matching import QueueModel, available, crosses, trade_through, walk
from tapewire.streams.execution.rules import Rejection, VenueRules
from tapewire.streams.oms import reports
from tapewire.streams.oms.reports import LiveReports, Reports

FINAL = frozenset({"FILLED", "CANCELED", "REJECTED", "EXPIRED"})


@dataclass(frozen=True, slots=True)
class PaperConfig:
    """One paper venue: its ccxt id, fees, latency, queue model and optional rules.

    Memory: ``retain_final`` final orders are kept (the oldest final one is forgotten
    first; a cancel of a forgotten order is rejected as ``unknown order``, a reconcile
    quarantines it) and the last ``seen_ids`` client order ids are refused as duplicates
    (ids of orders still held are refused whatever their age).
    """

    venue: str
    fees: FeeSchedule = field(default_factory=FeeSchedule)
    latency: LatencyModel = field(default_factory=LatencyModel)
    queue_model: QueueModel = QueueModel.THROUGH
    native_cancel_all: bool = True
    rules: Mapping[str, VenueRules] = field(default_factory=dict)  # by instrument
    id_scope: str = ""
    """Set when several paper venues of one name trade side by side (one per trade shard):
    venue order ids become ``<venue>-<scope>-<n>``, so ids and fill ids never collide."""

    retain_final: int = 10_000
    seen_ids: int = 100_000

    @property
    def id_head(self) -> str:
        """What every venue order id of this venue starts with (before ``-<n>``)."""
        return f"{self.venue}-{self.id_scope}" if self.id_scope else self.venue

    def __post_init__(self) -> None:
        for name in ("retain_final", "seen_ids"):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"PaperConfig.{name} must be >= 1, got {getattr(self, name)} "
                    f"(venue {self.venue!r})"
                )


@dataclass(slots=True)
class _Order:
    req: Record
    venue_order_id: str
    seq: int
    status: str = "PENDING_NEW"
    cum: Decimal = ZERO
    notional: Decimal = ZERO
    expire_ns: int | None = None
    queue_ahead: Decimal = ZERO
    working_type: str = "LIMIT"  # MARKET or LIMIT once live (stops: after the trigger)
    armed: bool = False  # an untriggered stop
    text: str | None = None
    emulated: bool = False
    orig_id: str | None = None
    n_events: int = 0
    n_fills: int = 0
    retired: bool = False  # final and queued for eviction (PaperConfig.retain_final)
    fills: list[tuple[Decimal, Fill]] = field(default_factory=list)
    """``(cum_qty after the fill, Fill record)`` of every fill (reconcile re-reports)."""

    @property
    def reduce_only(self) -> bool:
        return bool(self.req.get("reduce_only"))

    @property
    def leaves(self) -> Decimal:
        return ZERO if self.status in FINAL else self.req["quantity"] - self.cum

    @property
    def is_open(self) -> bool:
        return self.status not in FINAL


class PaperVenue:
    """A simulated venue for many instruments; see the module docstring."""

    def __init__(self, config: PaperConfig) -> None:
        self.config = config
        self.books: dict[str, L2Book] = {}
        self.orders: dict[str, _Order] = {}
        self._working: dict[int, _Order] = {}
        """The open orders of ``orders`` (by object id, in the same order), pruned as they
        close (:meth:`_open`): ``orders`` also keeps the last ``retain_final`` final ones."""
        self.now_ns = 0
        self._seen: RecentKeys[str] = RecentKeys(config.seen_ids)
        self._final: deque[str] = deque()
        """Client order ids of final orders, oldest first (evicted past ``retain_final``)."""
        self._pending: list[tuple[int, int, Record]] = []
        self._expiries: list[tuple[int, int, _Order]] = []
        """Heap of ``(expire_ns, n, order)`` set on orders (:meth:`_set_expiry`); entries of
        closed orders or of an expiry since changed are dropped as they reach the top."""
        self._n_expiries = 0
        self._watcher = TriggerWatcher()
        self._seq = 0
        self.positions: dict[tuple[str, str], Decimal] = {}
        """Signed position per (account, instrument) from this venue's own fills."""

    # ---- inputs -------------------------------------------------------------------------

    @wide
    def submit(self, request: Record, now_ns: int) -> Reports:
        """Send a request at ``now_ns``; it takes effect after the ack latency."""
        self._seq += 1
        arrival = now_ns + self.config.latency.ack_delay(
            f"{request['client_order_id']}:{request['action']}"
        )
        heapq.heappush(self._pending, (arrival, self._seq, dict(request)))
        return self._advance(max(now_ns, self.now_ns))

    @wide
    def advance(self, now_ns: int) -> Reports:
        """Move the clock to ``now_ns``: deliver requests in flight, expire DAY/GTD orders."""
        return self._advance(now_ns)

    def on_book(self, update: Record) -> Reports:
        """Apply a ``BookUpdate``; working market orders take the new liquidity."""
        now_ns, instrument = update["receive_ts_ns"], update["instrument"]
        if self._idle(now_ns, instrument):  # nothing due, no order of the instrument
            book = self.books.get(instrument)
            if book is None:
                book = self.books[instrument] = L2Book()
            book.apply(update)
            if now_ns > self.now_ns:
                self.now_ns = now_ns
            return Reports()
        return self._on_book(update)

    @wide
    def _on_book(self, update: Record) -> Reports:
        out = self._advance(update["receive_ts_ns"])
        book = self.books.setdefault(update["instrument"], L2Book())
        book.apply(update)
        for order in self._live(update["instrument"]):
            if order.working_type == "MARKET" and not order.armed:
                out.extend(self._take(order, self.now_ns))
        return out

    def on_trade(self, trade: Record) -> Reports:
        """A public trade: resting limits it trades through fill; emulated stops trigger."""
        now_ns = trade["receive_ts_ns"]
        if self._idle(now_ns, trade["instrument"]):  # nothing due, no order to fill
            if now_ns > self.now_ns:
                self.now_ns = now_ns
            return Reports()
        return self._on_trade(trade)

    @wide
    def _on_trade(self, trade: Record) -> Reports:
        out = self._advance(trade["receive_ts_ns"])
        inst, price = trade["instrument"], trade["price"]
        left = trade["size"]
        resting = [o for o in self._live(inst) if o.working_type == "LIMIT" and not o.armed]
        buy_first = sorted(resting, key=lambda o: (o.req["side"] != "BUY", o.seq))
        for order in sorted(
            buy_first,
            key=lambda o: -o.req["limit_price"] if o.req["side"] == "BUY" else o.req["limit_price"],
        ):
            if left <= 0:
                break
            if order.reduce_only and not self._shrink_reduce_only(order, self.now_ns, out):
                continue
            limit = order.req["limit_price"]
            if trade_through(order.req["side"], limit, price):
                qty = min(order.leaves, left)
            elif price == limit and self.config.queue_model is not QueueModel.THROUGH:
                if self.config.queue_model is QueueModel.QUEUE:
                    used = min(order.queue_ahead, left)
                    order.queue_ahead -= used
                    left -= used
                qty = min(order.leaves, left)
            else:
                continue
            if qty > 0:
                left -= qty
                out.extend(self._fill(order, limit, qty, maker=True, venue_ts=self.now_ns))
        for key in self._watcher.on_price(price, inst):
            order = self.orders[key]
            order.armed = False
            text = self._note(order, triggered_note(price))
            out.events.append(self._event(order, "RESTATED", self.now_ns, text=text))
            out.extend(self._take(order, self.now_ns))
        return out

    @wide
    def reconcile(self, orders: Sequence[ReconcileOrder], now_ns: int) -> LiveReports:
        """Report this venue's state of orders known from before a router restart.

        Looked up by client order id (and account). Known: an ``ORDER_STATUS`` event with
        the order's current state (text ``reconciled by client order id (<reason>)``),
        preceded by the ``Fill`` records beyond the ``cum_qty`` already reported (same
        ``fill_id`` as the first time: downstream de-duplicates). Unknown — a paper venue
        keeps its orders in memory, so after a process restart it knows none — exactly as
        the ccxt venue: quarantined, i.e. an ``ORDER_STATUS`` event with status
        ``UNKNOWN`` and a CRITICAL ``ORDER_QUARANTINED`` alert; its client order id is
        marked used, so a NEW with it is rejected as a duplicate (never re-sent). An order
        quarantined before (``recovered.quarantined``) is only marked used: its quarantine
        is already on record, and a second one would double it.
        """
        out = LiveReports()
        out.extend(self._advance(now_ns))  # requests in flight arrive first
        for recovered in orders:
            cid = recovered.client_order_id
            order = self.orders.get(cid)
            if order is not None and order.req["account"] == recovered.account:
                text = f"reconciled by client order id ({recovered.reason})"
                out.fills += [f for cum, f in order.fills if cum > recovered.cum_qty]
                out.events.append(self._event(order, "ORDER_STATUS", self.now_ns, text=text))
            else:
                self._quarantine(recovered, out)
        return out

    def restore(
        self,
        orders: Sequence[ReconcileOrder],
        events: Iterable[Record] = (),
        fills: Iterable[Record] = (),
    ) -> list[str]:
        """Take back the open orders a restarted process knows from ``oms.events`` (a paper
        venue keeps its orders in memory); returns the client order ids restored. The
        venue's positions (reduce-only checks) are rebuilt from ``fills``.

        Only this venue's orders acknowledged by it (``NEW`` or ``PARTIALLY_FILLED`` with a
        venue order id) come back, with their filled quantity and average price. ``events``
        and ``fills`` (this venue's history) give each order's event and fill counts, so new
        event and exec ids continue the old sequences. What is lost: the queue position
        (``queue_ahead`` starts at 0) and a triggered stop's trigger (a stop with no fill is
        re-armed). Call before any new request.
        """
        wanted = {
            o.client_order_id: o
            for o in orders
            if o.request.get("venue") == self.config.venue
            and o.status in ("NEW", "PARTIALLY_FILLED")
            and o.venue_order_id
            and o.client_order_id not in self.orders
        }
        n_events: dict[str, int] = {}
        n_fills: dict[str, int] = {}
        for event in events:
            vid = event.get("venue_order_id")
            if vid and str(event.get("event_id", "")).startswith(f"{self.config.venue}:{vid}:"):
                n_events[vid] = n_events.get(vid, 0) + 1
                # every id ever given out, final orders' too: a new order must not reuse one
                self._seq = max(self._seq, self._id_seq(vid))
        for fill in fills:
            if fill.get("venue") != self.config.venue:
                continue
            vid = fill.get("venue_order_id")
            if vid:
                n_fills[vid] = n_fills.get(vid, 0) + 1
            key = (fill["account"], fill["instrument"])
            qty = fill["quantity"] if fill["side"] == "BUY" else -fill["quantity"]
            self.positions[key] = self.positions.get(key, ZERO) + qty
        for cid, recovered in wanted.items():
            request = dict(recovered.request) | {"action": "NEW"}
            vid = recovered.venue_order_id or ""
            self._seq = max(self._seq, self._id_seq(vid))
            order = _Order(
                req=request,
                venue_order_id=vid,
                seq=self._id_seq(vid),
                status=recovered.status,
                cum=recovered.cum_qty,
                notional=(recovered.avg_price or ZERO) * recovered.cum_qty,
                n_events=n_events.get(vid, 0),
                n_fills=n_fills.get(vid, 0),
            )
            kind = request["order_type"]
            order.working_type = triggered_type(kind)
            if kind in STOP_TYPES and recovered.cum_qty == 0:
                order.armed, order.emulated = True, True
                self._watcher.add_request(cid, request)
            self._put(cid, order)
            self._set_expiry(order, self._expiry(request))
            self._seen.add(cid)
        return sorted(wanted)

    def _id_seq(self, venue_order_id: str) -> int:
        """``n`` of a venue order id ``<id_head>-<n>`` this venue gave out (0 for any other)."""
        head, _, tail = venue_order_id.rpartition("-")
        return int(tail) if head == self.config.id_head and tail.isdigit() else 0

    def open_orders(self) -> list[MutableRecord]:
        """Open orders as ``OrderRequest``-shaped records (what a local cancel-all iterates)."""
        return [dict(o.req) for o in self._open()]

    # ---- clock --------------------------------------------------------------------------

    def _idle(self, now_ns: int, instrument: str) -> bool:
        """True when moving the clock to ``now_ns`` delivers and expires nothing and no
        open order is of ``instrument`` (a watched stop is an open order): a market
        record then only moves the clock (and updates the book)."""
        if now_ns < self.now_ns:
            now_ns = self.now_ns
        pending = self._pending
        if pending and pending[0][0] <= now_ns:
            return False
        if self._expiries:
            expiry = self._next_expiry()
            if expiry is not None and expiry <= now_ns:
                return False
        if self._working:
            for order in self._open():
                if order.req["instrument"] == instrument:
                    return False
            return not self._watcher.watching(instrument)
        return True

    def _next_expiry(self) -> int | None:
        """The earliest ``expire_ns`` of the open orders (None: none expires)."""
        heap = self._expiries
        while heap:
            expire_ns, _, order = heap[0]
            if order.expire_ns == expire_ns and order.is_open:
                return expire_ns
            heapq.heappop(heap)
        return None

    def _set_expiry(self, order: _Order, expire_ns: int | None) -> None:
        """Set ``order.expire_ns`` and index it (the index is rebuilt when mostly stale)."""
        order.expire_ns = expire_ns
        if expire_ns is None:
            return
        self._n_expiries += 1
        heapq.heappush(self._expiries, (expire_ns, self._n_expiries, order))
        if len(self._expiries) > 64 and len(self._expiries) > 2 * len(self._working):
            self._expiries = [e for e in self._expiries if e[2].expire_ns == e[0] and e[2].is_open]
            heapq.heapify(self._expiries)

    def _advance(self, now_ns: int) -> Reports:
        out = Reports()
        now_ns = max(now_ns, self.now_ns)
        while True:
            arrival = self._pending[0][0] if self._pending else None
            expiry = self._next_expiry()
            due = [t for t in (arrival, expiry) if t is not None and t <= now_ns]
            if not due:
                break
            self.now_ns = max(self.now_ns, min(due))
            if expiry is not None and expiry == min(due) and (arrival is None or expiry <= arrival):
                for order in self._open():
                    if order.expire_ns == expiry:
                        self._watcher.remove(order.req["client_order_id"])
                        order.status = "EXPIRED"
                        out.events.append(self._event(order, "EXPIRED", expiry, text=order.text))
            else:
                _, _, request = heapq.heappop(self._pending)
                out.extend(self._dispatch(request))
        self.now_ns = now_ns
        return out

    def _dispatch(self, request: Record) -> Reports:
        action = request["action"]
        if action == "NEW":
            return self._new(request)
        if action == "CANCEL":
            return self._cancel(request, text=None)
        if action == "REPLACE":
            return self._replace(request)
        if action == "CANCEL_ALL":
            return self._cancel_all(request)
        return self._reject_request(request, f"unsupported action {action}")

    # ---- actions ------------------------------------------------------------------------

    def _new(self, request: Record) -> Reports:
        out = Reports()
        cid = request["client_order_id"]
        if cid in self._seen or cid in self.orders:
            return self._reject_request(request, "duplicate client_order_id", exec_type="REJECTED")
        self._seen.add(cid)
        self._seq += 1
        order = _Order(
            req=request, venue_order_id=f"{self.config.id_head}-{self._seq}", seq=self._seq
        )
        self._put(cid, order)
        problem = self._validate(order)
        if problem is None and request["instrument"] in self.config.rules:
            adapted = self.config.rules[request["instrument"]].adapt(request)
            if isinstance(adapted, Rejection):
                problem = str(adapted)
            else:
                order.req = request = adapted.request
                notes = [*adapted.changes, *adapted.plan.notes]
                order.text = "; ".join(notes) or None
                order.emulated = adapted.plan.emulated
        if problem is None and order.reduce_only:
            problem = self._fit_reduce_only(order)
            request = order.req
        if problem is None:
            problem = self._post_only_problem(order)
        if problem is not None:
            order.status = "REJECTED"
            out.events.append(self._event(order, "REJECTED", self.now_ns, text=problem))
            return out
        kind = request["order_type"]
        if kind in STOP_TYPES:
            order.armed, order.emulated = True, True
            order.text = self._note(order, emulation_note(kind))
            self._watcher.add_request(cid, request)
        order.working_type = triggered_type(kind)
        order.status = "NEW"
        self._set_expiry(order, self._expiry(request))
        out.events.append(self._event(order, "NEW", self.now_ns, text=order.text))
        if not order.armed:
            out.extend(self._take(order, self.now_ns))
        return out

    def _cancel(self, request: Record, *, text: str | None) -> Reports:
        out = Reports()
        order = self.orders.get(request.get("orig_client_order_id") or "")
        if order is None or order.req["account"] != request["account"]:
            return self._reject_request(request, "unknown order", exec_type="CANCEL_REJECTED")
        if not order.is_open:
            out.events.append(
                self._event(order, "CANCEL_REJECTED", self.now_ns, text=f"order is {order.status}")
            )
            return out
        self._watcher.remove(order.req["client_order_id"])
        order.status = "CANCELED"
        out.events.append(self._event(order, "CANCELED", self.now_ns, text=text))
        return out

    def _cancel_all(self, request: Record) -> Reports:
        out = Reports()
        if request["venue"] not in ("", self.config.venue):
            return out
        mine = [
            o.req
            for o in sorted(self._open(), key=lambda o: o.seq)
            if o.req["account"] == request["account"]
            and request["instrument"] in ("", o.req["instrument"])
        ]
        if self.config.native_cancel_all:
            for req in mine:
                cancel = {**request, "orig_client_order_id": req["client_order_id"]}
                out.extend(self._cancel(cancel, text=f"cancel-all {request['client_order_id']}"))
        else:
            for cancel in local_cancel_all(mine, {**request, "venue": self.config.venue}):
                out.extend(
                    self._cancel(cancel, text=f"emulated cancel-all {request['client_order_id']}")
                )
        return out

    def _replace(self, request: Record) -> Reports:
        out = Reports()
        old_id = request.get("orig_client_order_id") or ""
        order = self.orders.get(old_id)
        new_id = request["client_order_id"]
        if order is None or not order.is_open or order.req["account"] != request["account"]:
            why = "unknown order" if order is None else f"order is {order.status}"
            return self._reject_request(request, why, exec_type="REPLACE_REJECTED")
        problem = None
        if new_id in self._seen or new_id in self.orders:
            problem = "duplicate client_order_id"
        elif (
            request["order_type"] != order.req["order_type"] or request["side"] != order.req["side"]
        ):
            problem = "replace cannot change side or order type"
        elif request["quantity"] <= order.cum:
            problem = f"new quantity {request['quantity']} <= filled {order.cum}"
        candidate = _Order(req={**order.req, **_amendable(request)}, venue_order_id="", seq=0)
        if problem is None:
            problem = self._validate(candidate) or self._post_only_problem(candidate)
        if problem is not None:
            out.events.append(self._event(order, "REPLACE_REJECTED", self.now_ns, text=problem))
            return out
        self._seen.add(new_id)
        del self.orders[old_id]
        self._watcher.remove(old_id)
        order.req = {**candidate.req, "client_order_id": new_id}
        order.orig_id = old_id
        self._put(new_id, order)
        self._set_expiry(order, self._expiry(order.req))
        if order.armed:
            self._watcher.add_request(new_id, order.req)
        order.queue_ahead = self._queue_ahead(order)
        out.events.append(self._event(order, "REPLACED", self.now_ns, text=order.text))
        order.orig_id = None
        if not order.armed:
            out.extend(self._take(order, self.now_ns))
        return out

    # ---- matching -----------------------------------------------------------------------

    def _take(self, order: _Order, venue_ts: int) -> Reports:
        """Take liquidity for a live order; then per TIF cancel the rest or let it rest."""
        out = Reports()
        if order.reduce_only and not self._shrink_reduce_only(order, venue_ts, out):
            return out
        req = order.req
        book = self.books.get(req["instrument"])
        limit = req.get("limit_price") if order.working_type == "LIMIT" else None
        tif = req["time_in_force"]
        if tif == "FOK":
            depth = available(book, req["side"], limit) if book else ZERO
            if depth < order.leaves:
                order.status = "CANCELED"
                text = self._note(order, f"FOK not filled: {depth} available < {order.leaves}")
                out.events.append(self._event(order, "CANCELED", venue_ts, text=text))
                return out
        if book is not None and not req.get("post_only"):
            for price, qty in walk(book, req["side"], order.leaves, limit):
                book.take(book.opposite(req["side"]), price, qty)
                out.extend(self._fill(order, price, qty, maker=False, venue_ts=venue_ts))
        if order.is_open and tif in ("IOC", "FOK"):
            order.status = "CANCELED"
            text = self._note(order, f"{tif} remainder {order.leaves} canceled")
            out.events.append(self._event(order, "CANCELED", venue_ts, text=text))
        elif order.is_open and order.working_type == "LIMIT":
            order.queue_ahead = self._queue_ahead(order)
        return out

    def _fill(
        self, order: _Order, price: Decimal, qty: Decimal, *, maker: bool, venue_ts: int
    ) -> Reports:
        req = order.req
        order.cum += qty
        order.notional += price * qty
        order.status = "FILLED" if order.cum == req["quantity"] else "PARTIALLY_FILLED"
        order.n_fills += 1
        key = (req["account"], req["instrument"])
        signed = qty if req["side"] == "BUY" else -qty
        self.positions[key] = self.positions.get(key, ZERO) + signed
        exec_id = f"{order.venue_order_id}-{order.n_fills}"
        seen_ts = venue_ts + self.config.latency.fill_delay(exec_id)
        fee, ccy = self.config.fees.fee(
            instrument=req["instrument"], side=req["side"], price=price, quantity=qty, maker=maker
        )
        event = self._event(
            order,
            "TRADE",
            venue_ts,
            event_ts=seen_ts,
            text=order.text,
            last_qty=qty,
            last_price=price,
            exec_id=exec_id,
        )
        fill = reports.fill(
            req,
            venue=self.config.venue,
            account=req["account"],
            exec_id=exec_id,
            venue_order_id=order.venue_order_id,
            price=price,
            quantity=qty,
            fee=fee,
            fee_currency=ccy,
            liquidity="MAKER" if maker else "TAKER",
            venue_ts_ns=venue_ts,
            receive_ts_ns=seen_ts,
        )
        order.fills.append((order.cum, fill))
        return Reports([event], [fill])

    # ---- helpers ------------------------------------------------------------------------

    def _live(self, instrument: str) -> list[_Order]:
        return [o for o in self._open() if o.req["instrument"] == instrument]

    def _put(self, cid: str, order: _Order) -> None:
        """``orders[cid] = order``, and the order joins (or moves to the end of) the open
        index, as it does in ``orders``."""
        self.orders[cid] = order
        self._working.pop(id(order), None)
        self._working[id(order)] = order

    def _open(self) -> list[_Order]:
        """The open orders, in ``orders``' order (closed ones leave the index here: a
        final status never reopens)."""
        closed = [k for k, o in self._working.items() if not o.is_open]
        for key in closed:
            del self._working[key]
        return list(self._working.values())

    def _validate(self, order: _Order) -> str | None:
        req = order.req
        kind, tif = req["order_type"], req["time_in_force"]
        if req["venue"] != self.config.venue:
            return f"venue {req['venue']!r} is not this paper venue {self.config.venue!r}"
        if kind not in ("MARKET", "LIMIT", *STOP_TYPES):
            return f"unsupported order_type {kind}"
        if tif not in ("GTC", "IOC", "FOK", "DAY", "GTD"):
            return f"unsupported time_in_force {tif}"
        if req["quantity"] <= 0:
            return f"quantity {req['quantity']} must be positive"
        needs_limit = kind in ("LIMIT", "STOP_LIMIT")
        if needs_limit and (req.get("limit_price") is None or req["limit_price"] <= 0):
            return f"{kind} needs a positive limit_price"
        if kind in ("STOP", "STOP_LIMIT") and (
            req.get("stop_price") is None or req["stop_price"] <= 0
        ):
            return f"{kind} needs a positive stop_price"
        if kind == "TRAILING_STOP" and (req.get("trailing_offset") or ZERO) <= 0:
            return "TRAILING_STOP needs a positive trailing_offset"
        if req.get("post_only") and (kind != "LIMIT" or tif in ("IOC", "FOK")):
            return "post_only needs a LIMIT order resting (GTC, DAY or GTD)"
        if tif == "GTD" and (req.get("expire_ts_ns") or 0) <= self.now_ns:
            return f"GTD expire_ts_ns {req.get('expire_ts_ns')} is not after now {self.now_ns}"
        book = self.books.get(req["instrument"])
        if kind == "MARKET" and (book is None or not book.synced):
            return f"no book for {req['instrument']} on {self.config.venue}"
        return None

    def position(self, account: str, instrument: str) -> Decimal:
        """Signed position of ``account`` in ``instrument`` from this venue's fills."""
        return self.positions.get((account, instrument), ZERO)

    def _reducible(self, order: _Order) -> Decimal:
        """How much ``order`` may still fill without increasing its account's position:
        the long for a sell, the short for a buy, 0 when flat or on the same side."""
        pos = self.position(order.req["account"], order.req["instrument"])
        return max(pos if order.req["side"] == "SELL" else -pos, ZERO)

    def _fit_reduce_only(self, order: _Order) -> str | None:
        """At arrival (like Binance futures): a reduce-only order that cannot reduce is
        rejected (Binance -2022 "ReduceOnly Order is rejected"); one larger than the
        position is cut to the position (the cut is noted in the NEW event's text)."""
        req = order.req
        room = self._reducible(order)
        pos = self.position(req["account"], req["instrument"])
        if room == 0:
            need = "long" if req["side"] == "SELL" else "short"
            return (
                f"reduce-only {req['side']} {req['quantity']} rejected: it would increase "
                f"the position of account {req['account']!r} in {req['instrument']} on "
                f"{self.config.venue} (position {pos}; a reduce-only {req['side']} needs a "
                f"{need} position)"
            )
        if req["quantity"] > room:
            order.req = {**req, "quantity": room}
            order.text = self._note(
                order, f"reduce-only quantity {req['quantity']} -> {room} (position {pos})"
            )
        return None

    def _shrink_reduce_only(self, order: _Order, venue_ts: int, out: Reports) -> bool:
        """Before a reduce-only order fills: if the position shrank (other fills) so that
        its remainder would increase the position, cut the remainder to what is left
        (``RESTATED``) or cancel it when nothing is left. False when canceled."""
        room = self._reducible(order)
        if order.leaves <= room:
            return True
        pos = self.position(order.req["account"], order.req["instrument"])
        if room == 0:
            order.status = "CANCELED"
            text = self._note(order, f"reduce-only: position now {pos}, nothing to reduce")
            out.events.append(self._event(order, "CANCELED", venue_ts, text=text))
            self._watcher.remove(order.req["client_order_id"])
            return False
        old = order.req["quantity"]
        order.req = {**order.req, "quantity": order.cum + room}
        text = self._note(
            order, f"reduce-only quantity {old} -> {order.req['quantity']} (position now {pos})"
        )
        out.events.append(self._event(order, "RESTATED", venue_ts, text=text))
        return True

    def _quarantine(self, recovered: ReconcileOrder, out: LiveReports) -> None:
        """An order this venue does not know: the ccxt venue's quarantine records."""
        req = recovered.request
        cid = recovered.client_order_id
        self._seen.add(cid)
        if recovered.quarantined:
            return
        why = f"paper venue {self.config.venue} has no order {cid!r} of {recovered.account!r}"
        text = quarantine_text(why)
        seq = recovered.venue_seq + 1
        out.events.append(
            reports.order_event(
                req,
                event_id=reports.venue_event_id(self.config.venue, recovered.account, cid, seq),
                venue=self.config.venue,
                account=recovered.account,
                status="UNKNOWN",
                exec_type="ORDER_STATUS",
                cum_qty=recovered.cum_qty,
                leaves_qty=ZERO,
                event_ts_ns=self.now_ns,
                client_order_id=cid,
                venue_order_id=recovered.venue_order_id,
                avg_price=recovered.avg_price,
                text=text,
            )
        )
        out.alerts.append(
            Alert(
                alert_id=f"venue:{self.config.venue}:quarantine:{recovered.account}:{cid}:{seq}",
                severity="CRITICAL",
                source=f"venue:{self.config.venue}",
                code=QUARANTINE_ALERT,
                message=f"order {cid} on {self.config.venue}/{recovered.account}: {text}",
                labels={
                    "venue": self.config.venue,
                    "account": recovered.account,
                    "instrument": str(req["instrument"]),
                    "client_order_id": cid,
                },
                event_ts_ns=self.now_ns,
            )
        )

    def _post_only_problem(self, order: _Order) -> str | None:
        req = order.req
        if not req.get("post_only"):
            return None
        book = self.books.get(req["instrument"])
        best = book.best(book.opposite(req["side"])) if book else None
        if best is not None and crosses(req["side"], req["limit_price"], best):
            return f"post-only {req['side']} at {req['limit_price']} would cross best {best}"
        return None

    def _queue_ahead(self, order: _Order) -> Decimal:
        book = self.books.get(order.req["instrument"])
        if book is None or order.working_type != "LIMIT":
            return ZERO
        own = "bids" if order.req["side"] == "BUY" else "asks"
        return book.size_at(own, order.req["limit_price"])

    def _expiry(self, req: Record) -> int | None:
        if req["time_in_force"] == "GTD":
            return int(req["expire_ts_ns"])
        if req["time_in_force"] == "DAY":
            return (self.now_ns // NS_PER_DAY + 1) * NS_PER_DAY
        return None

    @staticmethod
    def _note(order: _Order, text: str) -> str:
        return f"{order.text}; {text}" if order.text else text

    def _reject_request(self, request: Record, text: str, exec_type: str = "REJECTED") -> Reports:
        """Reject a request that matches no live order (or a duplicate id)."""
        self._seq += 1
        shell = _Order(req=request, venue_order_id="", seq=self._seq, status="REJECTED")
        existing = self.orders.get(request["client_order_id"])
        event = self._event(shell, exec_type, self.now_ns, text=text)
        event_id = f"{self.config.id_head}:reject:{self._seq}"
        if existing is not None:  # duplicate: report, do not change the live order's state
            event = event.replace(
                event_id=event_id,
                status=existing.status,
                venue_order_id=existing.venue_order_id,
            )
        else:
            event = event.replace(event_id=event_id, venue_order_id=None)
        return Reports([event], [])

    def _event(
        self,
        order: _Order,
        exec_type: str,
        venue_ts: int,
        *,
        event_ts: int | None = None,
        text: str | None = None,
        last_qty: Decimal | None = None,
        last_price: Decimal | None = None,
        exec_id: str | None = None,
    ) -> OrderEvent:
        req = order.req
        order.n_events += 1
        if order.status in FINAL and not order.retired:
            self._retire(order)
        return reports.order_event(
            req,
            event_id=f"{self.config.venue}:{order.venue_order_id}:{order.n_events}",
            venue=self.config.venue,
            account=req["account"],
            status=order.status,
            exec_type=exec_type,
            cum_qty=order.cum,
            leaves_qty=order.leaves,
            event_ts_ns=venue_ts if event_ts is None else event_ts,
            orig_client_order_id=order.orig_id,
            venue_order_id=order.venue_order_id or None,
            avg_price=q18(order.notional / order.cum) if order.cum else None,
            last_qty=last_qty,
            last_price=last_price,
            exec_id=exec_id,
            text=text,
            emulated=order.emulated,
            venue_ts_ns=venue_ts,
        )

    def _retire(self, order: _Order) -> None:
        """Queue a final order for eviction; forget the oldest past ``retain_final``."""
        cid = order.req["client_order_id"]
        if self.orders.get(cid) is not order:  # a reject's shell, never held
            return
        order.retired = True
        self._final.append(cid)
        while len(self._final) > self.config.retain_final:
            old = self.orders.get(self._final.popleft())
            if old is not None and not old.is_open:
                del self.orders[old.req["client_order_id"]]


def _amendable(request: Record) -> MutableRecord:
    keys = (
        "quantity",
        "limit_price",
        "stop_price",
        "trailing_offset",
        "time_in_force",
        "expire_ts_ns",
    )
    return {k: request.get(k) for k in keys if k in request}
