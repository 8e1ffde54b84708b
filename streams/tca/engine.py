"""The TCA core's incremental state: records in, a report per finished order and parent out.

:class:`TcaEngine` reads approvals (the request: arrival time, quantity, parent tag),
execution reports, fills, the NBBO, venue quotes and market trades, in any interleaving,
and returns a :class:`~tapewire.records.tca.TcaReport`

* for an order once it is *done* (terminal report and all its fills, see
  :mod:`~tapewire.streams.tca.orders`);
* for a parent each time every child it knows of is done (``revision`` 1, 2, ...: a
  later wave of children re-issues it; the latest revision is the parent's report).

Arrival mid = the NBBO mid at or before the request time (the order's instrument mapped
by ``mark_id``, as the NBBO groups it), else the order venue's quote mid at or before it,
else the NBBO mid the risk gate saw (``reference_price``), else none (figures that need it
are null and ``note`` says why). Times are local receive times (``receive_ts_ns``), as
the request times strategies stamp. Every collection is bounded by :class:`TcaConfig`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from tapewire.core.instruments import InstrumentError
from tapewire.records.market import ConsolidatedQuote, Quote, Trade
from tapewire.records.orders import Fill, OrderEvent
from tapewire.records.risk import RiskDecision
from tapewire.records.tca import TcaReport
from tapewire.streams.tca.config import QTY_SUFFIX, TcaConfig
from tapewire.streams.tca.market import (
    Interval,
    MarketTrade,
    Mid,
    MidHistory,
    RecentTrades,
)
from tapewire.streams.tca.orders import (
    TERMINAL,
    Fills,
    OrderTca,
    ParentTca,
    Terms,
    currencies,
    report,
)

Key = tuple[str, str]
"""(account, client order id) or (account, parent id)."""


@dataclass
class TcaStats:
    """Counts for metrics and logs."""

    orders: int = 0
    parents: int = 0
    evicted: int = 0
    late: int = 0
    """Records of an order already reported (ignored: its report is out)."""


class TcaEngine:
    """Per-order and per-parent transaction cost analysis over the order and market streams."""

    def __init__(
        self, config: TcaConfig | None = None, mark_id: Callable[[str], str] = str
    ) -> None:
        self.config = config or TcaConfig()
        self.mark_id = mark_id
        self.stats = TcaStats()
        self._nbbo: dict[str, MidHistory] = {}
        self._quotes: dict[tuple[str, str], MidHistory] = {}
        self._recent: dict[str, RecentTrades] = {}
        self._intervals: dict[str, dict[tuple[str, str, str], Interval]] = {}
        self._orders: OrderedDict[Key, OrderTca] = OrderedDict()
        self._parents: OrderedDict[Key, ParentTca] = OrderedDict()
        self._finished: OrderedDict[Key, None] = OrderedDict()
        self._out: list[TcaReport] = []
        self._marks: dict[str, str] = {}
        """``mark_id`` per instrument id read (one entry per instrument traded)."""

    # --- market data -------------------------------------------------------------------

    def on_nbbo(self, nbbo: ConsolidatedQuote) -> None:
        """Keep the NBBO (timed by its newest input's receive time)."""
        bid_ts, ask_ts = nbbo.bid_receive_ts_ns, nbbo.ask_receive_ts_ns
        if bid_ts is not None and ask_ts is not None:
            ts = max(bid_ts, ask_ts)
        elif bid_ts is not None:
            ts = bid_ts
        else:
            ts = ask_ts if ask_ts is not None else nbbo.process_ts_ns
        history = self._nbbo.get(nbbo.instrument)
        if history is None:
            history = self._nbbo[nbbo.instrument] = MidHistory(self.config.mid_history, "NBBO")
        history.add(ts, nbbo.bid_price, nbbo.ask_price)

    def on_quote(self, quote: Quote) -> None:
        """Keep a venue's quote."""
        key = (quote.venue, quote.instrument)
        history = self._quotes.get(key)
        if history is None:
            history = self._quotes[key] = MidHistory(self.config.mid_history, "QUOTE")
        history.add(quote.receive_ts_ns, quote.bid_price, quote.ask_price)

    def on_trade(self, trade: Trade) -> None:
        """Count a market trade in every open interval of its instrument."""
        instrument = self._marks.get(trade.instrument)
        if instrument is None:  # InstrumentError: a bad trade (not cached)
            instrument = self._marks[trade.instrument] = self.mark_id(trade.instrument)
        kept = MarketTrade(trade.receive_ts_ns, trade.price, trade.size)
        recent = self._recent.get(instrument)
        if recent is None:
            recent = self._recent[instrument] = RecentTrades(self.config.trade_history)
        recent.add(kept)
        intervals = self._intervals.get(instrument)
        if intervals:
            for interval in intervals.values():
                interval.add(kept.ts_ns, kept.price, kept.size)

    def _mark(self, instrument: str) -> str:
        mark = self._marks.get(instrument)
        if mark is None:
            try:
                mark = self.mark_id(instrument)
            except InstrumentError:  # not canonical: no NBBO matches, its venue quote may
                return instrument
            self._marks[instrument] = mark
        return mark

    def mid_at(self, instrument: str, venue: str | None, ts_ns: int) -> Mid | None:
        """The NBBO mid at or before ``ts_ns``, else the venue's quote mid."""
        nbbo = self._nbbo.get(self._mark(instrument))
        found = nbbo.at(ts_ns) if nbbo is not None else None
        if found is None and venue is not None:
            quotes = self._quotes.get((venue, instrument))
            found = quotes.at(ts_ns) if quotes is not None else None
        return found

    # --- orders ------------------------------------------------------------------------

    def on_approved(self, decision: RiskDecision) -> list[TcaReport]:
        """Take a NEW order's terms from its approval (other actions change nothing)."""
        request = decision.request
        if decision.decision != "APPROVED" or request.action != "NEW":
            return []
        key = (request.account, request.client_order_id)
        if key in self._finished:
            self.stats.late += 1
            return []
        parent_id, parent_qty, notes = self._parent_tags(request.tags)
        terms = Terms(
            account=request.account,
            order_id=request.client_order_id,
            instrument=request.instrument,
            side=request.side,
            quantity=request.quantity,
            arrival_ts_ns=request.request_ts_ns,
            venue=request.venue,
            strategy_id=request.strategy_id,
            parent_id=parent_id,
        )
        order = self._orders.get(key)
        if order is None:
            order = self._open(terms)
        else:  # execution reports came first: the request's terms replace theirs
            order.terms = terms
            order.interval = self._watch(("O", *key), request.instrument, terms.arrival_ts_ns)
        order.approved = True
        order.arrival = self.mid_at(request.instrument, request.venue, request.request_ts_ns)
        if order.arrival is None:
            order.arrival = _reference(decision)
        if parent_id is not None:
            self._join_parent(order, parent_qty, notes)
        self._finish_if_done(order)
        return self._take()

    def on_event(self, event: OrderEvent) -> list[TcaReport]:
        """An execution report: a terminal one ends the order once its fills are in."""
        key = (event.account, event.client_order_id)
        if event.exec_type == "REPLACED" and event.orig_client_order_id:
            self._rename((event.account, event.orig_client_order_id), key, event.quantity)
        if key in self._finished:
            self.stats.late += 1
            return []
        order = self._orders.get(key)
        if order is None:
            order = self._open(_terms_of(event, event.quantity, event.event_ts_ns))
        elif not order.approved:
            order.terms.quantity = event.quantity
        order.status = event.status
        if event.status in TERMINAL:
            order.final_cum = event.cum_qty
            order.end_ts_ns = event.event_ts_ns
        self._finish_if_done(order)
        return self._take()

    def on_fill(self, fill: Fill) -> list[TcaReport]:
        """A fill of an order (counted once per ``fill_id``)."""
        key = (fill.account, fill.client_order_id)
        if key in self._finished:
            self.stats.late += 1
            return []
        order = self._orders.get(key)
        if order is None:
            order = self._open(_terms_of(fill, None, fill.receive_ts_ns))
        order.add_fill(fill)
        self._finish_if_done(order)
        return self._take()

    @property
    def open_orders(self) -> int:
        """Orders followed now."""
        return len(self._orders)

    def restore(
        self,
        approvals: Iterable[RiskDecision],
        events: Iterable[OrderEvent],
        fills: Iterable[Fill],
    ) -> int:
        """Rebuild the open orders from a restarted process's own record (reports of
        orders already done are not made again); returns the number of open orders."""
        for decision in approvals:
            self.on_approved(decision)
        for event in events:
            self.on_event(event)
        for fill in fills:
            self.on_fill(fill)
        self._out.clear()
        self.stats = TcaStats()
        return len(self._orders)

    # --- internals ---------------------------------------------------------------------

    def _take(self) -> list[TcaReport]:
        out, self._out = self._out, []
        return out

    def _watch(self, key: tuple[str, str, str], instrument: str, start_ns: int) -> Interval:
        """A new interval from ``start_ns``, with the recent trades already read."""
        mark = self._mark(instrument)
        interval = Interval(start_ns)
        recent = self._recent.get(mark)
        if recent is not None:
            recent.fill(interval)
        self._intervals.setdefault(mark, {})[key] = interval
        return interval

    def _unwatch(self, key: tuple[str, str, str], instrument: str) -> None:
        mark = self._mark(instrument)
        intervals = self._intervals.get(mark)
        if intervals is not None:
            intervals.pop(key, None)
            if not intervals:
                del self._intervals[mark]

    def _open(self, terms: Terms) -> OrderTca:
        key = (terms.account, terms.order_id)
        if len(self._orders) >= self.config.max_open_orders:
            _, oldest = self._orders.popitem(last=False)
            oldest.evicted = True
            self.stats.evicted += 1
            self._finish(oldest)
        base, quote = currencies(terms.instrument)
        order = OrderTca(
            terms=terms,
            interval=self._watch(("O", *key), terms.instrument, terms.arrival_ts_ns),
            fills=Fills(base, quote),
            arrival=self.mid_at(terms.instrument, terms.venue, terms.arrival_ts_ns),
        )
        self._orders[key] = order
        return order

    def _rename(self, old: Key, new: Key, quantity: Decimal) -> None:
        """A replaced order goes on under its new id (same arrival, same fills)."""
        order = self._orders.pop(old, None)
        if order is None or new in self._orders:
            return
        self._unwatch(("O", *old), order.terms.instrument)
        order.terms.order_id = new[1]
        order.terms.quantity = quantity
        self._intervals.setdefault(self._mark(order.terms.instrument), {})[("O", *new)] = (
            order.interval
        )
        self._orders[new] = order
        self._remember(old)
        parent = self._parents.get((order.terms.account, order.terms.parent_id or ""))
        if parent is not None and old[1] in parent.open_children:
            parent.open_children.discard(old[1])
            parent.open_children.add(new[1])

    def _remember(self, key: Key) -> None:
        self._finished[key] = None
        if len(self._finished) > self.config.max_finished:
            self._finished.popitem(last=False)

    def _finish_if_done(self, order: OrderTca) -> None:
        if order.done:
            self._orders.pop((order.terms.account, order.terms.order_id), None)
            self._finish(order)

    def _finish(self, order: OrderTca) -> None:
        terms = order.terms
        key = (terms.account, terms.order_id)
        self._unwatch(("O", *key), terms.instrument)
        self._remember(key)
        notes = []
        if not order.approved:
            notes.append("no approval seen: arrival = first execution report or fill")
        if order.evicted:
            notes.append(
                f"evicted before a terminal state (tca max_open_orders = "
                f"{self.config.max_open_orders})"
            )
        end_ns = order.end_ns()
        self._out.append(
            report(
                "ORDER",
                terms,
                order.fills,
                order.interval,
                order.arrival,
                self.mid_at(terms.instrument, terms.venue, end_ns),
                status=order.status,
                end_ts_ns=end_ns,
                notes=notes,
            )
        )
        self.stats.orders += 1
        if terms.parent_id is not None:
            self._child_done(order, end_ns)

    # --- parents -----------------------------------------------------------------------

    def _parent_tags(self, tags: dict[str, str]) -> tuple[str | None, Decimal | None, list[str]]:
        for tag in self.config.parent_tags:
            parent_id = tags.get(tag)
            if parent_id:
                raw = tags.get(tag + QTY_SUFFIX)
                if raw is None:
                    return parent_id, None, []
                try:
                    qty = Decimal(raw)
                except InvalidOperation:
                    qty = None
                if qty is None or not qty.is_finite() or qty <= 0:
                    note = f"tag {tag}{QTY_SUFFIX}={raw!r} is not a positive quantity: ignored"
                    return parent_id, None, [note]
                return parent_id, qty, []
        return None, None, []

    def _join_parent(self, order: OrderTca, quantity: Decimal | None, notes: list[str]) -> None:
        terms = order.terms
        assert terms.parent_id is not None
        key = (terms.account, terms.parent_id)
        parent = self._parents.get(key)
        if parent is None:
            if len(self._parents) >= self.config.max_parents:
                (account, parent_id), oldest = self._parents.popitem(last=False)
                self._unwatch(("P", account, parent_id), oldest.terms.instrument)
            parent = ParentTca(
                terms=Terms(
                    account=terms.account,
                    order_id=terms.parent_id,
                    instrument=terms.instrument,
                    side=terms.side,
                    quantity=quantity,
                    arrival_ts_ns=terms.arrival_ts_ns,
                    strategy_id=terms.strategy_id,
                ),
                interval=self._watch(("P", *key), terms.instrument, terms.arrival_ts_ns),
                fills=Fills(order.fills.base, order.fills.quote),
                arrival=order.arrival,
                notes=list(notes),
            )
            self._parents[key] = parent
        elif parent.terms.quantity is None and quantity is not None:
            parent.terms.quantity = quantity
        parent.open_children.add(terms.order_id)

    def _child_done(self, order: OrderTca, end_ns: int) -> None:
        terms = order.terms
        parent = self._parents.get((terms.account, terms.parent_id or ""))
        if parent is None or terms.order_id not in parent.open_children:
            return  # forgotten (max_parents) or an order that never joined it
        parent.open_children.discard(terms.order_id)
        parent.done_children += 1
        parent.fills.merge(order.fills)
        parent.end_ts_ns = max(parent.end_ts_ns, end_ns)
        if parent.open_children:
            return
        parent.revision += 1
        self.stats.parents += 1
        p = parent.terms
        self._out.append(
            report(
                "PARENT",
                p,
                parent.fills,
                parent.interval,
                parent.arrival,
                self.mid_at(p.instrument, None, parent.end_ts_ns),
                status=_parent_status(parent),
                end_ts_ns=parent.end_ts_ns,
                notes=parent.notes,
                revision=parent.revision,
                children=parent.done_children,
            )
        )


def _parent_status(parent: ParentTca) -> str:
    filled, quantity = parent.fills.filled, parent.terms.quantity
    if quantity is not None and filled >= quantity:
        return "FILLED"
    return "PARTIALLY_FILLED" if filled > 0 else "UNFILLED"


def _terms_of(record: OrderEvent | Fill, quantity: Decimal | None, ts_ns: int) -> Terms:
    return Terms(
        account=record.account,
        order_id=record.client_order_id,
        instrument=record.instrument,
        side=record.side,
        quantity=quantity,
        arrival_ts_ns=ts_ns,
        venue=record.venue,
        strategy_id=record.strategy_id,
    )


def _reference(decision: RiskDecision) -> Mid | None:
    """The NBBO mid the risk gate saw, when it saw one."""
    price = decision.reference_price
    if price is None or price <= 0:
        return None
    ts = (
        decision.reference_ts_ns
        if decision.reference_ts_ns is not None
        else decision.decision_ts_ns
    )
    return Mid(price, ts, "RISK_REFERENCE")
