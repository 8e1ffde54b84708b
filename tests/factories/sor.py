"""The smart order router's test material: venue terms, book levels, and replayed
two-venue books executed on paper venues (shared by the comparison test and
``bench/bench_sor.py``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

from tapewire.connectors.simulator import InstrumentSpec, MarketSimulator, SimConfig, VenueSpec
from tapewire.core.exact import BPS
from tapewire.streams.execution.fees import FeeSchedule
from tapewire.streams.execution.paper import PaperConfig, PaperVenue
from tapewire.streams.execution.rules import Increment, VenueRules
from tapewire.streams.oms import Side
from tapewire.streams.sor import (
    ParentRequest,
    SmartOrderRouter,
    SorConfig,
    VenueLevel,
    VenueTerms,
)
from tests.factories import INST, Num
from tests.factories.market import Level, book

D = Decimal


def rules(
    venue: str,
    *,
    tick: Num | None = "0.01",
    lot: Num | None = "0.001",
    min_qty: Num | None = None,
    min_notional: Num | None = None,
    max_qty: Num | None = None,
) -> VenueRules:
    """``venue``'s rules of :data:`INST` (step increments)."""
    return VenueRules(
        venue=venue,
        symbol="BTC/USDT",
        price=Increment(D(tick)) if tick is not None else None,
        amount=Increment(D(lot)) if lot is not None else None,
        min_qty=None if min_qty is None else D(min_qty),
        max_qty=None if max_qty is None else D(max_qty),
        min_notional=None if min_notional is None else D(min_notional),
    )


def terms(venue: str, taker_bps: Num = 0, venue_rules: VenueRules | None = None) -> VenueTerms:
    """A venue with a taker fee and optional rules of :data:`INST`."""
    return VenueTerms(
        venue,
        FeeSchedule(taker_bps=D(taker_bps)),
        {INST: venue_rules} if venue_rules is not None else {},
    )


def levels(venue: str, *pairs: tuple[Num, Num]) -> list[VenueLevel]:
    """``VenueLevel``s of ``venue`` from ``(price, size)`` pairs."""
    return [VenueLevel(venue, D(p), D(s)) for p, s in pairs]


# --- replayed two-venue books ------------------------------------------------------------

SIM_VENUES = ("binance", "okx")
SIM_TERMS = (
    # Binance BTC/USDT (tick 0.01, lot 0.00001, 5 USDT minimum), 7.5 bp taker (BNB rate)
    VenueTerms(
        "binance",
        FeeSchedule(taker_bps=D("7.5")),
        {INST: rules("binance", tick="0.01", lot="0.00001", min_qty="0.00001", min_notional=5)},
    ),
    # OKX BTC-USDT (tick 0.1, lot 0.00000001, min size 0.00001), 8 bp taker
    VenueTerms(
        "okx",
        FeeSchedule(taker_bps=D(8)),
        {INST: rules("okx", tick="0.1", lot="0.00000001", min_qty="0.00001", min_notional=1)},
    ),
)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Both venues' books at one point of a simulated run (best levels first)."""

    index: int
    ts_ns: int
    books: dict[str, tuple[tuple[Level, ...], tuple[Level, ...]]]  # venue -> (bids, asks)


def replayed_books(seed: int = 11, n_frames: int = 6000, every: int = 200) -> Iterator[Snapshot]:
    """Every ``every`` frames of a seeded BTC/USDT run on Binance and OKX (OKX's mid 0.5 bp
    above), both venues' books as a correct consumer holds them then."""
    sim = MarketSimulator(
        SimConfig(
            seed=seed,
            venues=(VenueSpec(name="binance"), VenueSpec(name="okx", offset_bp=D("0.5"))),
            instruments=(
                InstrumentSpec(symbol="BTC/USDT", start_price=D(65000), typical_size=D("0.4")),
            ),
            n_frames=n_frames,
            spread_ticks=10,
        )
    )
    for i, frame in enumerate(sim.frames()):
        if i == 0 or i % every:
            continue
        got = sim.ground_truth.books()
        pair = [got.get((v, "BTC/USDT")) for v in SIM_VENUES]
        if not all(b is not None and b.synced and b.bids and b.asks for b in pair):
            continue
        yield Snapshot(
            index=i,
            ts_ns=frame.sim_ts_ns,
            books={b.venue: (b.bids, b.asks) for b in pair if b is not None},
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """One parent executed on paper venues: filled quantity, prices, children per venue."""

    filled: Decimal
    avg_price: Decimal | None
    avg_price_with_fees: Decimal | None
    venues: tuple[str, ...]
    waves: int


def execute(
    snapshots: Sequence[Snapshot],
    side: Side,
    quantity: Decimal,
    *,
    venues: Sequence[str] = (),
    limit_price: Decimal | None = None,
) -> Outcome:
    """Work one parent over ``snapshots`` with a fresh router and fresh paper venues (the
    fees and rules of :data:`SIM_TERMS`): the first wave on the first snapshot, then a
    re-route of the remainder on each next one until the parent is filled. The IOC
    children execute on the paper venues, whose books are the replayed ones (our own fills
    do not move the next snapshot: no market impact)."""
    router = SmartOrderRouter(SorConfig(SIM_TERMS))
    papers = {
        t.venue: PaperVenue(PaperConfig(t.venue, fees=t.fees, rules=dict(t.rules)))
        for t in SIM_TERMS
    }
    sent: set[str] = set()
    for n, snapshot in enumerate(snapshots):
        for venue, (bids, asks) in sorted(snapshot.books.items()):
            update = book(venue, bids, asks, ts=snapshot.ts_ns)
            router.on_book(update)
            papers[venue].on_book(update)
        if n == 0:
            parent = ParentRequest(
                parent_id="p1",
                account="acct",
                instrument=INST,
                side=side,
                quantity=quantity,
                limit_price=limit_price,
                venues=tuple(venues),
                request_ts_ns=snapshot.ts_ns,
            )
            requests = router.submit(parent, snapshot.ts_ns)
        else:
            requests = router.reroute(snapshot.ts_ns)
        for request in requests:
            sent.add(request.venue)
            reports = papers[request.venue].submit(request.to_record(), snapshot.ts_ns)
            for event in reports.events:
                router.on_order_event(event)
            for fill in reports.fills:
                router.on_fill(fill)
        if router.parents["p1"].is_final:
            break
    state = router.parents["p1"]
    return Outcome(
        filled=state.cum_qty,
        avg_price=state.avg_price,
        avg_price_with_fees=state.avg_price_with_fees(),
        venues=tuple(sorted(sent)),
        waves=state.waves,
    )


def best_single_venue(snapshot: Snapshot, side: Side) -> str:
    """The venue with the best fee-adjusted top of book for ``side`` (ties: by name):
    where routing the whole order to one venue sends it."""
    best: tuple[Decimal, str] | None = None
    for t in SIM_TERMS:
        bids, asks = snapshot.books[t.venue]
        rate = t.fees.taker_bps / BPS
        key = D(asks[0][0]) * (1 + rate) if side is Side.BUY else -D(bids[0][0]) * (1 - rate)
        if best is None or (key, t.venue) < best:
            best = (key, t.venue)
    assert best is not None
    return best[1]


def improvement_bps(side: Side, sor: Decimal, single: Decimal) -> Decimal:
    """How much better the SOR's fee-inclusive price is than the single venue's, in bp
    (positive = better: lower for a buy, higher for a sell)."""
    gain = single - sor if side is Side.BUY else sor - single
    return (gain / single * BPS).quantize(D("0.0001"))
