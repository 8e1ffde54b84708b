"""Normalize stage: ``md.raw`` -> ``md.trades``, ``md.book``, ``md.quotes``, ``md.coverage``,
``dlq.normalize`` (and ``md.markets``) through :class:`tapewire.streams.normalize.Normalizer`.

``md.raw`` is keyed by venue, so all of a venue's frames reach one worker in order; the
Normalizer holds the ccxt.pro objects (books, dedup) of the venues of this worker.

Rebalances (``docs/streams.md``): the venues' market REST frames are re-published,
byte for byte, to the compacted ``md.markets`` topic, and every worker reads that topic
before it normalizes a frame of a venue whose markets it lacks, so a worker that takes
over a partition never needs the markets frame that was on md.raw before its start. The
stage also tracks the offsets it processed per md.raw partition: a partition first seen
at an offset > 0, or one that was revoked and comes back at another offset than the next
one this worker expected (it was processed elsewhere meanwhile), hands the venues of that
partition over to a fresh state (:meth:`Normalizer.handover`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence, Set
from typing import Any

from tapewire.core.records import Record
from tapewire.schemas.codec import Codec
from tapewire.streams.normalize import NormalizeError, Normalizer, SourceRef
from tapewire.streams.normalize.normalizer import BOOK, COVERAGE, DLQ, QUOTES, TRADES
from tapewire.streams.stages.base import Emitter, InMsg, OutMsg, decode_batch

log = logging.getLogger(__name__)

SOURCE = "md.raw"
MARKETS = "md.markets"

MarketsReader = Callable[[], Iterable[Record]]
"""Returns the decoded RawFrame records of ``md.markets``, in publish order."""


class NormalizeStage:
    """One batch of RawFrame bytes -> encoded normalizer outputs (pure, no Kafka).

    ``markets_reader`` (the Kafka read of ``md.markets``, see :func:`read_markets`) is
    called when a batch holds a websocket frame of a venue without markets and either joins
    a partition (first seen, or back after a revocation) or ``markets_retry_s`` passed
    since the last read. ``republish_markets`` sends every market REST frame seen on md.raw
    to ``md.markets`` (key ``venue:rest_url``, value unchanged).
    """

    name = "normalize"
    source_topic = SOURCE

    def __init__(
        self,
        codec: Codec,
        kafka_name: Callable[[str], str] = str,
        normalizer: Normalizer | None = None,
        *,
        markets_reader: MarketsReader | None = None,
        republish_markets: bool = True,
        markets_retry_s: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.codec = codec
        self.normalizer = normalizer or Normalizer()
        self.emitter = Emitter(codec, self.name, kafka_name, DLQ)
        self.markets_reader = markets_reader
        self.republish_markets = republish_markets
        self.markets_retry_s = markets_retry_s
        self.monotonic = monotonic
        self.markets_loads = 0
        self._last_load: float | None = None
        self._next_offset: dict[int, int] = {}
        self._revoked: set[int] = set()
        self._revoked_lock = threading.Lock()
        self._midway: dict[int, bool] = {}
        """md.raw partition -> this worker joined its stream mid-way (after other workers)."""
        self._venues: dict[int, set[str]] = {}
        """md.raw partition -> venues seen on it since it was (re)joined."""
        self.handovers: list[tuple[int, str]] = []
        """(partition, venue) of every hand-over so far (for tests and logs)."""

    def partitions_revoked(self, partitions: Set[int]) -> None:
        """md.raw partitions this worker lost (Faust's ``on_partitions_revoked``; any thread).
        If one comes back at another offset than expected, its venues are handed over."""
        with self._revoked_lock:
            self._revoked |= set(partitions)

    def process(self, batch: Sequence[InMsg]) -> list[OutMsg]:
        """Decode, normalize the batch in order, encode every output record."""
        emitter = self.emitter
        with self._revoked_lock:
            revoked, self._revoked = self._revoked, set()
        decoded = decode_batch(self.codec, SOURCE, batch, emitter)
        by_msg = {id(msg): frame for msg, frame in decoded}
        rejoined = any(
            m.partition is not None
            and (m.partition not in self._next_offset or m.partition in revoked)
            for m in batch
        )
        self._maybe_load_markets((frame for _, frame in decoded), rejoined)
        norm = self.normalizer
        frames: list[Record] = []
        refs: list[SourceRef] = []

        def flush() -> None:
            if frames:
                self._emit(norm.process_batch(frames, refs))
                frames.clear()
                refs.clear()

        for msg in batch:  # every message (decodable or not) advances its partition
            joined = self._track(msg, revoked)
            frame = by_msg.get(id(msg))
            if frame is None:
                continue
            partition = msg.partition if msg.partition is not None else -1
            venue = frame.get("venue")
            if isinstance(venue, str):
                seen = self._venues.setdefault(partition, set())
                if joined:
                    seen.clear()
                if venue not in seen:
                    seen.add(venue)
                    if self._midway.get(partition) and norm.knows_venue(venue):
                        flush()  # frames before this point belong to the old state
                        norm.handover(venue)
                        self.handovers.append((partition, venue))
                        log.info("normalize: took over %s on md.raw partition %s", venue, partition)
            if self.republish_markets and norm.markets_path(frame) is not None:
                try:
                    key = self.codec.key(MARKETS, frame)
                except Exception:  # no rest_url string: nothing to key it by
                    log.warning("normalize: market frame without rest_url not re-published")
                else:
                    emitter.emit_raw(MARKETS, key, msg.value or b"")
            frames.append(frame)
            refs.append(SourceRef(msg.partition, msg.offset, msg.key, msg.value))
        flush()
        if revoked:  # revoked partitions not seen again yet: check them when they come back
            with self._revoked_lock:
                self._revoked |= revoked
        return emitter.take()

    def _emit(self, result: Any) -> None:
        emitter = self.emitter
        for topic in (TRADES, BOOK, QUOTES, COVERAGE):
            for record in result[topic]:
                emitter.emit(topic, record)
        for dead in result[DLQ]:
            emitter.emit_dead_record(dead)

    def _track(self, msg: InMsg, revoked: set[int]) -> bool:
        """Advance the partition's expected offset; True when its stream is (re)joined here:
        first seen (mid-way if at offset > 0), or back after a revocation at another offset
        than expected (processed elsewhere meanwhile: mid-way)."""
        p, offset = msg.partition, msg.offset
        if p is None or offset is None:
            return False
        expected = self._next_offset.get(p)
        self._next_offset[p] = offset + 1
        if expected is None:
            self._midway[p] = offset > 0
            return True
        if p in revoked:
            revoked.discard(p)
            if offset != expected:
                self._midway[p] = True
                return True
        return False

    def _maybe_load_markets(self, frames: Iterable[Record], rejoined: bool) -> None:
        """Read ``md.markets`` if a websocket frame's venue has no markets and either a
        partition is (re)joined in this batch (a take-over: its market frames are in
        md.markets by then) or ``markets_retry_s`` passed since the last read."""
        if self.markets_reader is None:
            return
        norm = self.normalizer
        missing = any(
            f.get("transport") != "REST" and not norm.has_markets(str(f.get("venue")))
            for f in frames
        )
        now = self.monotonic()
        due = self._last_load is None or now - self._last_load >= self.markets_retry_s
        if missing and (rejoined or due):
            self._last_load = now
            self.load_markets(self.markets_reader())

    def load_markets(self, records: Iterable[Record]) -> list[str]:
        """Load the markets of every venue in ``records`` that has none yet; returns the
        venues loaded. A venue whose stored frames ccxt cannot parse is logged and skipped."""
        self.markets_loads += 1
        by_venue: dict[str, list[Record]] = {}
        for record in records:
            by_venue.setdefault(str(record.get("venue")), []).append(record)
        loaded = []
        norm = self.normalizer
        for venue, frames in by_venue.items():
            if norm.has_markets(venue) or not norm.knows_venue(venue):
                continue
            try:
                if norm.load_markets(venue, frames):
                    loaded.append(venue)
            except NormalizeError as exc:
                log.error("normalize: %s", exc)
        if loaded:
            log.info("normalize: markets of %s loaded from %s", ", ".join(loaded), MARKETS)
        return loaded
