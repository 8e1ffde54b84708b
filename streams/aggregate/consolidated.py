"""Consolidated order book and NBBO per canonical instrument across venues.

Venue quotes (``md.quotes``, from a venue's BBO channel or from :mod:`bbo`) are grouped by
a *consolidated id*: the canonical instrument id, with the quote currency replaced by a
group name where a :class:`QuoteGroup` is configured (``BTC-USDT-SPOT`` and
``BTC-USD-SPOT`` -> ``BTC-USD_EQ-SPOT`` with the group ``USD_EQ = {USD, USDT, USDC}``).
Without groups the consolidated id is the canonical id itself: only identical
instruments share an NBBO.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from tapewire.core.exact import ZERO, add, round18
from tapewire.core.instruments import Instrument, InstrumentError
from tapewire.core.records import Record
from tapewire.records.market import ConsolidatedQuote, Quote
from tapewire.streams.aggregate.bbo import L2Book, apply_or_reject
from tapewire.streams.aggregate.common import (
    Clock,
    InvalidRecordError,
    Rejected,
    checked_decimal,
    checked_int,
    checked_str,
    str_field,
)

_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_.]*$")


@dataclass(frozen=True, slots=True)
class QuoteGroup:
    """Quote currencies treated as equivalent; ``name`` replaces them in the consolidated id.

    The name must differ from every member (``USD_EQ``, not ``USD``), so that a consolidated
    id never reads as a single-currency instrument it is not.
    """

    name: str
    members: frozenset[str]

    def __post_init__(self) -> None:
        if not _CODE.match(self.name):
            raise ValueError(f"quote group name {self.name!r} is not an upper-case code")
        if len(self.members) < 2:
            raise ValueError(f"quote group {self.name}: needs at least two currencies")
        if self.name in self.members:
            raise ValueError(f"quote group {self.name}: name must not be one of its members")


@dataclass(frozen=True, slots=True)
class NbboConfig:
    """NBBO knobs (see ``docs/aggregation.md``).

    ``quote_groups``: equivalent quote currencies (none by default: no merging).
    ``max_quote_age_ns``: a venue quote older than this (receive time vs. the aggregator's
    clock) is excluded; None disables staleness. ``heartbeat_ns``: re-emit an unchanged
    NBBO when the last emission is this old (so consumers see fresh receive times);
    None = emit on change only.
    """

    quote_groups: tuple[QuoteGroup, ...] = ()
    max_quote_age_ns: int | None = 5_000_000_000
    heartbeat_ns: int | None = None

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for group in self.quote_groups:
            if seen & group.members:
                raise ValueError(f"quote groups overlap on {sorted(seen & group.members)}")
            seen |= group.members
        names = {group.name for group in self.quote_groups}
        if names & seen:
            raise ValueError(f"quote group names {sorted(names & seen)} are also members")

    @classmethod
    def usd_equivalent(cls, **kwargs: Any) -> NbboConfig:
        """The common setup: USD, USDT and USDC merged as ``USD_EQ``."""
        group = QuoteGroup("USD_EQ", frozenset({"USD", "USDT", "USDC"}))
        return cls(quote_groups=(group,), **kwargs)

    def consolidated_id(self, instrument: str) -> str:
        """The consolidated id of a canonical instrument id (only the quote is replaced;
        a derivative's settle currency is kept, so differently settled contracts stay
        apart). :class:`InstrumentError` for an id that is not canonical."""
        parsed = Instrument.parse(instrument)
        for group in self.quote_groups:
            if parsed.quote in group.members:
                return dataclasses.replace(parsed, quote=group.name).id
        return parsed.id


class MarketCondition(StrEnum):
    """State of an NBBO (the ConsolidatedQuote schema has no field for it: derive it)."""

    EMPTY = "EMPTY"
    ONE_SIDED = "ONE_SIDED"
    NORMAL = "NORMAL"
    LOCKED = "LOCKED"
    CROSSED = "CROSSED"


def market_condition(record: Record) -> MarketCondition:
    """LOCKED when best bid == best ask, CROSSED when bid > ask (across venues, an
    arbitrage or a stale venue), ONE_SIDED / EMPTY when a side / both sides are missing."""
    bid, ask = record.get("bid_price"), record.get("ask_price")
    if bid is None and ask is None:
        return MarketCondition.EMPTY
    if bid is None or ask is None:
        return MarketCondition.ONE_SIDED
    if bid == ask:
        return MarketCondition.LOCKED
    return MarketCondition.CROSSED if bid > ask else MarketCondition.NORMAL


@dataclass(slots=True)
class _Level:
    price: Decimal
    size: Decimal
    since_ns: int  # receive time at which this venue's best moved to this price


@dataclass(slots=True)
class _VenueQuote:
    venue: str
    bid: _Level | None
    ask: _Level | None
    receive_ts_ns: int


_QUOTE_FIELDS = (
    "venue",
    "instrument",
    "bid_price",
    "bid_size",
    "ask_price",
    "ask_size",
    "receive_ts_ns",
)
"""The ``Quote`` fields :meth:`NbboAggregator.add` reads, in the order it checks them."""
_Best = tuple[Decimal | None, Decimal | None, str | None, int | None]
_Signature = tuple[Any, ...]
_EMPTY_SIGNATURE: _Signature = (None, None, None, None, None, None, 0)


@dataclass(slots=True)
class _Group:
    quotes: dict[tuple[str, str], _VenueQuote] = dataclasses.field(default_factory=dict)
    emitted: _Signature = _EMPTY_SIGNATURE
    emitted_at_ns: int | None = None


def _side(price: object, size: object, side: str) -> tuple[Decimal, Decimal] | None:
    """A quote side's (price, size), both positive decimals, or None when both are null."""
    if price is not None:
        price = checked_decimal(f"{side}_price", price)
    if size is not None:
        size = checked_decimal(f"{side}_size", size)
    if (price is None) != (size is None):
        raise InvalidRecordError(f"{side}_price and {side}_size must both be set or both null")
    return None if price is None or size is None else (price, size)


class NbboAggregator:
    """Emits ConsolidatedQuote records (``md.nbbo``) from Quote records (``md.quotes``).

    The clock for staleness is event-driven: the largest ``receive_ts_ns`` seen (or passed to
    :meth:`tick`), so replays give the same output as live runs.
    """

    def __init__(self, config: NbboConfig | None = None, *, clock: Clock = time.time_ns) -> None:
        self.config = config or NbboConfig()
        self._clock = clock
        self._groups: dict[str, _Group] = {}
        self._ids: dict[str, str] = {}
        self._rejected: list[Rejected] = []
        self.now_ns: int | None = None

    def consolidated_id(self, instrument: str) -> str:
        """Cached :meth:`NbboConfig.consolidated_id`."""
        known = self._ids.get(instrument)
        if known is None:
            known = self._ids[instrument] = self.config.consolidated_id(instrument)
        return known

    def add(self, quote: Record) -> list[ConsolidatedQuote]:
        """Take a venue Quote; return the ConsolidatedQuote of its group if it changed."""
        try:
            if isinstance(quote, Quote):  # attributes: no mapping lookups
                fields: tuple[object, ...] = (
                    quote.venue,
                    quote.instrument,
                    quote.bid_price,
                    quote.bid_size,
                    quote.ask_price,
                    quote.ask_size,
                    quote.receive_ts_ns,
                )
            else:
                fields = tuple(quote.get(name) for name in _QUOTE_FIELDS)
            venue = checked_str("venue", fields[0])
            instrument = checked_str("instrument", fields[1])
            bid, ask = _side(fields[2], fields[3], "bid"), _side(fields[4], fields[5], "ask")
            receive = checked_int("receive_ts_ns", fields[6])
            group_id = self.consolidated_id(instrument)
        except (InvalidRecordError, InstrumentError) as exc:
            self._rejected.append(Rejected(quote, "invalid", str(exc)))
            return []
        group = self._groups.setdefault(group_id, _Group())
        previous = group.quotes.get((venue, instrument))
        if previous is not None and receive < previous.receive_ts_ns:
            self._rejected.append(
                Rejected(
                    quote,
                    "out_of_order",
                    f"receive_ts_ns {receive} is before the stored quote's "
                    f"{previous.receive_ts_ns} for {venue}:{instrument}",
                )
            )
            return []
        group.quotes[(venue, instrument)] = _VenueQuote(
            venue,
            _level(bid, previous.bid if previous else None, receive),
            _level(ask, previous.ask if previous else None, receive),
            receive,
        )
        if self.now_ns is None or receive > self.now_ns:
            self.now_ns = receive
        record = self._evaluate(group_id, group)
        return [] if record is None else [record]

    def tick(self, now_ns: int) -> list[ConsolidatedQuote]:
        """Advance the staleness clock (a timer in the agent) and re-evaluate every group:
        returns the NBBOs that changed because venue quotes went stale (or heartbeats)."""
        if self.now_ns is None or now_ns > self.now_ns:
            self.now_ns = now_ns
        out = []
        for group_id in sorted(self._groups):
            record = self._evaluate(group_id, self._groups[group_id])
            if record is not None:
                out.append(record)
        return out

    def drain_rejected(self) -> list[Rejected]:
        """Quotes that could not be used since the last call."""
        rejected, self._rejected = self._rejected, []
        return rejected

    def _evaluate(self, group_id: str, group: _Group) -> ConsolidatedQuote | None:
        # one pass over the group's live quotes (not older than max_quote_age_ns): the
        # best bid is the first of the smallest (-price, since, venue), the best ask of
        # (price, since, venue); the venues quoting either side are counted
        age, now = self.config.max_quote_age_ns, self.now_ns
        best_bid: tuple[_Level, _VenueQuote] | None = None
        best_ask: tuple[_Level, _VenueQuote] | None = None
        bid_key: tuple[Decimal, int, str] | None = None
        ask_key: tuple[Decimal, int, str] | None = None
        venues: set[str] = set()
        for q in group.quotes.values():
            if age is not None and now is not None and now - q.receive_ts_ns > age:
                continue
            level = q.bid
            if level is not None:
                key = (-level.price, level.since_ns, q.venue)
                if bid_key is None or key < bid_key:
                    best_bid, bid_key = (level, q), key
                venues.add(q.venue)
            level = q.ask
            if level is not None:
                key = (level.price, level.since_ns, q.venue)
                if ask_key is None or key < ask_key:
                    best_ask, ask_key = (level, q), key
                venues.add(q.venue)
        venue_count = len(venues)
        bid = _best(best_bid)
        ask = _best(best_ask)
        signature = (*bid[:3], *ask[:3], venue_count)
        heartbeat = self.config.heartbeat_ns
        due = (
            heartbeat is not None
            and group.emitted_at_ns is not None
            and self.now_ns is not None
            and self.now_ns - group.emitted_at_ns >= heartbeat
            and signature != _EMPTY_SIGNATURE
        )
        if signature == group.emitted and not due:
            return None
        group.emitted, group.emitted_at_ns = signature, self.now_ns
        return ConsolidatedQuote(
            instrument=group_id,
            bid_price=bid[0],
            bid_size=bid[1],
            bid_venue=bid[2],
            ask_price=ask[0],
            ask_size=ask[1],
            ask_venue=ask[2],
            venue_count=venue_count,
            bid_receive_ts_ns=bid[3],
            ask_receive_ts_ns=ask[3],
            process_ts_ns=self._clock(),
        )

    # --- checkpoint ----------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Checkpoint of everything (JSON-safe). It can also be rebuilt from the latest
        quote of every venue (md.quotes), losing only tie-break times."""
        return {
            "now_ns": self.now_ns,
            "groups": {gid: self.key_state(gid) for gid in sorted(self._groups)},
        }

    def load_state(self, data: Mapping[str, Any]) -> None:
        """Restore from :meth:`state` output."""
        self._groups = {}
        self.now_ns = data["now_ns"]
        for gid, group in data["groups"].items():
            self.load_key_state(gid, group)

    def group_ids(self) -> list[str]:
        """Every consolidated id with state."""
        return sorted(self._groups)

    def key_state(self, consolidated_id: str) -> dict[str, Any] | None:
        """Checkpoint of one consolidated id (a Faust table row keyed like ``md.nbbo``)."""
        g = self._groups.get(consolidated_id)
        if g is None:
            return None
        return {
            "quotes": [
                {
                    "venue": q.venue,
                    "instrument": key[1],
                    "bid": _dump_level(q.bid),
                    "ask": _dump_level(q.ask),
                    "receive_ts_ns": q.receive_ts_ns,
                }
                for key, q in sorted(g.quotes.items())
            ],
            "emitted": [None if v is None else str(v) for v in g.emitted],
            "emitted_at_ns": g.emitted_at_ns,
        }

    def load_key_state(self, consolidated_id: str, data: Mapping[str, Any]) -> None:
        """Restore one consolidated id from :meth:`key_state` output (the staleness clock
        moves to the newest receive time in it)."""
        group = _Group(emitted_at_ns=data["emitted_at_ns"])
        for q in data["quotes"]:
            group.quotes[(q["venue"], q["instrument"])] = _VenueQuote(
                q["venue"], _load_level(q["bid"]), _load_level(q["ask"]), q["receive_ts_ns"]
            )
            if self.now_ns is None or q["receive_ts_ns"] > self.now_ns:
                self.now_ns = q["receive_ts_ns"]
        e = data["emitted"]
        group.emitted = (
            *(None if v is None else Decimal(v) for v in e[0:2]),
            e[2],
            *(None if v is None else Decimal(v) for v in e[3:5]),
            e[5],
            int(e[6]),
        )
        self._groups[consolidated_id] = group


def _level(new: tuple[Decimal, Decimal] | None, old: _Level | None, receive: int) -> _Level | None:
    if new is None:
        return None
    since = old.since_ns if old is not None and old.price == new[0] else receive
    return _Level(new[0], new[1], since)


def _best(entry: tuple[_Level, _VenueQuote] | None) -> _Best:
    if entry is None:
        return (None, None, None, None)
    level, quote = entry
    return (round18(level.price), round18(level.size), quote.venue, quote.receive_ts_ns)


def _dump_level(level: _Level | None) -> list[Any] | None:
    return None if level is None else [str(level.price), str(level.size), level.since_ns]


def _load_level(data: list[Any] | None) -> _Level | None:
    return None if data is None else _Level(Decimal(data[0]), Decimal(data[1]), int(data[2]))


@dataclass(frozen=True, slots=True)
class ConsolidatedLevel:
    """One price of the consolidated book: total size and each venue's share."""

    price: Decimal
    size: Decimal
    venues: dict[str, Decimal]


class ConsolidatedBook:
    """L2 books of every venue merged per consolidated id (in-memory, for routers and paper
    trading; ``md.depth`` publishes it: :mod:`~tapewire.streams.aggregate.depth`). Books
    older than ``max_quote_age_ns`` are left out."""

    def __init__(self, config: NbboConfig | None = None) -> None:
        self.config = config or NbboConfig()
        self._books: dict[str, dict[tuple[str, str], L2Book]] = {}
        self._rejected: list[Rejected] = []
        self.now_ns: int | None = None

    def add(self, update: Record) -> str | None:
        """Apply a BookUpdate to its venue's book; its consolidated id, or None when it
        was rejected (the reason goes to :meth:`drain_rejected`)."""
        try:
            venue, instrument = str_field(update, "venue"), str_field(update, "instrument")
            group_id = self.config.consolidated_id(instrument)
        except (InvalidRecordError, InstrumentError) as exc:
            self._rejected.append(Rejected(update, "invalid", str(exc)))
            return None
        book = self._books.setdefault(group_id, {}).setdefault((venue, instrument), L2Book())
        rejected = apply_or_reject(book, update)
        if rejected is not None:
            self._rejected.append(rejected)
            return None
        if book.receive_ts_ns is not None and (
            self.now_ns is None or book.receive_ts_ns > self.now_ns
        ):
            self.now_ns = book.receive_ts_ns
        return group_id

    def depth(self, consolidated_id: str, side: str, levels: int = 10) -> list[ConsolidatedLevel]:
        """The best ``levels`` prices of ``side`` (``bid`` or ``ask``) across live venues."""
        if side not in ("bid", "ask"):
            raise ValueError(f"side {side!r} is not bid or ask")
        merged: dict[Decimal, dict[str, Decimal]] = {}
        for (venue, _), book in sorted(self._books.get(consolidated_id, {}).items()):
            if not self._live(book):
                continue
            book_side = book.bids if side == "bid" else book.asks
            for price, size in book_side.depth(levels):
                per_venue = merged.setdefault(price, {})
                per_venue[venue] = add(per_venue.get(venue, ZERO), size)
        prices = sorted(merged, reverse=side == "bid")[:levels]
        return [ConsolidatedLevel(p, _sum(merged[p].values()), merged[p]) for p in prices]

    def venue_books(self, consolidated_id: str) -> list[tuple[str, str, L2Book]]:
        """``(venue, instrument, book)`` of every live venue book of ``consolidated_id``,
        sorted by venue then instrument (read-only: do not apply updates to them)."""
        books = self._books.get(consolidated_id, {})
        return [(v, i, b) for (v, i), b in sorted(books.items()) if self._live(b)]

    def tick(self, now_ns: int) -> None:
        """Advance the staleness clock (receive-time based, like :class:`NbboAggregator`)."""
        if self.now_ns is None or now_ns > self.now_ns:
            self.now_ns = now_ns

    def drain_rejected(self) -> list[Rejected]:
        """Updates that could not be applied since the last call."""
        rejected, self._rejected = self._rejected, []
        return rejected

    def _live(self, book: L2Book) -> bool:
        age, now = self.config.max_quote_age_ns, self.now_ns
        if not book.synced or book.receive_ts_ns is None:
            return False
        return age is None or now is None or now - book.receive_ts_ns <= age


def _sum(values: Iterable[Decimal]) -> Decimal:
    total = ZERO
    for value in values:
        total = add(total, value)
    return total
