"""Daily PnL per account from ``Position`` records (topic ``positions``), for the gate.

The positions agent (:class:`tapewire.streams.trading.PositionBook`) publishes, after every fill
and every change of mark, one ``Position`` record per (account, venue, instrument) with
*cumulative* figures: realized PnL since the position was first opened, unrealized PnL
at the NBBO mid, and fees. :class:`DailyPnl` turns them into the figure the
``daily_loss_limit`` rule reads (:attr:`tapewire.streams.risk.RiskContext.daily_pnl`):

* a position's total is ``realized_pnl + unrealized_pnl - fees`` (mark-to-market, so
  **unrealized PnL counts**: an open losing position can trip the limit);
* the day is the **UTC calendar day** (boundary 00:00:00 UTC), taken from the record's
  ``update_ts_ns`` (event time: fill receive time or NBBO receive time); "today" is the
  day of the ``now_ns`` the gate decides at (its injected clock);
* a position's daily PnL is its latest total minus its *opening total*: the last total
  published before today's first record (0 for a position first seen today: a new
  position starts from 0); a position with no record today contributed nothing today;
* an account's daily PnL is the sum over its positions on every venue and instrument.
  Figures are summed in their PnL currencies without conversion (like
  ``PositionBook.account_pnl``): the limit assumes one quote currency per account.

Records are applied in arrival order; the ``positions`` topic is keyed by account, so
one account's records arrive in publication order. A record whose day is earlier than
the day already seen for its position updates the total but never moves the day back.
State is in memory: a stage that starts mid-day without the day's earlier records takes
the first total it sees as the opening total of a position it did not know (the topic
is read from the earliest offset by a new consumer group, so a fresh start sees all).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tapewire.core.exact import ZERO, add, sub
from tapewire.records.positions import Position

NS_PER_DAY = 86_400 * 1_000_000_000


def utc_day(ts_ns: int) -> int:
    """Days since 1970-01-01 UTC of a UTC nanosecond timestamp (00:00 UTC starts a day)."""
    return ts_ns // NS_PER_DAY


def position_total(position: Position) -> Decimal:
    """``realized_pnl + unrealized_pnl - fees`` of a ``Position`` record (exact)."""
    return sub(add(position.realized_pnl, position.unrealized_pnl), position.fees)


@dataclass(slots=True)
class _DayMark:
    day: int
    opening: Decimal
    """Total at the start of ``day`` (the last total published before it)."""
    total: Decimal


class DailyPnl:
    """Per-account PnL since 00:00 UTC from ``Position`` records (see the module doc)."""

    def __init__(self) -> None:
        self._marks: dict[str, dict[tuple[str, str], _DayMark]] = {}

    def on_position(self, position: Position) -> None:
        """Apply one ``Position`` record."""
        marks = self._marks.setdefault(position.account, {})
        key = (position.venue, position.instrument)
        day = utc_day(position.update_ts_ns)
        total = position_total(position)
        mark = marks.get(key)
        if mark is None:
            marks[key] = _DayMark(day, ZERO, total)
        elif day > mark.day:  # first record of a new day: yesterday's last total opens it
            mark.day, mark.opening, mark.total = day, mark.total, total
        else:
            mark.total = total

    def pnl(self, account: str, now_ns: int) -> Decimal:
        """Realized + unrealized - fees of ``account`` since 00:00 UTC of ``now_ns``'s day
        (negative is a loss); 0 for an account with no position record today."""
        today = utc_day(now_ns)
        total = ZERO
        for mark in self._marks.get(account, {}).values():
            if mark.day >= today:
                total = add(total, sub(mark.total, mark.opening))
        return total
