"""Market state of the TCA core: mids by time and the market volume of an order's interval.

* :class:`MidHistory`: the last ``n`` mids of one key (an instrument's NBBO, a venue's
  quote), to find the mid *at or before* a time (the arrival, the end of an order).
* :class:`Interval`: running volume and notional of the market trades of one instrument
  from a start time on; the interval VWAP is ``notional / volume``.
* :class:`RecentTrades`: the last ``n`` trades of one instrument, so an interval opened
  after some of its trades were read (topics read at different speeds) still counts them.

Mids are exact: ``(bid + ask) / 2`` of two decimals is a finite decimal (one more place).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal

import msgspec

from tapewire.core.exact import EXACT, ZERO, add, mul

TWO = Decimal(2)


@dataclass(frozen=True, slots=True)
class Mid:
    """A mid price, the time of the market data behind it, and where it came from."""

    price: Decimal
    ts_ns: int
    source: str
    """``NBBO``, ``QUOTE`` or ``RISK_REFERENCE``."""


def mid_of(bid: Decimal | None, ask: Decimal | None) -> Decimal | None:
    """``(bid + ask) / 2`` exactly; ``None`` when a side is missing or not positive."""
    if bid is None or ask is None or bid <= 0 or ask <= 0:
        return None
    return EXACT.divide(add(bid, ask), TWO)


class MidHistory:
    """The last ``size`` two-sided quotes of one key, in the order they were read.

    A quote is kept as read (time, bid, ask); its mid is computed only when it is looked up
    (at an order's arrival and end), so each market record costs one append."""

    __slots__ = ("_quotes", "source")

    def __init__(self, size: int, source: str) -> None:
        self._quotes: deque[tuple[int, Decimal, Decimal]] = deque(maxlen=size)
        self.source = source

    def add(self, ts_ns: int, bid: Decimal | None, ask: Decimal | None) -> None:
        """Keep a quote with both sides (a one-sided one has no mid: skipped)."""
        if bid is not None and ask is not None and bid > 0 and ask > 0:
            self._quotes.append((ts_ns, bid, ask))

    def at(self, ts_ns: int) -> Mid | None:
        """The mid of the newest quote whose time is at or before ``ts_ns``; ``None`` if
        none is kept."""
        best: tuple[int, Decimal, Decimal] | None = None
        for quote in reversed(self._quotes):  # ties: the one read last wins
            if quote[0] <= ts_ns and (best is None or quote[0] > best[0]):
                best = quote
        if best is None:
            return None
        mid = mid_of(best[1], best[2])
        return None if mid is None else Mid(mid, best[0], self.source)


@dataclass(slots=True)
class Interval:
    """Market trades of one instrument from ``start_ns`` on (exact sums)."""

    start_ns: int
    volume: Decimal = ZERO
    notional: Decimal = ZERO
    trades: int = 0

    def add(self, ts_ns: int, price: Decimal, size: Decimal) -> None:
        """Count a trade made at ``ts_ns`` if it is in the interval."""
        if ts_ns >= self.start_ns:
            self.volume = add(self.volume, size)
            self.notional = add(self.notional, mul(price, size))
            self.trades += 1


class MarketTrade(msgspec.Struct, frozen=True, gc=False):
    """What the TCA keeps of a trade: its time, price and size (a ``msgspec.Struct``:
    one is made per market trade, a frozen dataclass cost several times as much)."""

    ts_ns: int
    price: Decimal
    size: Decimal


class RecentTrades:
    """The last ``size`` trades of one instrument (``size`` 0 keeps none)."""

    __slots__ = ("_trades",)

    def __init__(self, size: int) -> None:
        self._trades: deque[MarketTrade] = deque(maxlen=size)

    def add(self, trade: MarketTrade) -> None:
        """Keep ``trade``."""
        if self._trades.maxlen:
            self._trades.append(trade)

    def fill(self, interval: Interval) -> None:
        """Add every kept trade to a new ``interval`` (those before its start are skipped)."""
        for trade in self._trades:
            interval.add(trade.ts_ns, trade.price, trade.size)
