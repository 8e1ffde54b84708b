"""The smart order router as a parent engine: :class:`SorEngine` over
:class:`~tapewire.streams.sor.SmartOrderRouter`.

It takes the parents whose ``algo`` is ``SOR``, keeps the consolidated book from
``md.book``, routes waves of LIMIT IOC children (``oms.requests``), folds their fills and
final reports (and risk denials, as REJECTED reports) into the parents, and re-routes a
remainder once the book changed (:meth:`SorEngine.on_timer`). Its journal records carry
the core's events as JSON (``tapewire.streams.sor.parent``), so :meth:`SorEngine.restore`
rebuilds the very same parents.

Balances (what a venue may spend): the account's ``positions`` records, where there are
any: a spot position of ``quantity`` base on a venue lets a sell take at most that much
there (the sum over the venue's instruments with that base; negative counts as 0). Without
a position record for a (venue, base), and for every buy (no cash balance is published
yet), the router assumes no limit (``UNLIMITED``); the risk gate's limits still apply to
each child.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal

import msgspec

from tapewire.core.exact import ZERO, add
from tapewire.core.instruments import Instrument, MarketType
from tapewire.records.market import BookUpdate, Trade
from tapewire.records.orders import Fill, OrderEvent, ParentOrderEvent
from tapewire.records.orders import ParentRequest as ParentRequestRecord
from tapewire.records.positions import Position
from tapewire.streams.aggregate import ConsolidatedBook, NbboConfig
from tapewire.streams.oms.enums import Side
from tapewire.streams.oms.errors import OrderValidationError
from tapewire.streams.oms.request import OrderRequest
from tapewire.streams.sor import (
    Balances,
    ParentEvent,
    ParentNew,
    ParentOrder,
    ParentRequest,
    SmartOrderRouter,
    SorConfig,
    SorError,
    VenueTerms,
    child_request,
)
from tapewire.streams.trading.config import TradingConfig

log = logging.getLogger(__name__)

ALGO = "SOR"
_EVENT: msgspec.json.Decoder[ParentEvent] = msgspec.json.Decoder(ParentEvent)


def sor_config(trading: TradingConfig, depth_levels: int = 20) -> SorConfig:
    """The router's venues: every paper venue of ``trading``, with its fees and rules."""
    return SorConfig(
        tuple(VenueTerms(v.venue, v.fees, v.rules) for v in trading.paper_venues),
        depth_levels=depth_levels,
    )


class SorEngine:
    """The :class:`~tapewire.streams.stages.parent_engine.ParentEngine` of the SOR."""

    algo = ALGO
    algos: tuple[str, ...] = (ALGO,)

    def __init__(self, config: SorConfig, nbbo: NbboConfig | None = None) -> None:
        self.router = SmartOrderRouter(config, ConsolidatedBook(nbbo))
        self._shadow: dict[str, ParentOrder] = {}  # each parent as of its last record
        self._seq: dict[str, int] = {}  # records per parent so far
        self._holdings: dict[tuple[str, str, str], Decimal] = {}  # (account, venue, instr.)

    # --- inputs ----------------------------------------------------------------------

    def submit(self, request: ParentRequestRecord, now_ns: int) -> list[OrderRequest]:
        """Take a NEW SOR parent and route its first wave."""
        if request.params:
            raise _bad("params", dict(request.params), "SOR takes no params: leave it empty")
        try:
            side = Side(request.side)
        except ValueError:
            raise _bad("side", request.side, "must be BUY or SELL") from None
        parent = ParentRequest(
            parent_id=request.parent_id,
            account=request.account,
            instrument=request.instrument,
            side=side,
            quantity=request.quantity,
            request_ts_ns=request.request_ts_ns,
            limit_price=request.limit_price,
            venues=tuple(request.venues),
            strategy_id=request.strategy_id,
        )
        return self.router.submit(parent, now_ns, self.balances(request.account))

    def knows(self, parent_id: str) -> bool:
        """True when the router has this parent."""
        return parent_id in self.router.parents

    def cancel(self, parent_id: str, now_ns: int, reason: str = "") -> list[OrderRequest]:
        """Cancel a parent (``UnknownParentError`` for an unknown id)."""
        return self.router.cancel(parent_id, now_ns, reason)

    def on_book(self, update: BookUpdate) -> None:
        """Feed the consolidated book."""
        self.router.on_book(update)

    def on_trade(self, trade: Trade) -> None:
        """Not used: the router works from the books."""

    def on_order_event(self, event: OrderEvent) -> bool:
        """A child's execution report (final ones end the child)."""
        return self.router.on_order_event(event)

    def on_fill(self, fill: Fill) -> bool:
        """A child's fill."""
        return self.router.on_fill(fill)

    def on_position(self, position: Position) -> None:
        """Remember the base an account holds on a venue (spot instruments only)."""
        try:
            instrument = Instrument.parse(position.instrument)
        except Exception:  # not canonical: not a balance the router can use
            return
        if instrument.type is MarketType.SPOT:
            key = (position.account, position.venue, position.instrument)
            self._holdings[key] = position.quantity

    def on_timer(self, now_ns: int) -> list[OrderRequest]:
        """Re-route every parent whose children are done, once the book changed."""
        return self.router.reroute(now_ns, lambda parent: self.balances(parent.account))

    def balances(self, account: str) -> Balances:
        """What each venue may spend for ``account`` (see the module doc)."""
        amounts: dict[tuple[str, str], Decimal] = {}
        for (owner, venue, instrument), quantity in self._holdings.items():
            if owner == account:
                key = (venue, Instrument.parse(instrument).base)
                amounts[key] = add(amounts.get(key, ZERO), quantity)
        return Balances({k: max(v, ZERO) for k, v in amounts.items()})

    # --- journal ---------------------------------------------------------------------

    def take_events(self) -> list[ParentOrderEvent]:
        """The router's new events as journal records, with each parent's state after."""
        out = []
        for event in self.router.take_events():
            known = self._shadow.get(event.parent_id)
            if isinstance(event, ParentNew):
                parent = ParentOrder.from_event(event)
            else:
                assert known is not None  # the router applied it: the parent exists
                parent = known.apply(event)
            self._shadow[event.parent_id] = parent
            n = self._seq.get(event.parent_id, 0) + 1
            self._seq[event.parent_id] = n
            out.append(_record(parent, event, n))
        return out

    def restore(self, journal: Iterable[ParentOrderEvent], now_ns: int) -> list[OrderRequest]:
        """Rebuild every SOR parent from its records (duplicates and records that no
        longer apply are skipped with a warning); the requests of its open children."""
        seen: set[str] = set()
        for record in journal:
            if record.algo != ALGO or record.event_id in seen:
                continue
            seen.add(record.event_id)
            try:
                event = _EVENT.decode(record.event)
                self.router.restore([event])
            except (msgspec.DecodeError, SorError) as exc:
                log.warning("sor restore: %s skipped: %s", record.event_id, exc)
                continue
            n = int(record.event_id.rpartition(":")[2] or 0)
            self._seq[record.parent_id] = max(self._seq.get(record.parent_id, 0), n)
        self._shadow = dict(self.router.parents)
        return [
            child_request(parent, child, child.wave, now_ns, self.router.config.requested_by)
            for parent_id, parent in sorted(self.router.parents.items())
            for child in sorted(parent.open_children, key=lambda c: c.client_order_id)
            if not parent.is_final
        ]


def _record(parent: ParentOrder, event: ParentEvent, n: int) -> ParentOrderEvent:
    return ParentOrderEvent(
        event_id=f"{parent.parent_id}:{n}",
        parent_id=parent.parent_id,
        account=parent.account,
        algo=ALGO,
        instrument=parent.instrument,
        side=parent.side.value,
        event_type=type(event).__name__,
        event=msgspec.json.encode(event).decode(),
        status=parent.status.value,
        quantity=parent.quantity,
        limit_price=parent.limit_price,
        cum_qty=parent.cum_qty,
        leaves_qty=parent.leaves_qty,
        avg_price=parent.avg_price,
        avg_price_with_fees=parent.avg_price_with_fees(),
        children=len(parent.children),
        open_children=len(parent.open_children),
        waves=parent.waves,
        strategy_id=parent.strategy_id,
        event_ts_ns=parent.updated_ts_ns,
    )


def _bad(field: str, value: object, message: str) -> OrderValidationError:
    return OrderValidationError(
        f"parent order {field}={value!r}: {message}", field=field, value=value, hint=f"fix {field}"
    )
