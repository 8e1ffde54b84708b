"""Per-venue best bid/offer from L2 book updates (for venues without a BBO channel).

The normalizer publishes ``md.book`` only for books in sync (it owns gap detection and
resync). Here a SNAPSHOT replaces the book, a DELTA sets levels (size 0 removes one), and a
Quote (``source = BOOK``) is emitted whenever the best price or size on either side changes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tapewire.core.exact import round18
from tapewire.core.records import Record
from tapewire.records.market import Quote
from tapewire.streams.aggregate.common import (
    Clock,
    InvalidRecordError,
    Rejected,
    decimal_field,
    int_field,
    optional_int,
    str_field,
)

MAX_LEVELS = 5_000
"""Levels a book keeps per side (the best ones). A side is trimmed back to this many once it
holds an eighth more: a venue that sends levels far from the touch and never deletes them
cannot grow a book without bound. The top (and any depth up to this) is unaffected."""

Top = tuple[Decimal | None, Decimal | None, Decimal | None, Decimal | None]
"""(bid price, bid size, ask price, ask size); None for an empty side."""


def _levels(update: Record, side: str) -> list[tuple[Decimal, Decimal]]:
    raw = update.get(side)
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes):
        raise InvalidRecordError(f"{side}={raw!r} is not a list of PriceLevel")
    out = []
    for index, level in enumerate(raw):
        if not isinstance(level, Mapping):
            raise InvalidRecordError(f"{side}[{index}]={level!r} is not a PriceLevel")
        try:
            out.append(
                (decimal_field(level, "price"), decimal_field(level, "size", positive=False))
            )
        except InvalidRecordError as exc:
            raise InvalidRecordError(f"{side}[{index}].{exc}") from None
    return out


class _Side:
    """One side of a book: price -> size, with the best price cached."""

    __slots__ = ("best", "bid", "levels", "max_levels")

    def __init__(self, bid: bool, max_levels: int = MAX_LEVELS) -> None:
        self.bid = bid
        self.max_levels = max_levels
        self.levels: dict[Decimal, Decimal] = {}
        self.best: Decimal | None = None

    def _better(self, a: Decimal, b: Decimal) -> bool:
        return a > b if self.bid else a < b

    def replace(self, levels: list[tuple[Decimal, Decimal]]) -> None:
        self.levels = {price: size for price, size in levels if size > 0}
        if len(self.levels) > self.max_levels:
            self._trim()
        self._recompute()

    def set(self, price: Decimal, size: Decimal) -> None:
        if size == 0:
            if self.levels.pop(price, None) is not None and price == self.best:
                self._recompute()
            return
        levels = self.levels
        levels[price] = size
        if self.best is None or self._better(price, self.best):
            self.best = price
        if len(levels) > self.max_levels + (self.max_levels >> 3):
            self._trim()

    def _trim(self) -> None:
        """Keep the best ``max_levels`` levels (amortized: runs once per max_levels/8 adds)."""
        kept = sorted(self.levels, reverse=self.bid)[: self.max_levels]
        self.levels = {price: self.levels[price] for price in kept}

    def _recompute(self) -> None:
        if not self.levels:
            self.best = None
        else:
            self.best = max(self.levels) if self.bid else min(self.levels)

    def top(self) -> tuple[Decimal | None, Decimal | None]:
        return (None, None) if self.best is None else (self.best, self.levels[self.best])

    def depth(self, count: int | None = None) -> list[tuple[Decimal, Decimal]]:
        """Levels best first (``count`` of them, or all)."""
        prices = sorted(self.levels, reverse=self.bid)
        return [(p, self.levels[p]) for p in (prices if count is None else prices[:count])]


class L2Book:
    """An L2 book of one instrument on one venue, maintained from BookUpdate records."""

    def __init__(self, max_levels: int = MAX_LEVELS) -> None:
        if max_levels < 1:
            raise ValueError(f"max_levels must be >= 1, got {max_levels}")
        self.bids = _Side(bid=True, max_levels=max_levels)
        self.asks = _Side(bid=False, max_levels=max_levels)
        self.synced = False
        self.last_sequence: int | None = None
        self.receive_ts_ns: int | None = None
        self.exchange_ts_ns: int | None = None

    def apply(self, update: Record) -> None:
        """Apply a SNAPSHOT or DELTA; :class:`InvalidRecordError` (book unchanged) when the
        record is malformed, a DELTA precedes any SNAPSHOT, or its sequence is old."""
        kind = update.get("kind")
        bids, asks = _levels(update, "bids"), _levels(update, "asks")
        sequence = optional_int(update, "last_sequence")
        receive = int_field(update, "receive_ts_ns")
        exchange = optional_int(update, "exchange_ts_ns")
        if kind == "SNAPSHOT":
            self.bids.replace(bids)
            self.asks.replace(asks)
            self.synced = True
        elif kind == "DELTA":
            if not self.synced:
                raise _NoSnapshotError("DELTA before any SNAPSHOT of this book")
            last = self.last_sequence
            if sequence is not None and last is not None and sequence <= last:
                raise _StaleSequenceError(
                    f"last_sequence {sequence} <= book's {last} (replayed or out of order)"
                )
            for price, size in bids:
                self.bids.set(price, size)
            for price, size in asks:
                self.asks.set(price, size)
        else:
            raise InvalidRecordError(f"kind={kind!r} is not SNAPSHOT or DELTA")
        if sequence is not None:
            self.last_sequence = sequence
        self.receive_ts_ns, self.exchange_ts_ns = receive, exchange

    def top(self) -> Top:
        """Best bid price and size, best ask price and size (None for an empty side)."""
        return (*self.bids.top(), *self.asks.top())

    def dump(self) -> dict[str, Any]:
        """Checkpoint form (decimal strings)."""
        return {
            "bids": [[str(p), str(s)] for p, s in self.bids.levels.items()],
            "asks": [[str(p), str(s)] for p, s in self.asks.levels.items()],
            "synced": self.synced,
            "last_sequence": self.last_sequence,
            "receive_ts_ns": self.receive_ts_ns,
            "exchange_ts_ns": self.exchange_ts_ns,
        }

    @classmethod
    def load(cls, data: Mapping[str, Any], max_levels: int = MAX_LEVELS) -> L2Book:
        """Inverse of :meth:`dump`."""
        book = cls(max_levels)
        book.bids.replace([(Decimal(p), Decimal(s)) for p, s in data["bids"]])
        book.asks.replace([(Decimal(p), Decimal(s)) for p, s in data["asks"]])
        book.synced = bool(data["synced"])
        book.last_sequence = data["last_sequence"]
        book.receive_ts_ns = data["receive_ts_ns"]
        book.exchange_ts_ns = data["exchange_ts_ns"]
        return book


class _NoSnapshotError(InvalidRecordError):
    reason = "no_snapshot"


class _StaleSequenceError(InvalidRecordError):
    reason = "stale_sequence"


def apply_or_reject(book: L2Book, update: Record) -> Rejected | None:
    """Apply ``update`` to ``book``; the :class:`Rejected` when it cannot be applied."""
    try:
        book.apply(update)
    except InvalidRecordError as exc:
        return Rejected(update, getattr(exc, "reason", "invalid"), str(exc))
    return None


@dataclass(frozen=True, slots=True)
class BboConfig:
    """``venues``: venues whose BBO is derived from the book (None = every venue seen);
    ``max_levels``: levels kept per side of each book (:data:`MAX_LEVELS`)."""

    venues: frozenset[str] | None = None
    max_levels: int = MAX_LEVELS


class BookBbo:
    """Maintains a book per (venue, instrument) and emits Quote records on top-of-book change."""

    def __init__(self, config: BboConfig | None = None, *, clock: Clock = time.time_ns) -> None:
        self.config = config or BboConfig()
        self._clock = clock
        self._books: dict[tuple[str, str], L2Book] = {}
        self._emitted: dict[tuple[str, str], Top] = {}
        self._rejected: list[Rejected] = []

    def add(self, update: Record) -> Quote | None:
        """Apply a BookUpdate; return a Quote when the top of book changed, else None."""
        try:
            key = (str_field(update, "venue"), str_field(update, "instrument"))
        except InvalidRecordError as exc:
            self._rejected.append(Rejected(update, "invalid", str(exc)))
            return None
        if self.config.venues is not None and key[0] not in self.config.venues:
            return None
        book = self._books.get(key)
        if book is None:
            book = self._books[key] = L2Book(self.config.max_levels)
        rejected = apply_or_reject(book, update)
        if rejected is not None:
            self._rejected.append(rejected)
            return None
        top = book.top()
        if self._emitted.get(key) == top:
            return None
        self._emitted[key] = top
        return self._quote(key, book, top)

    def reset(self, venue: str, instrument: str) -> Quote | None:
        """Forget a book (the normalizer reported it out of sync); returns an empty Quote
        (both sides null) when a non-empty top had been emitted, so consumers drop it."""
        key = (venue, instrument)
        book = self._books.pop(key, None)
        previous = self._emitted.pop(key, None)
        if book is None or previous is None or previous == (None, None, None, None):
            return None
        self._emitted[key] = (None, None, None, None)
        return self._quote(key, L2Book(), (None, None, None, None), book.receive_ts_ns)

    def book(self, venue: str, instrument: str) -> L2Book | None:
        """The maintained book (read-only use)."""
        return self._books.get((venue, instrument))

    def drain_rejected(self) -> list[Rejected]:
        """Updates that could not be applied since the last call."""
        rejected, self._rejected = self._rejected, []
        return rejected

    def key_state(self, venue: str, instrument: str) -> dict[str, Any] | None:
        """Checkpoint of one book and the top last emitted for it."""
        book = self._books.get((venue, instrument))
        if book is None:
            return None
        emitted = self._emitted.get((venue, instrument))
        return {
            "book": book.dump(),
            "emitted": None
            if emitted is None
            else [None if v is None else str(v) for v in emitted],
        }

    def load_key_state(self, venue: str, instrument: str, data: Mapping[str, Any]) -> None:
        """Restore one key from :meth:`key_state` output."""
        self._books[(venue, instrument)] = L2Book.load(data["book"], self.config.max_levels)
        if data["emitted"] is not None:
            values = [None if v is None else Decimal(v) for v in data["emitted"]]
            self._emitted[(venue, instrument)] = (values[0], values[1], values[2], values[3])

    def _quote(
        self, key: tuple[str, str], book: L2Book, top: Top, receive: int | None = None
    ) -> Quote:
        bid_price, bid_size, ask_price, ask_size = (None if v is None else round18(v) for v in top)
        received = receive if receive is not None else book.receive_ts_ns
        if received is None:
            raise InvalidRecordError(f"{key[0]} {key[1]}: a book with no receive time")
        return Quote(
            venue=key[0],
            instrument=key[1],
            bid_price=bid_price,
            bid_size=bid_size,
            ask_price=ask_price,
            ask_size=ask_size,
            source="BOOK",
            exchange_ts_ns=book.exchange_ts_ns,
            receive_ts_ns=received,
            process_ts_ns=self._clock(),
        )
