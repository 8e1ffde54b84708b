"""Consolidated depth: the top N levels of every venue of a consolidated instrument,
fee-adjusted, as ``ConsolidatedDepth`` records (``md.depth``).

:class:`DepthPublisher` keeps a :class:`ConsolidatedBook` fed from ``md.book`` and builds
the snapshot of one consolidated id on request: each live venue's best ``levels`` bids and
asks, each with its **effective price** (what taking it costs with the venue's taker fee:
``ask x (1 + fee)``, ``bid x (1 - fee)``, 18 places), both sides sorted best effective
price first. A snapshot equal to the last one published for that id is not repeated, and
an id is published at most once per ``interval_ns`` of receive time (100 ms by default;
building and encoding a snapshot costs about as much as normalizing a few frames): a
change inside the interval goes out with the first update after it (a market that goes
quiet right after a change keeps its last snapshot until its next update).
The fee rate is per venue in basis points (:class:`DepthConfig`); a venue without one
is shown at fee 0. This is the quote-currency taker fee; a fee taken from the received
base (Binance spot with BNB off) is a rate on quantity and is priced the same way here.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from tapewire.core.exact import BPS, ZERO, mul, round18
from tapewire.core.records import Record
from tapewire.records.market import ConsolidatedDepth, DepthLevel
from tapewire.streams.aggregate.common import Clock, Rejected
from tapewire.streams.aggregate.consolidated import ConsolidatedBook, NbboConfig

_ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class DepthConfig:
    """``levels``: levels per venue and side (N); ``taker_fee_bps``: venue -> taker fee
    in basis points (absent = 0); ``interval_ns``: at most one snapshot per consolidated
    id per this much receive time (0 = every change)."""

    levels: int = 10
    taker_fee_bps: Mapping[str, Decimal] = field(default_factory=dict)
    interval_ns: int = 100_000_000

    def __post_init__(self) -> None:
        if self.levels < 1:
            raise ValueError(f"DepthConfig.levels {self.levels} must be >= 1")
        if self.interval_ns < 0:
            raise ValueError(f"DepthConfig.interval_ns {self.interval_ns} must be >= 0")
        for venue, bps in self.taker_fee_bps.items():
            if not ZERO <= bps < BPS:
                raise ValueError(f"DepthConfig.taker_fee_bps[{venue!r}] = {bps} not in [0, 10000)")


_Signature = tuple[tuple[tuple[str, str, Decimal, Decimal], ...], ...]


class DepthPublisher:
    """``md.book`` updates in, :class:`ConsolidatedDepth` snapshots out (on change)."""

    def __init__(
        self,
        config: DepthConfig | None = None,
        nbbo: NbboConfig | None = None,
        *,
        clock: Clock = time.time_ns,
    ) -> None:
        self.config = config or DepthConfig()
        self.book = ConsolidatedBook(nbbo)
        self._clock = clock
        self._factors = {
            v: (_ONE + bps / BPS, _ONE - bps / BPS) for v, bps in self.config.taker_fee_bps.items()
        }
        self._emitted: dict[str, _Signature] = {}
        self._newest: dict[str, int] = {}  # newest receive time per id
        self._checked_at: dict[str, int] = {}  # its value when last built

    def add(self, update: Record) -> str | None:
        """Apply a BookUpdate; its consolidated id, or None when it was rejected
        (the reason is in :meth:`drain_rejected`)."""
        group = self.book.add(update)
        if group is not None:
            receive = update["receive_ts_ns"]
            if receive > self._newest.get(group, 0):
                self._newest[group] = receive
        return group

    def drain_rejected(self) -> list[Rejected]:
        """Updates that could not be applied since the last call."""
        return self.book.drain_rejected()

    def snapshot(self, consolidated_id: str) -> ConsolidatedDepth | None:
        """The current depth of ``consolidated_id``; None when it equals the last one
        returned (or no venue is live and nothing was published yet), or when the last
        look at it is younger than ``interval_ns`` (receive time)."""
        last = self._checked_at.get(consolidated_id)
        newest = self._newest.get(consolidated_id, 0)
        if last is not None and newest - last < self.config.interval_ns:
            return None
        self._checked_at[consolidated_id] = newest
        n = self.config.levels
        bids: list[DepthLevel] = []
        asks: list[DepthLevel] = []
        received = 0
        venues = set()
        for venue, instrument, l2 in self.book.venue_books(consolidated_id):
            up, down = self._factors.get(venue, (_ONE, _ONE))
            venues.add(venue)
            received = max(received, l2.receive_ts_ns or 0)
            for price, size in l2.bids.depth(n):
                bids.append(_level(venue, instrument, price, size, down))
            for price, size in l2.asks.depth(n):
                asks.append(_level(venue, instrument, price, size, up))
        bids.sort(key=lambda x: (-x.effective_price, x.venue, -x.price))
        asks.sort(key=lambda x: (x.effective_price, x.venue, x.price))
        signature = (_sig(bids), _sig(asks))
        if self._emitted.get(consolidated_id, ((), ())) == signature:
            return None
        self._emitted[consolidated_id] = signature
        return ConsolidatedDepth(
            instrument=consolidated_id,
            levels=n,
            bids=bids,
            asks=asks,
            venue_count=len(venues),
            receive_ts_ns=received,
            process_ts_ns=self._clock(),
        )


def _level(
    venue: str, instrument: str, price: Decimal, size: Decimal, factor: Decimal
) -> DepthLevel:
    effective = price if factor == _ONE else round18(mul(price, factor))
    return DepthLevel(
        venue=venue, instrument=instrument, price=price, size=size, effective_price=effective
    )


def _sig(levels: list[DepthLevel]) -> tuple[tuple[str, str, Decimal, Decimal], ...]:
    return tuple((x.venue, x.instrument, x.price, x.size) for x in levels)
