"""The venue-agnostic book synchroniser: snapshot + delta sequencing, gap -> resync,
checksum verification, a crossed-book check, publish only while synced.

Per (venue, instrument) book::

    SYNCING --snapshot--> LIVE --gap | checksum | crossed | bad level | new connection--> RESYNCING
    RESYNCING --fresh snapshot--> LIVE

Every state change is a coverage event on the book's channel: ``GAP`` opens an interval
in which the book is not published (reasons ``waiting_for_snapshot``, ``sequence_gap``,
``checksum``, ``crossed_book``, ``invalid_update``, ``disconnect``, ``rebalance``) and
``RESYNC`` closes it at the snapshot that synced the book again. A delta that arrives
before the first snapshot therefore opens a ``waiting_for_snapshot`` interval instead of
waiting silently.

How ids are checked is the venue's :class:`~...mappers.base.VenueSpec` ``sequencing``;
venues with neither ids nor a checksum rely on the crossed-book check.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from tapewire.records.market import BookUpdate, CoverageEvent, PriceLevel
from tapewire.streams.normalize.books.l2 import L2Book
from tapewire.streams.normalize.books.state import BookState
from tapewire.streams.normalize.decimals import exact_levels as _pairs
from tapewire.streams.normalize.errors import NormalizeError
from tapewire.streams.normalize.mappers.base import Sequencing, VenueSpec
from tapewire.streams.normalize.mappers.common import (
    okx_checksum_book,
    okx_checksum_joined,
    okx_checksum_text,
)
from tapewire.streams.normalize.mappers.events import BookEvent

WAITING = "waiting_for_snapshot"
REBALANCE = "rebalance"
_LIVE, _SYNCING, _RESYNCING = BookState.LIVE, BookState.SYNCING, BookState.RESYNCING
"""The states as module constants: reading an enum member off its class costs ~10x a
global's read on this interpreter (3.11), and the per-frame path reads one or two."""
BUFFER_CAP = 1_000
"""Deltas kept per book while it waits for a REST snapshot."""

Pairs = list[tuple[Decimal, Decimal]]


@dataclass
class SyncedBook:
    """Sync state and levels of one book."""

    instrument: str
    state: BookState = _SYNCING
    levels: L2Book = field(default_factory=L2Book)
    connection_id: str | None = None
    last_sequence: int | None = None
    depth: int | None = None
    """Levels per side the venue keeps (``VenueSpec.implicit_deletes``: from the last
    snapshot), None when it sends every delete."""
    bridged: bool = False
    """A delta has followed the last snapshot (RANGE: the first must only cover it)."""
    last_receive_ns: int | None = None
    gap_from_ns: int | None = None
    gap_reason: str | None = None
    seen: bool = False
    buffer: deque[tuple[BookEvent, int]] = field(default_factory=deque)


class BookSync:
    """All books of one venue, synchronised as its :class:`VenueSpec` says."""

    def __init__(
        self,
        spec: VenueSpec,
        clock: Callable[[], int],
        buffer_cap: int = BUFFER_CAP,
    ) -> None:
        self.spec = spec
        self.venue = spec.venue
        self.clock = clock
        self.buffer_cap = buffer_cap
        self.books: dict[str, SyncedBook] = {}
        seq = spec.sequencing
        self._range = seq == Sequencing.RANGE
        self._prev = seq == Sequencing.PREV
        self._increment = seq == Sequencing.INCREMENT
        self._crossed_check = seq == Sequencing.NONE and spec.checksum is None
        # the top of the book after every update: keep the levels sorted
        self._kept_sorted = self._crossed_check or spec.checksum is not None
        self._checksum = spec.checksum is not None
        self._wire = spec.checksum_wire is not None
        # OKX's algorithm over the wire text (OKX, Bitget): the book keeps each level's text
        # joined as "price:size", which is what the checksum joins (the same int)
        self._joined = spec.checksum_wire is okx_checksum_text
        # Kraken's layout: the book keeps each level's checksum text joined (price, size)
        self._depth = spec.checksum_depth
        self._pieces = spec.checksum_pieces if spec.checksum_depth else None
        self._piece = spec.checksum_text if self._pieces is not None else None
        rest = spec.rest_snapshots
        self._rest = rest
        # the delta path's checks inlined where they are the plain ones: stale when its id
        # is at or below the book's (not Binance futures' bridging, not consecutive ids on
        # the socket); every delta follows when the venue has no ids (NONE)
        self._stale_at_or_below = not (self._prev and rest) and not (self._increment and not rest)
        self._always_follows = seq == Sequencing.NONE
        self._implicit = spec.implicit_deletes
        # a joined book's delta records straight from the book (no dicts of changes: the
        # eviction of implicit deletes needs them)
        self._joined_records = self._joined and not spec.implicit_deletes

    def state(self, instrument: str) -> BookState | None:
        """State of one book, None if never seen."""
        book = self.books.get(instrument)
        return book.state if book else None

    # ------------------------------------------------------------------ entry
    def apply(
        self,
        event: BookEvent,
        connection_id: str | None,
        receive_ns: int,
        midway: bool,
        books_out: list[BookUpdate],
        coverage_out: list[CoverageEvent],
    ) -> None:
        """Apply one book event; published updates and coverage events are appended.

        ``connection_id`` is None for a REST snapshot (not part of a stream).
        ``midway``: the event's connection was joined mid-stream after a hand-over, so a
        delta as the book's first frame cannot be continued (``rebalance``).
        Raises :class:`NormalizeError` for a level that is not an exact decimal (the book
        is then resynced: the venue's state moved on without it).
        """
        book = self.books.get(event.instrument)
        if book is None:
            book = self.books[event.instrument] = SyncedBook(
                event.instrument,
                levels=L2Book(self._kept_sorted, self._wire, self._joined, self._piece),
            )
        if connection_id is not None and connection_id != book.connection_id:
            if book.connection_id is not None:
                if book.state is _LIVE:  # the old connection's frames may be lost
                    self._gap(book, receive_ns, "disconnect", coverage_out)
                book.buffer.clear()
            book.connection_id = connection_id
        if not book.seen:
            book.seen = True
            if midway and not event.snapshot and book.state is _SYNCING:
                self._open(book, receive_ns, REBALANCE, coverage_out)
                book.state = _RESYNCING
        if event.snapshot:
            self._snapshot(book, event, receive_ns, books_out, coverage_out)
        elif book.state is _LIVE:
            self._delta(book, event, receive_ns, books_out, coverage_out)
        else:
            self._wait(book, event, receive_ns, coverage_out)

    # ------------------------------------------------------------------ states
    def _wait(
        self, book: SyncedBook, event: BookEvent, receive_ns: int, coverage: list[CoverageEvent]
    ) -> None:
        if book.gap_from_ns is None:
            self._open(book, receive_ns, WAITING, coverage)
        if self.spec.rest_snapshots:
            buffer = book.buffer
            buffer.append((event, receive_ns))
            if len(buffer) > self.buffer_cap:
                buffer.popleft()

    def _snapshot(
        self,
        book: SyncedBook,
        event: BookEvent,
        receive_ns: int,
        books_out: list[BookUpdate],
        coverage: list[CoverageEvent],
    ) -> None:
        rest = self._rest
        if rest and book.state is _LIVE:
            return  # the live book is ahead of any REST snapshot
        levels = book.levels
        try:
            bid_records, ask_records = levels.replace_texts(event.bids, event.asks)
        except NormalizeError:
            if book.state is _LIVE:
                self._gap(book, receive_ns, "invalid_update", coverage)
            raise
        sequence = event.last_sequence
        book.last_sequence = sequence
        book.bridged = False
        exchange_ns = event.exchange_ts_ns
        if rest and book.buffer:
            replayed = self._replay(book)
            if replayed is None:
                levels.clear()  # too old to bridge to the buffered deltas: keep waiting
                return
            exchange_ns = replayed or exchange_ns
            sequence = book.last_sequence
            bid_records = ask_records = None  # the deltas changed the levels
        if self._checksum:
            failure = self._verify(book, event)
            if failure is not None:
                levels.clear()
                if book.state is _LIVE:
                    self._gap(book, receive_ns, "checksum", coverage)
                raise NormalizeError(failure, error_type="ChecksumError")
        if book.state is not _LIVE:
            if book.gap_from_ns is not None:
                coverage.append(
                    self._coverage(
                        book, "RESYNC", book.gap_from_ns, receive_ns, book.gap_reason or WAITING
                    )
                )
            book.state = _LIVE
            book.gap_from_ns = book.gap_reason = None
        if self._implicit:  # the venue's own book holds no level beyond its depth
            kept = book.depth = event.depth
            if kept is not None:
                levels.evict(kept, True, None)
                levels.evict(kept, False, None)
        book.last_receive_ns = receive_ns
        if bid_records is None:
            bid_records = [PriceLevel(price=p, size=s) for p, s in levels.sorted_bids()]
        if ask_records is None:
            ask_records = [PriceLevel(price=p, size=s) for p, s in levels.sorted_asks()]
        books_out.append(
            BookUpdate(
                venue=self.venue,
                instrument=book.instrument,
                kind="SNAPSHOT",
                bids=bid_records,
                asks=ask_records,
                depth=event.depth,
                last_sequence=sequence,
                checksum=event.checksum,
                exchange_ts_ns=exchange_ns,
                receive_ts_ns=receive_ns,
                process_ts_ns=self.clock(),
            )
        )

    def _replay(self, book: SyncedBook) -> int | None:
        """Apply the buffered deltas that follow a REST snapshot; returns the exchange time
        of the last one applied (0 when none), None when the snapshot is older than the
        oldest delta kept (it cannot be bridged)."""
        exchange_ns = 0
        buffer = book.buffer
        while buffer and self._stale(book, buffer[0][0]):
            buffer.popleft()
        if buffer and not self._follows(book, buffer[0][0]):
            return None
        while buffer:
            event, received = buffer.popleft()
            if not self._follows(book, event):
                buffer.appendleft((event, received))
                return None
            book.levels.apply(_pairs(event.bids), _pairs(event.asks), event.bids, event.asks)
            book.last_sequence = event.last_sequence
            book.bridged = True
            exchange_ns = event.exchange_ts_ns or exchange_ns
        return exchange_ns

    def _delta(
        self,
        book: SyncedBook,
        event: BookEvent,
        receive_ns: int,
        books_out: list[BookUpdate],
        coverage: list[CoverageEvent],
    ) -> None:
        last, seq = book.last_sequence, event.last_sequence
        if last is not None and seq is not None:
            if self._stale_at_or_below:
                if seq <= last:
                    return  # already in the snapshot the book was synced from
            elif self._stale(book, event):
                return
        bids, asks, checksum = event.bids, event.asks, event.checksum
        if not bids and not asks and checksum is not None:
            # a checksum-only frame (Bitfinex "cs"): verifies the book, publishes nothing
            if self._verify(book, event) is not None:
                self._gap(book, receive_ns, "checksum", coverage)
            return
        if not self._always_follows and not self._follows(book, event):
            self._gap(book, receive_ns, "sequence_gap", coverage)
            if self.spec.rest_snapshots:
                book.buffer.append((event, receive_ns))
            return
        levels = book.levels
        joined = self._joined_records
        pieced = self._pieces is not None
        bid_records: list[PriceLevel]
        ask_records: list[PriceLevel]
        try:  # one pass per side: wire text -> decimal -> book (a bad level: cleared below)
            if joined:  # OKX, Bitget: the records as applied, straight from the book
                bid_records = levels.apply_joined(bids, True) if bids else []
                ask_records = levels.apply_joined(asks, False) if asks else []
            elif pieced:  # Kraken: the records as applied (evictions included), from the pass
                kept = book.depth
                bid_records = levels.apply_pieces(bids, True, kept) if bids else []
                ask_records = levels.apply_pieces(asks, False, kept) if asks else []
                bid_changes = ask_changes = None
            else:
                bid_changes = levels.apply_texts(bids, True) if bids else None
                ask_changes = levels.apply_texts(asks, False) if asks else None
        except NormalizeError:
            self._gap(book, receive_ns, "invalid_update", coverage)
            raise
        kept = book.depth
        if kept is not None:  # levels pushed below the venue's depth: their deletes
            if bid_changes and len(levels.bids) > kept:
                levels.evict(kept, True, bid_changes)
            if ask_changes and len(levels.asks) > kept:
                levels.evict(kept, False, ask_changes)
        book.last_sequence = seq
        book.bridged = True
        if checksum is None or not self._checksum:
            failure = None
        elif joined:  # _verify's OKX branch inlined (the top 25 taken inside)
            got = okx_checksum_book(levels.bid_joined, levels.ask_joined)
            failure = None if got == checksum else _mismatch(checksum, got, seq)
        elif self._pieces is not None:  # _verify's Kraken branch inlined
            depth = self._depth
            got = self._pieces(
                b"".join(levels.ask_pieces[:depth] + levels.bid_pieces[: -depth - 1 : -1])
            )
            failure = None if got == checksum else _mismatch(checksum, got, seq)
        else:
            failure = self._verify(book, event)
        if failure is not None:
            self._gap(book, receive_ns, "checksum", coverage)
            return
        if self._crossed_check and book.levels.crossed():
            self._gap(book, receive_ns, "crossed_book", coverage)
            return
        book.last_receive_ns = receive_ns
        if not joined and not pieced:  # _records inlined for the common one-level side
            if not bid_changes:
                bid_records = []
            elif len(bid_changes) == 1:
                for p, s in bid_changes.items():
                    bid_records = [PriceLevel(price=p, size=s)]
            else:
                bid_records = _records(bid_changes, True)
            if not ask_changes:
                ask_records = []
            elif len(ask_changes) == 1:
                for p, s in ask_changes.items():
                    ask_records = [PriceLevel(price=p, size=s)]
            else:
                ask_records = _records(ask_changes, False)
        books_out.append(
            BookUpdate(
                venue=self.venue,
                instrument=book.instrument,
                kind="DELTA",
                bids=bid_records,
                asks=ask_records,
                first_sequence=event.first_sequence,
                last_sequence=seq,
                prev_sequence=event.prev_sequence,
                checksum=checksum,
                exchange_ts_ns=event.exchange_ts_ns,
                receive_ts_ns=receive_ns,
                process_ts_ns=self.clock(),
            )
        )

    # ------------------------------------------------------------------ checks
    def _stale(self, book: SyncedBook, event: BookEvent) -> bool:
        last, seq = book.last_sequence, event.last_sequence
        if last is None or seq is None:
            return False
        if self._prev and self.spec.rest_snapshots and not book.bridged:
            return seq < last  # Binance futures: the bridging delta ends at or after it
        if self._increment and not self.spec.rest_snapshots:
            return False  # ids are consecutive on the socket: a repeated or older id is a gap
        return seq <= last

    def _follows(self, book: SyncedBook, event: BookEvent) -> bool:
        last = book.last_sequence
        if last is None:
            return True
        if self._range:
            first, end = event.first_sequence, event.last_sequence
            if first is None or end is None:
                return False
            return first == last + 1 if book.bridged else first <= last + 1 <= end
        if self._prev:
            if book.bridged or not self.spec.rest_snapshots:
                return event.prev_sequence == last
            # first delta after a REST snapshot (Binance futures): it must span the id;
            # a delta without a first id (HTX mbp) spans from the id it follows
            first, end = event.first_sequence, event.last_sequence
            if first is None:
                first = event.prev_sequence
            return first is not None and end is not None and first <= last <= end
        if self._increment:
            return event.last_sequence == last + 1
        return True

    def _verify(self, book: SyncedBook, event: BookEvent) -> str | None:
        spec = self.spec
        if spec.checksum is None or event.checksum is None:
            return None
        depth = spec.checksum_depth
        levels = book.levels
        if self._joined:
            got = okx_checksum_joined(*levels.top_joined(depth))
        elif self._pieces is not None:
            asks = levels.ask_pieces[:depth] if depth else levels.ask_pieces[:]
            bids = levels.bid_pieces[: -depth - 1 : -1] if depth else levels.bid_pieces[::-1]
            got = self._pieces(b"".join(asks + bids))
        elif spec.checksum_wire is not None:
            got = spec.checksum_wire(*levels.top_texts(depth))
        else:
            got = spec.checksum(levels.sorted_bids(depth), levels.sorted_asks(depth))
        return (
            None if got == event.checksum else _mismatch(event.checksum, got, event.last_sequence)
        )

    # ------------------------------------------------------------------ coverage
    def _gap(
        self, book: SyncedBook, receive_ns: int, reason: str, coverage: list[CoverageEvent]
    ) -> None:
        """Invalidate the book; a LIVE book opens a coverage GAP at its last good update."""
        book.levels.clear()
        book.last_sequence = None
        book.bridged = False
        if book.state is _LIVE:
            book.state = _RESYNCING
            self._open(book, book.last_receive_ns or receive_ns, reason, coverage)

    def _open(
        self, book: SyncedBook, from_ns: int, reason: str, coverage: list[CoverageEvent]
    ) -> None:
        book.gap_from_ns, book.gap_reason = from_ns, reason
        coverage.append(self._coverage(book, "GAP", from_ns, None, reason))

    def _coverage(
        self, book: SyncedBook, event: str, from_ns: int, to_ns: int | None, reason: str
    ) -> CoverageEvent:
        return CoverageEvent(
            venue=self.venue,
            instrument=book.instrument,
            channel="book",
            event=event,
            from_ns=from_ns,
            to_ns=to_ns,
            reason=reason,
            process_ts_ns=self.clock(),
        )

    def connection_lost(
        self, connection_id: str, receive_ns: int, reason: str, coverage: list[CoverageEvent]
    ) -> None:
        """Frames of a connection were lost: each of its live books resyncs."""
        for book in self.books.values():
            if book.connection_id == connection_id and book.state is _LIVE:
                self._gap(book, receive_ns, reason, coverage)

    def forget(self) -> None:
        """Drop every book (a hand-over: the state kept would continue a stale book)."""
        self.books.clear()


def _mismatch(sent: int, got: int, sequence: int | None) -> str:
    return f"checksum mismatch at sequence {sequence}: sent {sent}, book {got}"


def _records(changed: dict[Decimal, Decimal], bids: bool) -> list[PriceLevel]:
    """A delta's levels as applied (:meth:`L2Book.apply_texts`), best first (more than one:
    the caller builds a lone one's)."""
    return [PriceLevel(price=p, size=changed[p]) for p in sorted(changed, reverse=bids)]
