"""Positions and PnL from fills, marked to the NBBO mid (pure, exact).

:class:`PositionBook` keeps one position per (account, venue, instrument) from ``Fill``
records: signed quantity, average entry price, realized PnL (average-cost method), fees,
and unrealized PnL marked to the NBBO mid of the instrument's consolidated id. It also
derives the net position per (account, instrument) over venues, the exposure per asset,
alerts on limit breaches and the execution quality of each fill (slippage against the
arrival mid, i.e. the NBBO mid the risk gate recorded when it approved the order).

Arithmetic: sums and products are exact (a wide context that raises on rounding); the
only rounding is a division (average price, mid, bps), half-even to 18 places.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from tapewire.core.bounded import RecentKeys
from tapewire.core.exact import BPS, ZERO, add, div18, mul, round18, sub
from tapewire.core.instruments import Instrument
from tapewire.records.market import ConsolidatedQuote
from tapewire.records.orders import Fill
from tapewire.records.positions import Position as PositionRecord
from tapewire.records.risk import Alert, RiskDecision


@dataclass(frozen=True)
class PositionLimits:
    """Alert thresholds (not enforcement: the risk gate enforces). Missing = no alert."""

    max_position: Mapping[str, Decimal] = field(default_factory=dict)
    """Per instrument: max |net position over venues| of an account."""
    max_loss: Decimal | None = None
    """Per account: alert when realized + unrealized - fees <= -max_loss (pnl currency)."""
    max_slippage_bps: Decimal | None = None
    """Per fill: alert when slippage against the arrival mid exceeds this."""


@dataclass(slots=True)
class Position:
    """One account's position in one instrument on one venue."""

    account: str
    venue: str
    instrument: str
    pnl_currency: str
    quantity: Decimal = ZERO
    avg_price: Decimal | None = None
    realized_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    mark_price: Decimal | None = None
    mark_ts_ns: int | None = None
    last_fill_id: str | None = None
    update_ts_ns: int = 0

    @property
    def unrealized_pnl(self) -> Decimal:
        """``(mark - avg) * quantity``; 0 when flat or unmarked."""
        if self.mark_price is None or self.avg_price is None or self.quantity == ZERO:
            return ZERO
        return mul(sub(self.mark_price, self.avg_price), self.quantity)

    @property
    def total_pnl(self) -> Decimal:
        """Realized + unrealized - fees (fees charged in the pnl currency)."""
        return sub(add(self.realized_pnl, self.unrealized_pnl), self.fees)

    def to_record(self) -> PositionRecord:
        """The Avro ``Position`` record (topic ``positions``).

        State stays exact; PnL, fees and the mark are rounded half-even to 18 places only
        here, because products of 18-place prices and sizes have up to 36 places.
        """
        return PositionRecord(
            account=self.account,
            venue=self.venue,
            instrument=self.instrument,
            quantity=self.quantity,
            avg_price=self.avg_price,
            realized_pnl=round18(self.realized_pnl),
            unrealized_pnl=round18(self.unrealized_pnl),
            fees=round18(self.fees),
            mark_price=None if self.mark_price is None else round18(self.mark_price),
            mark_ts_ns=self.mark_ts_ns,
            pnl_currency=self.pnl_currency,
            last_fill_id=self.last_fill_id,
            update_ts_ns=self.update_ts_ns,
        )

    def apply(self, side: str, price: Decimal, qty: Decimal) -> None:
        """Average-cost accounting of one fill."""
        signed = qty if side == "BUY" else qty.copy_negate()
        old = self.quantity
        new = add(old, signed)
        if old == ZERO or (old > ZERO) == (signed > ZERO):  # opening or adding
            assert self.avg_price is not None or old == ZERO
            cost = add(mul(self.avg_price or ZERO, old.copy_abs()), mul(price, qty))
            self.avg_price = div18(cost, new.copy_abs())
        else:  # reducing, closing or flipping
            avg = self.avg_price or price
            closed = min(qty, old.copy_abs())
            direction = Decimal(1) if old > ZERO else Decimal(-1)
            self.realized_pnl = add(self.realized_pnl, mul(mul(sub(price, avg), closed), direction))
            if new == ZERO:
                self.avg_price = None
            elif (new > ZERO) != (old > ZERO):
                self.avg_price = price  # flipped: the remainder opened at this price
        self.quantity = new


@dataclass(frozen=True, slots=True)
class FillQuality:
    """Execution quality of one fill: cost against the arrival mid (positive = worse)."""

    fill_id: str
    venue: str
    arrival_mid: Decimal
    slippage: Decimal
    """Per unit, in price: ``(price - mid)`` for a buy, ``(mid - price)`` for a sell."""
    slippage_bps: Decimal


@dataclass(slots=True)
class Update:
    """What one input changed: Position records, Alert records, fill quality."""

    positions: list[PositionRecord] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    quality: list[FillQuality] = field(default_factory=list)


def _pnl_currency(instrument: str) -> str:
    parsed = Instrument.parse(instrument)
    return parsed.settle or parsed.quote


class PositionBook:
    """Positions of every account from ``Fill`` records; marks from ``md.nbbo``.

    ``mark_id`` maps an instrument to the NBBO id that marks it (default: itself; pass
    ``NbboConfig.consolidated_id`` when NBBO groups quote currencies). Fills are
    de-duplicated by ``fill_id`` (at-least-once inputs) over the last ``id_window`` fill
    ids; the arrival mids of the last ``id_window`` approved NEW orders are kept (a fill of
    an older order gets no fill quality).
    """

    def __init__(
        self,
        limits: PositionLimits | None = None,
        mark_id: Callable[[str], str] = str,
        *,
        id_window: int = 100_000,
    ) -> None:
        self.limits = limits or PositionLimits()
        self.mark_id = mark_id
        self._mark_ids: dict[str, str] = {}
        """``mark_id`` per instrument held (it parses the id: once per instrument)."""
        self.id_window = id_window
        self.positions: dict[tuple[str, str, str], Position] = {}
        self.marks: dict[str, tuple[Decimal, int]] = {}
        self.arrival: dict[tuple[str, str], Decimal] = {}
        self._fills: RecentKeys[str] = RecentKeys(id_window)
        self._breached: set[tuple[str, ...]] = set()

    # --- inputs ----------------------------------------------------------------------

    def on_approved(self, decision: RiskDecision) -> None:
        """Remember the arrival mid (``reference_price``) of an approved NEW order."""
        request = decision.request
        mid = decision.reference_price
        if decision.decision == "APPROVED" and request.action == "NEW" and mid:
            self.arrival[(request.account, request.client_order_id)] = mid
            if len(self.arrival) > self.id_window:
                del self.arrival[next(iter(self.arrival))]

    def on_nbbo(self, nbbo: ConsolidatedQuote) -> Update:
        """Re-mark every position marked by this NBBO; positions whose mark changed."""
        bid, ask = nbbo.bid_price, nbbo.ask_price
        out = Update()
        if bid is None or ask is None or bid <= ZERO or bid > ask:
            return out  # no usable mid: keep the last mark
        mid = div18(add(bid, ask), Decimal(2))
        ts = max(nbbo.bid_receive_ts_ns or 0, nbbo.ask_receive_ts_ns or 0)
        key = nbbo.instrument
        if self.marks.get(key, (None, 0))[0] == mid:
            self.marks[key] = (mid, ts)
            return out
        self.marks[key] = (mid, ts)
        for pos in self.positions.values():
            if self._mark_of(pos.instrument) == key:
                pos.mark_price, pos.mark_ts_ns = mid, ts
                pos.update_ts_ns = max(pos.update_ts_ns, ts)
                if pos.quantity != ZERO or pos.last_fill_id is not None:
                    out.positions.append(pos.to_record())
                self._check_loss(pos.account, ts, out)
        return out

    def _mark_of(self, instrument: str) -> str:
        mark = self._mark_ids.get(instrument)
        if mark is None:
            mark = self._mark_ids[instrument] = self.mark_id(instrument)
        return mark

    def on_fill(self, fill: Fill) -> Update:
        """Apply a ``Fill``; the position record, alerts and fill quality it gives."""
        out = Update()
        if fill.fill_id in self._fills:
            return out
        self._fills.add(fill.fill_id)
        key = (fill.account, fill.venue, fill.instrument)
        pos = self.positions.get(key)
        if pos is None:
            pos = self.positions[key] = Position(*key, _pnl_currency(fill.instrument))
            mark = self.marks.get(self.mark_id(fill.instrument))
            if mark is not None:
                pos.mark_price, pos.mark_ts_ns = mark
        pos.apply(fill.side, fill.price, fill.quantity)
        if fill.fee_currency in (None, pos.pnl_currency):
            pos.fees = add(pos.fees, fill.fee)
        pos.last_fill_id = fill.fill_id
        pos.update_ts_ns = max(pos.update_ts_ns, fill.receive_ts_ns)
        out.positions.append(pos.to_record())
        self._check_position(pos, fill.receive_ts_ns, out)
        self._check_loss(pos.account, fill.receive_ts_ns, out)
        self._quality(fill, out)
        return out

    # --- views -----------------------------------------------------------------------

    def net(self, account: str, instrument: str) -> Decimal:
        """Signed position of ``account`` in ``instrument`` over all venues."""
        total = ZERO
        for (acct, _, inst), pos in self.positions.items():
            if acct == account and inst == instrument:
                total = add(total, pos.quantity)
        return total

    def account_pnl(self, account: str) -> Decimal:
        """Total PnL of ``account`` over its positions (currencies are not converted)."""
        total = ZERO
        for pos in self.positions.values():
            if pos.account == account:
                total = add(total, pos.total_pnl)
        return total

    def exposure(self, account: str) -> dict[str, Decimal]:
        """Per asset: the base held (signed) and the quote spent/received (cash flow at
        average price, i.e. ``-quantity * avg_price``) plus realized PnL, minus fees."""
        out: dict[str, Decimal] = {}
        for pos in self.positions.values():
            if pos.account != account:
                continue
            parsed = Instrument.parse(pos.instrument)
            out[parsed.base] = add(out.get(parsed.base, ZERO), pos.quantity)
            cash = sub(pos.realized_pnl, pos.fees)
            if pos.avg_price is not None:
                cash = sub(cash, mul(pos.quantity, pos.avg_price))
            out[pos.pnl_currency] = add(out.get(pos.pnl_currency, ZERO), cash)
        return out

    # --- alerts and quality ----------------------------------------------------------

    def _quality(self, fill: Fill, out: Update) -> None:
        mid = self.arrival.get((fill.account, fill.client_order_id))
        if mid is None:
            return
        diff = sub(fill.price, mid)
        slippage = diff if fill.side == "BUY" else diff.copy_negate()
        bps = div18(mul(slippage, BPS), mid)
        out.quality.append(FillQuality(fill.fill_id, fill.venue, mid, slippage, bps))
        limit = self.limits.max_slippage_bps
        if limit is not None and bps > limit:
            out.alerts.append(
                _alert(
                    f"positions:SLIPPAGE:{fill.fill_id}",
                    "WARNING",
                    "SLIPPAGE",
                    f"fill {fill.fill_id} slipped {bps} bps against arrival mid {mid} "
                    f"(limit {limit})",
                    fill.receive_ts_ns,
                    account=fill.account,
                    venue=fill.venue,
                    instrument=fill.instrument,
                    client_order_id=fill.client_order_id,
                ),
            )

    def _check_position(self, pos: Position, ts: int, out: Update) -> None:
        limit = self.limits.max_position.get(pos.instrument)
        if limit is None:
            return
        net = self.net(pos.account, pos.instrument)
        key = ("position", pos.account, pos.instrument)
        if net.copy_abs() > limit:
            if key not in self._breached:
                self._breached.add(key)
                out.alerts.append(
                    _alert(
                        f"positions:POSITION_LIMIT:{pos.account}:{pos.instrument}:{pos.last_fill_id}",
                        "ERROR",
                        "POSITION_LIMIT",
                        f"net position {net} in {pos.instrument} exceeds {limit}",
                        ts,
                        account=pos.account,
                        instrument=pos.instrument,
                    )
                )
        else:
            self._breached.discard(key)

    def _check_loss(self, account: str, ts: int, out: Update) -> None:
        limit = self.limits.max_loss
        if limit is None:
            return
        pnl = self.account_pnl(account)
        key = ("loss", account)
        if pnl <= limit.copy_negate():
            if key not in self._breached:
                self._breached.add(key)
                out.alerts.append(
                    _alert(
                        f"positions:LOSS_LIMIT:{account}:{ts}",
                        "CRITICAL",
                        "LOSS_LIMIT",
                        f"account {account} PnL {pnl} at or below -{limit}",
                        ts,
                        account=account,
                    )
                )
        else:
            self._breached.discard(key)


def _alert(alert_id: str, severity: str, code: str, message: str, ts: int, **labels: str) -> Alert:
    return Alert(
        alert_id=alert_id,
        severity=severity,
        source="positions",
        code=code,
        message=message,
        labels=dict(labels),
        event_ts_ns=ts,
    )
