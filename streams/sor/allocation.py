"""The split of one order across venues: the pure core of the smart order router.

:func:`allocate` walks the merged ladder of every allowed venue's levels, best
*fee-adjusted* price first (a buy pays ``price x (1 + taker fee)``, a sell receives
``price x (1 - taker fee)``), ties broken by venue name, and takes what the order needs.
Each venue's share then has to survive its rules and the account's balance there:

* rounded *down* to the venue's lot (amount increment); the cut flows on down the ladder;
* at most ``max_qty`` and ``max_notional``, and within the balance: the quote currency
  for a buy (the child's limit price times its quantity, plus a quote-currency fee), the
  base currency for a sell;
* a share below one lot, ``min_qty`` or ``min_notional`` is dropped and its quantity
  re-allocated to the other venues.

It repeats the walk with those caps and exclusions until nothing changes (each round only
lowers a cap or drops a venue, so it ends). What is left is :attr:`Allocation.unallocated`:
not enough depth within the limit, or nothing a venue may take. A child's limit price is
the worst book price it needs on its venue (never worse than the parent's limit), so an
IOC child takes exactly the levels it was sized on and no worse.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from tapewire.core.exact import BPS, QUANTUM, ZERO, add, div18, mul, q18_ceiling, sub, wide
from tapewire.core.instruments import Instrument
from tapewire.streams.aggregate.consolidated import ConsolidatedLevel
from tapewire.streams.execution.fees import FeeAsset, FeeSchedule
from tapewire.streams.execution.rules import VenueRules
from tapewire.streams.oms.enums import Side
from tapewire.streams.sor.config import UNLIMITED, Balances, VenueTerms

_MAX_ROUNDS = 64
"""Walks per allocation at most (a handful in practice: one per cap or dropped venue)."""


@dataclass(frozen=True, slots=True)
class VenueLevel:
    """One price level of one venue's book (the side the order takes from)."""

    venue: str
    price: Decimal
    size: Decimal


def venue_levels(depth: Iterable[ConsolidatedLevel]) -> list[VenueLevel]:
    """:meth:`ConsolidatedBook.depth` levels, split back into one level per venue."""
    return [
        VenueLevel(venue, level.price, size)
        for level in depth
        for venue, size in sorted(level.venues.items())
    ]


@dataclass(frozen=True, slots=True)
class ChildAllocation:
    """One venue's share: quantity, limit price, and what the book says it will cost.

    ``notional`` is the sum of level price x quantity over the levels it was sized on;
    ``fee`` the taker fee on them in ``fee_currency``.
    """

    venue: str
    quantity: Decimal
    limit_price: Decimal
    notional: Decimal
    fee: Decimal
    fee_currency: str


@dataclass(frozen=True, slots=True)
class Dropped:
    """A venue left out of the allocation, with the quantity it would have had and why."""

    venue: str
    quantity: Decimal
    reason: str


@dataclass(frozen=True, slots=True)
class Allocation:
    """The children of one :func:`allocate` call (sorted by venue) and what was dropped."""

    side: Side
    instrument: str
    quantity: Decimal
    children: tuple[ChildAllocation, ...]
    dropped: tuple[Dropped, ...] = field(default=())

    @property
    def allocated(self) -> Decimal:
        """Quantity given to children."""
        total = ZERO
        for child in self.children:
            total = add(total, child.quantity)
        return total

    @property
    def unallocated(self) -> Decimal:
        """Quantity asked for that no child takes."""
        return sub(self.quantity, self.allocated)

    @property
    def venues(self) -> tuple[str, ...]:
        """The venues that get a child."""
        return tuple(c.venue for c in self.children)

    def expected_price(self, *, with_fees: bool = True) -> Decimal | None:
        """Expected average price over the children (fees included by default: what a
        buy pays or a sell receives per unit); None when nothing is allocated."""
        return fee_inclusive_price(
            self.side,
            Instrument.parse(self.instrument),
            [(c.notional, c.quantity, c.fee if with_fees else ZERO, c.fee_currency) for c in self],
        )

    def __iter__(self) -> Iterator[ChildAllocation]:
        return iter(self.children)


def fee_inclusive_price(
    side: Side, instrument: Instrument, parts: Iterable[tuple[Decimal, Decimal, Decimal, str]]
) -> Decimal | None:
    """Average price per unit with fees, over ``(notional, quantity, fee, fee_currency)``.

    A buy pays ``notional + quote fees`` for ``quantity - base fees``; a sell receives
    ``notional - quote fees`` for ``quantity + base fees``. None for no quantity.
    """
    notional = quantity = ZERO
    for part_notional, part_qty, fee, currency in parts:
        notional, quantity = add(notional, part_notional), add(quantity, part_qty)
        base_fee = currency == instrument.base
        if side is Side.BUY:
            if base_fee:
                quantity = sub(quantity, fee)
            else:
                notional = add(notional, fee)
        elif base_fee:
            quantity = add(quantity, fee)
        else:
            notional = sub(notional, fee)
    return div18(notional, quantity) if quantity > 0 else None


@wide
def effective_price(side: Side, price: Decimal, fees: FeeSchedule) -> Decimal:
    """``price`` with the taker fee: what a buy pays, or a sell receives, per unit.

    A fee charged in the received base (``FeeAsset.RECEIVED`` on a buy) delivers
    ``1 - fee`` units per unit paid for: ``price / (1 - fee)``.
    """
    rate = fees.taker_bps / BPS
    if side is Side.SELL:
        return price * (1 - rate)
    if fees.asset is FeeAsset.RECEIVED:
        return price / (1 - rate)
    return price * (1 + rate)


@dataclass(slots=True)
class _Venue:
    """Per-venue working state of one allocation."""

    terms: VenueTerms
    rules: VenueRules | None
    rate: Decimal
    quote_fee: bool  # the fee is paid in the quote currency (else in the received base)
    budget: Decimal | None  # buys: quote balance; sells: base balance
    cap: Decimal | None = None
    takes: list[tuple[Decimal, Decimal]] = field(default_factory=list)  # (price, qty)

    def floor(self, quantity: Decimal) -> Decimal:
        """``quantity`` rounded down to the lot (to 18 places without a lot)."""
        amount = self.rules.amount if self.rules is not None else None
        if amount is not None:
            return amount.round(quantity, up=False)
        return quantity.quantize(QUANTUM, rounding=ROUND_FLOOR)

    def unit_cost(self, price: Decimal) -> Decimal:
        """Quote currency a buy spends per unit at ``price`` (fee included when in quote)."""
        return price * (1 + self.rate) if self.quote_fee else price


@wide
def allocate(
    side: Side,
    quantity: Decimal,
    levels: Iterable[VenueLevel],
    venues: Mapping[str, VenueTerms],
    *,
    instrument: str,
    limit_price: Decimal | None = None,
    balances: Balances = UNLIMITED,
) -> Allocation:
    """Split ``quantity`` of ``instrument`` across ``venues`` by the book ``levels``.

    ``levels``: the side the order takes from (asks for a buy, bids for a sell), any
    order, any venue; levels of venues not in ``venues`` are ignored (that is how a
    parent's allowed venues apply). ``limit_price``: no level worse than it is used.
    ``balances``: see :class:`Balances`. The result's children are on each venue's lot,
    within its minimums and maximums, sum to at most ``quantity``, and are never worse
    than ``limit_price``; deterministic for the same inputs.
    """
    if quantity <= 0:
        raise ValueError(f"quantity {quantity} must be positive")
    inst = Instrument.parse(instrument)
    buy = side is Side.BUY
    states: dict[str, _Venue] = {}
    for name, terms in venues.items():
        rules = terms.rules_for(instrument)
        fees = terms.fees
        quote_fee = not (buy and fees.asset is FeeAsset.RECEIVED and inst.settle is None)
        state = _Venue(
            terms=terms,
            rules=rules,
            rate=(fees.taker_bps / BPS),
            quote_fee=quote_fee,
            budget=balances.available(name, inst.quote if buy else inst.base),
        )
        caps = []
        if not buy and state.budget is not None:
            caps.append(state.floor(state.budget))
        if rules is not None and rules.max_qty is not None:
            caps.append(state.floor(rules.max_qty))
        state.cap = min(caps) if caps else None
        states[name] = state
    ladder = _ladder(side, levels, states, limit_price)
    excluded: dict[str, Dropped] = {}
    children: list[ChildAllocation] = []
    for _ in range(_MAX_ROUNDS):
        _walk(buy, quantity, ladder, states, excluded)
        children, changed = _settle(side, inst, states, excluded)
        if not changed:
            break
    return Allocation(
        side=side,
        instrument=instrument,
        quantity=quantity,
        children=tuple(sorted(children, key=lambda c: c.venue)),
        dropped=tuple(excluded[v] for v in sorted(excluded)),
    )


def _ladder(
    side: Side,
    levels: Iterable[VenueLevel],
    states: Mapping[str, _Venue],
    limit_price: Decimal | None,
) -> list[VenueLevel]:
    """Usable levels, best fee-adjusted price first; ties by venue name, then price."""
    buy = side is Side.BUY
    keyed: list[tuple[Decimal, str, Decimal, VenueLevel]] = []
    for level in levels:
        state = states.get(level.venue)
        if state is None or level.size <= 0 or level.price <= 0:
            continue
        if limit_price is not None and (
            level.price > limit_price if buy else level.price < limit_price
        ):
            continue
        eff = effective_price(side, level.price, state.terms.fees)
        keyed.append(
            (eff if buy else -eff, level.venue, level.price if buy else -level.price, level)
        )
    keyed.sort(key=lambda k: k[:3])
    return [k[3] for k in keyed]


def _walk(
    buy: bool,
    quantity: Decimal,
    ladder: Sequence[VenueLevel],
    states: Mapping[str, _Venue],
    excluded: Mapping[str, Dropped],
) -> None:
    """Take down the ladder into each venue's ``takes``, within caps and buy budgets."""
    for state in states.values():
        state.takes = []
    taken: dict[str, Decimal] = {}
    spent: dict[str, Decimal] = {}
    remaining = quantity
    for level in ladder:
        if remaining <= 0:
            break
        venue = level.venue
        if venue in excluded:
            continue
        state = states[venue]
        take = min(remaining, level.size)
        if state.cap is not None:
            take = min(take, state.cap - taken.get(venue, ZERO))
        if buy and state.budget is not None:
            left = state.budget - spent.get(venue, ZERO)
            affordable = (left / state.unit_cost(level.price)).quantize(
                QUANTUM, rounding=ROUND_FLOOR
            )
            take = min(take, affordable)
        if take <= 0:
            continue
        state.takes.append((level.price, take))
        taken[venue] = add(taken.get(venue, ZERO), take)
        if buy and state.budget is not None:
            spent[venue] = spent.get(venue, ZERO) + take * state.unit_cost(level.price)
        remaining = sub(remaining, take)


def _settle(
    side: Side, inst: Instrument, states: Mapping[str, _Venue], excluded: dict[str, Dropped]
) -> tuple[list[ChildAllocation], bool]:
    """Each venue's takes as a child on its rules; True when a cap or exclusion changed
    (the walk must run again)."""
    children: list[ChildAllocation] = []
    changed = False
    buy = side is Side.BUY
    for venue in sorted(states):
        state = states[venue]
        if venue in excluded or not state.takes:
            continue
        raw = ZERO
        for _, qty in state.takes:
            raw = add(raw, qty)
        qty = state.floor(raw)
        if qty < raw:  # the cut goes down the ladder, to this venue or the next
            state.cap = qty
            changed = True
        rules = state.rules
        why = _too_small(qty, rules)
        if why is None:
            limit, notional = _price_and_notional(state.takes, qty)
            if rules is not None and rules.price is not None:
                limit = rules.price.round(limit, up=not buy)  # never more aggressive
            why = _below_min_notional(qty, limit, rules)
        if why is not None:
            excluded[venue] = Dropped(venue, raw, why)
            changed = True
            continue
        cap = _cap(buy, qty, limit, state)
        if cap is not None:
            state.cap = cap
            changed = True
            continue
        if state.quote_fee:
            fee, currency = q18_ceiling(notional * state.rate), inst.settle or inst.quote
        else:
            fee, currency = q18_ceiling(qty * state.rate), inst.base
        children.append(ChildAllocation(venue, qty, limit, notional, fee, currency))
    return children, changed


def _too_small(qty: Decimal, rules: VenueRules | None) -> str | None:
    if qty <= 0:
        lot = rules.amount if rules is not None else None
        return f"below one lot ({lot})" if lot is not None else "nothing to take"
    if rules is not None and rules.min_qty is not None and qty < rules.min_qty:
        return f"quantity {qty} below min qty {rules.min_qty}"
    return None


def _below_min_notional(qty: Decimal, limit: Decimal, rules: VenueRules | None) -> str | None:
    if rules is None or rules.min_notional is None:
        return None
    notional = mul(qty, limit)
    if notional < rules.min_notional:
        return f"notional {qty} x {limit} = {notional} below min notional {rules.min_notional}"
    return None


def _cap(buy: bool, qty: Decimal, limit: Decimal, state: _Venue) -> Decimal | None:
    """A lower cap when the child breaks max notional or, for a buy, the quote balance at
    its limit price (what a venue reserves); None when it fits."""
    caps: list[Decimal] = []
    rules = state.rules
    if rules is not None and rules.max_notional is not None and qty * limit > rules.max_notional:
        caps.append(state.floor(rules.max_notional / limit))
    if buy and state.budget is not None and qty * state.unit_cost(limit) > state.budget:
        caps.append(state.floor(state.budget / state.unit_cost(limit)))
    return min(caps) if caps else None


def _price_and_notional(
    takes: Sequence[tuple[Decimal, Decimal]], qty: Decimal
) -> tuple[Decimal, Decimal]:
    """The worst price needed for ``qty`` of ``takes`` (best first), and its notional."""
    left, notional, worst = qty, ZERO, takes[0][0]
    for price, size in takes:
        if left <= 0:
            break
        part = min(size, left)
        notional = add(notional, mul(part, price))
        worst = price
        left = sub(left, part)
    return worst, notional
