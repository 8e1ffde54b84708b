"""OHLCV bars per (venue, instrument, interval) in event time, with allowed lateness.

Event time is a trade's ``exchange_ts_ns``, or its ``receive_ts_ns`` when the venue sent
none. The watermark of a (venue, instrument) is the largest event time seen for it. A bar
``[start, end)`` is emitted once ``watermark - allowed_lateness >= end``. A trade whose bar
in any interval was already emitted is rejected as ``late`` (never silently dropped, never
counted in any interval); every other trade, including any at or after
``watermark - allowed_lateness``, updates its still-open bars in every interval, so coarser
bars always equal the sum of finer ones.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tapewire.core.exact import EXACT, ZERO, div18_exact, round18
from tapewire.core.records import Record
from tapewire.records.market import Bar, Trade
from tapewire.streams.aggregate.common import (
    Clock,
    InvalidRecordError,
    Rejected,
    checked_decimal,
    checked_int,
    checked_str,
    dec_to_str,
    str_to_dec,
)

_UNITS = {"ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
_UNITS["d"] = 24 * _UNITS["h"]
_INTERVAL = re.compile(r"^([1-9][0-9]*)(ms|s|m|h|d)$")
_SIDES = frozenset(("BUY", "SELL", "UNKNOWN"))
_TRADE_FIELDS = ("venue", "instrument", "price", "size", "side", "exchange_ts_ns", "receive_ts_ns")
_add, _mul = EXACT.add, EXACT.multiply  # tapewire.core.exact's add and mul, one call less


@dataclass(frozen=True, slots=True)
class Interval:
    """A bar interval: its name as in the topic (``1s`` -> ``md.bars.1s``) and its length."""

    name: str
    ns: int

    @classmethod
    def parse(cls, text: str) -> Interval:
        """Parse ``<n><unit>`` with unit ``ms``, ``s``, ``m`` (minute), ``h`` or ``d``."""
        match = _INTERVAL.match(text.strip())
        if match is None:
            raise ValueError(f"bar interval {text!r} is not <n><ms|s|m|h|d>, e.g. 1s, 1m, 5m, 1h")
        count, unit = int(match.group(1)), match.group(2)
        return cls(f"{count}{unit}", count * _UNITS[unit])

    @property
    def topic(self) -> str:
        """The topic the bars of this interval go to."""
        return f"md.bars.{self.name}"

    def start_of(self, ts_ns: int) -> int:
        """Start of the bar holding ``ts_ns`` (bars are aligned to the Unix epoch, UTC)."""
        return ts_ns - ts_ns % self.ns


@dataclass(frozen=True, slots=True)
class BarConfig:
    """Bar aggregation knobs (see ``docs/aggregation.md``)."""

    intervals: tuple[Interval, ...] = (Interval.parse("1s"), Interval.parse("1m"))
    allowed_lateness_ns: int = 1_000_000_000
    emit_empty: bool = False

    def __post_init__(self) -> None:
        if not self.intervals:
            raise ValueError("BarConfig.intervals is empty")
        names = [interval.name for interval in self.intervals]
        if len(set(names)) != len(names):
            raise ValueError(f"BarConfig.intervals has duplicates: {names}")
        if self.allowed_lateness_ns < 0:
            raise ValueError("BarConfig.allowed_lateness_ns must be >= 0")

    @classmethod
    def from_strings(
        cls,
        intervals: Iterable[str],
        *,
        allowed_lateness_ns: int = 1_000_000_000,
        emit_empty: bool = False,
    ) -> BarConfig:
        """Config from interval names such as ``["1s", "1m"]``."""
        return cls(tuple(Interval.parse(i) for i in intervals), allowed_lateness_ns, emit_empty)


@dataclass(slots=True)
class _Bar:
    start: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    open_ts: int
    close_ts: int
    volume: Decimal = ZERO
    quote_volume: Decimal = ZERO
    buy_volume: Decimal = ZERO
    sell_volume: Decimal = ZERO
    count: int = 0

    def add(self, ts: int, price: Decimal, size: Decimal, side: str) -> None:
        if ts < self.open_ts:  # equal times: the first to arrive stays the open
            self.open, self.open_ts = price, ts
        if ts >= self.close_ts:  # equal times: the last to arrive is the close
            self.close, self.close_ts = price, ts
        if price > self.high:  # as max/min: an equal price keeps the one held
            self.high = price
        if price < self.low:
            self.low = price
        self.volume = _add(self.volume, size)
        self.quote_volume = _add(self.quote_volume, _mul(price, size))
        if side == "BUY":
            self.buy_volume = _add(self.buy_volume, size)
        elif side == "SELL":
            self.sell_volume = _add(self.sell_volume, size)
        self.count += 1

    def dump(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "open": str(self.open),
            "high": str(self.high),
            "low": str(self.low),
            "close": str(self.close),
            "open_ts": self.open_ts,
            "close_ts": self.close_ts,
            "volume": str(self.volume),
            "quote_volume": str(self.quote_volume),
            "buy_volume": str(self.buy_volume),
            "sell_volume": str(self.sell_volume),
            "count": self.count,
        }

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> _Bar:
        return cls(
            start=int(data["start"]),
            open=Decimal(data["open"]),
            high=Decimal(data["high"]),
            low=Decimal(data["low"]),
            close=Decimal(data["close"]),
            open_ts=int(data["open_ts"]),
            close_ts=int(data["close_ts"]),
            volume=Decimal(data["volume"]),
            quote_volume=Decimal(data["quote_volume"]),
            buy_volume=Decimal(data["buy_volume"]),
            sell_volume=Decimal(data["sell_volume"]),
            count=int(data["count"]),
        )


@dataclass(slots=True)
class _Series:
    """One interval of one (venue, instrument): open bars and what the last emitted bar left."""

    open_bars: dict[int, _Bar] = field(default_factory=dict)
    next_start: int | None = None  # end of the last emitted bar
    last_close: Decimal | None = None


@dataclass(slots=True)
class _KeyState:
    watermark: int | None = None
    series: dict[str, _Series] = field(default_factory=dict)


class BarAggregator:
    """Builds Bar records (schema ``io.tapewire.Bar``) from Trade records.

    State is per (venue, instrument), the key of ``md.trades``; :meth:`key_state` and
    :meth:`load_key_state` move it to and from a checkpoint (JSON-safe, no floats).
    """

    def __init__(self, config: BarConfig | None = None, *, clock: Clock = time.time_ns) -> None:
        self.config = config or BarConfig()
        self._clock = clock
        self._keys: dict[tuple[str, str], _KeyState] = {}
        self._rejected: list[Rejected] = []

    # --- input -------------------------------------------------------------------------

    def add(self, trade: Record) -> list[Bar]:
        """Add one trade; return the bars its watermark advance closed (oldest first per
        interval, intervals in config order). A late or invalid trade goes to
        :meth:`drain_rejected` and changes nothing."""
        if isinstance(trade, Trade):  # attributes: no mapping lookups
            fields: tuple[object, ...] = (
                trade.venue,
                trade.instrument,
                trade.price,
                trade.size,
                trade.side,
                trade.exchange_ts_ns,
                trade.receive_ts_ns,
            )
        else:
            fields = tuple(trade.get(name) for name in _TRADE_FIELDS)
        try:  # the checks (and messages) of common's str_field, decimal_field, event_ts
            venue = checked_str("venue", fields[0])
            instrument = checked_str("instrument", fields[1])
            price = checked_decimal("price", fields[2])
            size = checked_decimal("size", fields[3])
            side = fields[4]
            if side not in _SIDES:
                raise InvalidRecordError(f"side={side!r} is not one of {sorted(_SIDES)}")
            exchange = fields[5]
            if exchange is not None:
                ts = checked_int("exchange_ts_ns", exchange)
            else:
                ts = checked_int("receive_ts_ns", fields[6])
        except InvalidRecordError as exc:
            self._rejected.append(Rejected(trade, "invalid", str(exc)))
            return []
        state = self._keys.get((venue, instrument))
        if state is None:
            state = self._keys[(venue, instrument)] = _KeyState()
        if state.watermark is not None:
            bound = state.watermark - self.config.allowed_lateness_ns
            for interval in self.config.intervals:
                end = interval.start_of(ts) + interval.ns
                if end <= bound:
                    self._rejected.append(
                        Rejected(
                            trade,
                            "late",
                            f"event ts {ts} is in the {interval.name} bar ending {end}, already "
                            f"emitted (watermark {state.watermark} - allowed lateness "
                            f"{self.config.allowed_lateness_ns} = {bound} >= {end})",
                        )
                    )
                    return []
        all_series = state.series
        for interval in self.config.intervals:
            series = all_series.get(interval.name)
            if series is None:
                series = all_series[interval.name] = _Series()
            start = ts - ts % interval.ns  # interval.start_of(ts)
            bar = series.open_bars.get(start)
            if bar is None:
                bar = series.open_bars[start] = _Bar(start, price, price, price, price, ts, ts)
            bar.add(ts, price, size, str(side))
        if state.watermark is None or ts > state.watermark:
            state.watermark = ts
        return self._close(venue, instrument, state)

    def advance(
        self, watermark_ns: int, *, venue: str | None = None, instrument: str | None = None
    ) -> list[Bar]:
        """Raise the watermark of the matching keys (None matches all) to at least
        ``watermark_ns``; return the bars that closes. For quiet instruments, driven by a
        timer (e.g. receive-time clock minus an idle grace)."""
        out: list[Bar] = []
        for (key_venue, key_instrument), state in sorted(self._keys.items()):
            if (venue is not None and key_venue != venue) or (
                instrument is not None and key_instrument != instrument
            ):
                continue
            if state.watermark is None or watermark_ns > state.watermark:
                state.watermark = watermark_ns
            out += self._close(key_venue, key_instrument, state)
        return out

    def flush(self) -> list[Bar]:
        """Emit every open bar now (end of input: replay, backtest, final shutdown).

        The Bar schema has no "partial" flag: a flushed bar looks like any other. The
        watermark is raised past the flushed bars, so a later trade for them is ``late``.
        A live worker that restarts from a checkpoint should not flush (see the docs).
        """
        out: list[Bar] = []
        lateness = self.config.allowed_lateness_ns
        for (venue, instrument), state in sorted(self._keys.items()):
            last_end: int | None = None
            for interval in self.config.intervals:
                series = state.series.get(interval.name)
                if series is None:
                    continue
                for start in sorted(series.open_bars):
                    out += self._emit_series_until(venue, instrument, interval, series, start)
                    bar = series.open_bars.pop(start)
                    out.append(self._record(venue, instrument, interval, bar))
                    series.next_start, series.last_close = start + interval.ns, bar.close
                    end = start + interval.ns
                    last_end = end if last_end is None else max(last_end, end)
            if last_end is not None and (
                state.watermark is None or state.watermark < last_end + lateness
            ):
                state.watermark = last_end + lateness
        return out

    def drain_rejected(self) -> list[Rejected]:
        """Late and invalid trades since the last call (for ``dlq.aggregate``)."""
        rejected, self._rejected = self._rejected, []
        return rejected

    def watermark(self, venue: str, instrument: str) -> int | None:
        """Current watermark of a (venue, instrument), None before its first trade."""
        state = self._keys.get((venue, instrument))
        return None if state is None else state.watermark

    # --- checkpoint ----------------------------------------------------------------------

    def state_keys(self) -> list[tuple[str, str]]:
        """Every (venue, instrument) with state."""
        return sorted(self._keys)

    def key_state(self, venue: str, instrument: str) -> dict[str, Any] | None:
        """Checkpoint of one key (JSON-safe: ints and decimal strings)."""
        state = self._keys.get((venue, instrument))
        if state is None:
            return None
        return {
            "watermark": state.watermark,
            "series": {
                name: {
                    "next_start": series.next_start,
                    "last_close": dec_to_str(series.last_close),
                    "open_bars": [series.open_bars[s].dump() for s in sorted(series.open_bars)],
                }
                for name, series in state.series.items()
            },
        }

    def load_key_state(self, venue: str, instrument: str, data: Mapping[str, Any]) -> None:
        """Restore one key from :meth:`key_state` output."""
        state = _KeyState(watermark=data["watermark"])
        for name, series in data["series"].items():
            bars = [_Bar.load(b) for b in series["open_bars"]]
            state.series[name] = _Series(
                {bar.start: bar for bar in bars},
                series["next_start"],
                str_to_dec(series["last_close"]),
            )
        self._keys[(venue, instrument)] = state

    # --- output --------------------------------------------------------------------------

    def _close(self, venue: str, instrument: str, state: _KeyState) -> list[Bar]:
        if state.watermark is None:
            return []
        bound = state.watermark - self.config.allowed_lateness_ns  # bars ending <= bound close
        out: list[Bar] = []
        all_series = state.series
        for interval in self.config.intervals:
            series = all_series.get(interval.name)
            if series is None:
                series = all_series[interval.name] = _Series()
            ns = interval.ns
            due = [s for s in series.open_bars if s + ns <= bound]
            if due:
                due.sort()
                for start in due:
                    out += self._emit_series_until(venue, instrument, interval, series, start)
                    bar = series.open_bars.pop(start)
                    out.append(self._record(venue, instrument, interval, bar))
                    series.next_start, series.last_close = start + ns, bar.close
            # quiet intervals up to the last one ending <= bound (nothing to do unless that
            # one starts after the next expected bar)
            if series.next_start is not None and bound - bound % ns > series.next_start:
                out += self._emit_series_until(
                    venue, instrument, interval, series, bound - bound % ns
                )
        return out

    def _emit_series_until(
        self, venue: str, instrument: str, interval: Interval, series: _Series, start: int
    ) -> list[Bar]:
        """Empty bars from the last emitted bar's end up to (not including) ``start``."""
        out: list[Bar] = []
        if not self.config.emit_empty or series.next_start is None or series.last_close is None:
            if series.next_start is not None and start > series.next_start:
                series.next_start = start
            return out
        while series.next_start < start:
            close = series.last_close
            out.append(self._record(venue, instrument, interval, None, series.next_start, close))
            series.next_start += interval.ns
        return out

    def _record(
        self,
        venue: str,
        instrument: str,
        interval: Interval,
        bar: _Bar | None,
        empty_start: int = 0,
        previous_close: Decimal = ZERO,
    ) -> Bar:
        zero = round18(ZERO)
        if bar is None:
            start, price = empty_start, round18(previous_close)
            ohlc = (price, price, price, price)
            volume, quote_volume, buy, sell, vwap, count = zero, zero, zero, zero, None, 0
        else:
            start = bar.start
            ohlc = (round18(bar.open), round18(bar.high), round18(bar.low), round18(bar.close))
            volume, quote_volume = round18(bar.volume), round18(bar.quote_volume)
            buy, sell, count = round18(bar.buy_volume), round18(bar.sell_volume), bar.count
            vwap = div18_exact(bar.quote_volume, bar.volume)
        return Bar(
            venue=venue,
            instrument=instrument,
            interval=interval.name,
            interval_ns=interval.ns,
            start_ts_ns=start,
            end_ts_ns=start + interval.ns,
            open=ohlc[0],
            high=ohlc[1],
            low=ohlc[2],
            close=ohlc[3],
            volume=volume,
            quote_volume=quote_volume,
            vwap=vwap,
            trade_count=count,
            buy_volume=buy,
            sell_volume=sell,
            revision=0,
            process_ts_ns=self._clock(),
        )
