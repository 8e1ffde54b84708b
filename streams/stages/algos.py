"""The execution algos as a parent engine: :class:`AlgoStageEngine` over
:class:`~tapewire.streams.algos.AlgoEngine`.

It takes the parents whose ``algo`` is ``TWAP``, ``VWAP``, ``POV``, ``ICEBERG``, ``OCO``
or ``BRACKET`` (the SOR takes ``SOR``), their params from the record's ``params`` map
(:func:`~tapewire.streams.stages.algo_params.algo_request`), and works them in the
parent stage: slices on the stage's timer (``on_timer`` after every input, with the
stage's clock), POV's volume from ``md.trades``, capped slice prices from ``md.book``,
the children's reports and risk denials (as REJECTED reports) folded in.

Journal: one ``ParentOrderEvent`` per algo event, ``algo`` = the kind, ``event_type`` the
event's class (``AlgoNew``, ``LegEvent``, ``SliceDue``, ``VolumeObserved``,
``AlgoCanceled``), ``event`` its tagged JSON; the state columns are the algo's (its
primary leg: ``main``, a bracket's ``entry``, the OCO leg that filled). Records with
``algo`` ``SOR`` (and ``ParentRejected`` answers) are not its own: the ``algo`` column
tells the engines' records apart on the one journal topic.

Children caused by a report, a trade or a book (an iceberg's next part, an OCO's cancel,
a bracket's exits, a POV slice) are journaled at once and handed out by the next
``on_timer`` call, which the stage makes after every input: journal first, children
after, as the stage's contract requires.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import Decimal

import msgspec

from tapewire.core.exact import ZERO, sub
from tapewire.records.market import BookUpdate, Trade
from tapewire.records.orders import Fill, OrderEvent, ParentOrderEvent
from tapewire.records.orders import ParentRequest as ParentRequestRecord
from tapewire.records.positions import Position
from tapewire.streams.algos import (
    AlgoConfig,
    AlgoEngine,
    AlgoError,
    AlgoEvent,
    AlgoKind,
    AlgoNew,
    AlgoOrder,
    BracketParams,
    OcoParams,
)
from tapewire.streams.algos.work import KIND_TAG, LEG_TAG, PARENT_TAG
from tapewire.streams.oms.enums import OrderType, TimeInForce
from tapewire.streams.oms.request import OrderRequest
from tapewire.streams.sor import SorError
from tapewire.streams.sor.parent import ChildState, ParentOrder
from tapewire.streams.stages.algo_params import algo_request
from tapewire.streams.trading.config import TradingConfig

log = logging.getLogger(__name__)

ALGOS = tuple(kind.value for kind in AlgoKind)
_EVENT: msgspec.json.Decoder[AlgoEvent] = msgspec.json.Decoder(AlgoEvent)


def algo_config(trading: TradingConfig) -> AlgoConfig:
    """The algos' venues: every paper venue of ``trading``, with its rules (lot, tick)."""
    from tapewire.streams.stages.sor import sor_config

    return AlgoConfig(sor_config(trading).venues)


class AlgoStageEngine:
    """The :class:`~tapewire.streams.stages.parent_engine.ParentEngine` of the execution
    algos (see the module doc)."""

    algos: tuple[str, ...] = ALGOS

    def __init__(self, config: AlgoConfig | None = None) -> None:
        self.engine = AlgoEngine(config)
        self._shadow: dict[str, AlgoOrder] = {}  # each algo as of its last record
        self._seq: dict[str, int] = {}  # records per algo so far
        self._pending: list[OrderRequest] = []  # children for the next on_timer

    # --- inputs ----------------------------------------------------------------------

    def submit(self, request: ParentRequestRecord, now_ns: int) -> list[OrderRequest]:
        """Take a NEW algo parent (``AlgoRequestError`` names a bad field)."""
        return self.engine.submit(algo_request(request, now_ns), now_ns)

    def knows(self, parent_id: str) -> bool:
        """True when the engine has this algo order."""
        return parent_id in self.engine.algos

    def cancel(self, parent_id: str, now_ns: int, reason: str = "") -> list[OrderRequest]:
        """Cancel an algo order (``UnknownAlgoError`` for an unknown id)."""
        return self.engine.cancel(parent_id, now_ns, reason)

    def on_book(self, update: BookUpdate) -> None:
        """The book that prices capped slices (``max_slippage_bps``)."""
        self.engine.on_book(update)

    def on_trade(self, trade: Trade) -> None:
        """A public trade: POV's volume."""
        self._pending += self.engine.on_trade(trade)

    def on_order_event(self, event: OrderEvent) -> bool:
        """A child's execution report (a risk denial arrives as a REJECTED one)."""
        if event.client_order_id not in self.engine.child_leg:
            return False
        self._pending += self.engine.on_order_event(event)
        return True

    def on_fill(self, fill: Fill) -> bool:
        """A child's fill."""
        if fill.client_order_id not in self.engine.child_leg:
            return False
        self._pending += self.engine.on_fill(fill)
        return True

    def on_position(self, position: Position) -> None:
        """Not used: the algos trade what they are asked, the risk gate checks balances."""

    def on_timer(self, now_ns: int) -> list[OrderRequest]:
        """Children caused by the last input, then the slices and ends due at ``now_ns``."""
        out, self._pending = self._pending, []
        due = self.engine.next_timer_ns()
        if due is not None and due <= now_ns:
            out += self.engine.on_timer(now_ns)
        return out

    # --- journal ---------------------------------------------------------------------

    def take_events(self) -> list[ParentOrderEvent]:
        """The engine's new events as journal records, with the algo's state after each."""
        out = []
        for event in self.engine.take_events():
            if isinstance(event, AlgoNew):
                algo = AlgoOrder.from_event(event)
            else:
                algo = self._shadow[event.algo_id].apply(event)
            self._shadow[event.algo_id] = algo
            n = self._seq.get(event.algo_id, 0) + 1
            self._seq[event.algo_id] = n
            out.append(_record(algo, event, n))
        return out

    def restore(self, journal: Iterable[ParentOrderEvent], now_ns: int) -> list[OrderRequest]:
        """Rebuild every algo order from its records (other engines' records, duplicates
        and records that no longer apply are skipped, the last two with a warning); the
        requests of the open children."""
        seen: set[str] = set()
        for record in journal:
            if record.algo not in ALGOS or record.event_type == "ParentRejected":
                continue
            if record.event_id in seen:
                continue
            seen.add(record.event_id)
            try:
                self.engine.restore([_EVENT.decode(record.event)])
            except (msgspec.DecodeError, AlgoError, SorError) as exc:
                log.warning("algo restore: %s skipped: %s", record.event_id, exc)
                continue
            n = int(record.event_id.rpartition(":")[2] or 0)
            self._seq[record.parent_id] = max(self._seq.get(record.parent_id, 0), n)
        self._shadow = dict(self.engine.algos)
        requested_by = self.engine.config.requested_by
        # children the reports folded in since caused are open too: sent once, as sent
        pending, self._pending = self._pending, []
        caused = {r.client_order_id for r in pending}
        return [
            _child_request(algo, leg, child, now_ns, requested_by)
            for _, algo in sorted(self.engine.algos.items())
            for leg, parent in sorted(algo.legs.items())
            if not parent.is_final
            for child in sorted(parent.open_children, key=lambda c: c.client_order_id)
            if child.client_order_id not in caused
        ] + pending


def _record(algo: AlgoOrder, event: AlgoEvent, n: int) -> ParentOrderEvent:
    request = algo.request
    primary = algo.primary
    legs = list(algo.legs.values())
    leaves = ZERO if algo.is_done else sub(request.quantity, algo.cum_qty)
    return ParentOrderEvent(
        event_id=f"{algo.algo_id}:{n}",
        parent_id=algo.algo_id,
        account=request.account,
        algo=algo.kind.value,
        instrument=request.instrument,
        side=request.side.value,
        event_type=type(event).__name__,
        event=msgspec.json.encode(event).decode(),
        status=algo.status.value,
        quantity=request.quantity,
        limit_price=request.limit_price,
        cum_qty=algo.cum_qty,
        leaves_qty=max(leaves, ZERO),
        avg_price=primary.avg_price if primary is not None else None,
        avg_price_with_fees=primary.avg_price_with_fees() if primary is not None else None,
        children=sum(len(leg.children) for leg in legs),
        open_children=sum(len(leg.open_children) for leg in legs),
        waves=sum((leg.waves for leg in legs), 0),
        strategy_id=request.strategy_id,
        event_ts_ns=event.ts_ns,
    )


def _child_request(
    algo: AlgoOrder, leg: str, child: ChildState, now_ns: int, requested_by: str
) -> OrderRequest:
    """An open child's request as the algo sent it (order type and time in force follow
    from the algo and the leg; a slice's ``algo.slice`` tag is not kept)."""
    request = algo.request
    parent: ParentOrder = algo.leg_of(leg)
    order_type, tif, stop = _terms(algo, leg, child)
    return OrderRequest(
        client_order_id=child.client_order_id,
        account=request.account,
        venue=child.venue,
        instrument=request.instrument,
        side=parent.side,
        order_type=order_type,
        time_in_force=tif,
        quantity=child.quantity,
        limit_price=child.limit_price,
        stop_price=stop,
        strategy_id=request.strategy_id,
        requested_by=requested_by,
        request_ts_ns=now_ns,
        tags={PARENT_TAG: algo.algo_id, KIND_TAG: algo.kind.value, LEG_TAG: leg},
    )


def _terms(
    algo: AlgoOrder, leg: str, child: ChildState
) -> tuple[OrderType, TimeInForce, Decimal | None]:
    """Order type, time in force and stop price of a child of ``leg`` (``streams/algos``:
    ``scheduled``/``pov`` slices, ``iceberg`` parts, ``linked`` legs)."""
    params = algo.request.params
    priced = OrderType.LIMIT if child.limit_price is not None else OrderType.MARKET
    if isinstance(params, OcoParams):
        terms = params.first if leg == "a" else params.second
        return terms.order_type, params.time_in_force, terms.stop_price
    if isinstance(params, BracketParams):
        if leg.startswith("tp"):
            return OrderType.LIMIT, params.exit_time_in_force, None
        if leg.startswith("sl"):
            stop_type = OrderType.STOP if child.limit_price is None else OrderType.STOP_LIMIT
            return stop_type, params.exit_time_in_force, params.stop_loss_price
        return priced, params.entry_time_in_force, None
    if algo.kind is AlgoKind.ICEBERG:
        return OrderType.LIMIT, TimeInForce.GTC, None
    return priced, TimeInForce.IOC, None
