"""Normalize stage: ``md.raw`` -> ``md.trades``, ``md.book``, ``md.quotes``, ``md.coverage``,
``dlq.normalize`` (and ``md.markets``) through :class:`tapewire.streams.normalize.Normalizer`.

``md.raw`` is keyed by ``venue:connection_id``: one connection's frames reach one worker in
order, and a venue's connections spread over partitions. The stage keeps one Normalizer
(ccxt.pro objects, books, dedup) per md.raw partition, so the state of a partition moves
with the partition and a hand-over never touches the books of the partitions a worker keeps.

Market metadata is venue-wide, not per connection: every valid market REST frame seen on
md.raw (a venue-wide REST frame, :meth:`Normalizer.market_url`; in any partition of the
batch) is loaded before the batch's websocket frames and re-published, byte for byte, to the
compacted ``md.markets`` topic (key ``venue:rest_url``, the full URL). A frame that is not a
valid market response (non-2xx, not JSON, a venue error answer, one ccxt cannot load markets
from) is a dead letter and is neither kept nor re-published, so it never replaces the good
response for its URL in md.markets. A worker that meets a
venue's websocket frames without its markets reads that topic; if they are not there it
peeks at the market frames still ahead of the group on md.raw (``raw_markets_reader``: its
own next batches, or another worker's partitions), and only then waits up to
``markets_wait_s`` once per venue for a connector to publish them. So a worker never needs
the market frames that sit on another partition, before its start, or later in its own
fetch order (a lone worker at a group's start). The stage also
tracks the offsets it processed per md.raw partition: a partition first seen at an offset
> 0, or one that was revoked and comes back at another offset than the next one this worker
expected (it was processed elsewhere meanwhile), hands the venues of that partition over to
a fresh state (:meth:`Normalizer.handover`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence, Set
from itertools import groupby
from operator import attrgetter, methodcaller
from typing import Any

from tapewire.core.records import Record
from tapewire.schemas.codec import Codec
from tapewire.streams.normalize import NormalizeError, Normalizer
from tapewire.streams.normalize.normalizer import (
    BOOK,
    COVERAGE,
    DERIVATIVES,
    DLQ,
    QUOTES,
    TRADES,
)
from tapewire.streams.stages.base import Emitter, InMsg, OutMsg
from tapewire.streams.stages.latency import FeedHealth

log = logging.getLogger(__name__)

_PARTITION = attrgetter("partition")
_VENUE = methodcaller("get", "venue")
_TRANSPORT = methodcaller("get", "transport")
_RECEIVE = methodcaller("get", "receive_ts_ns")


def _nothing() -> None:
    """A flush with nothing to flush."""


SOURCE = "md.raw"
MARKETS = "md.markets"

_MARKETS_POLL_S = 0.25

MarketsReader = Callable[[], Iterable[Record]]
"""Returns the decoded RawFrame records of ``md.markets``, in publish order."""

RawMarketsReader = Callable[[Set[str]], Iterable[Record]]
"""Returns the REST RawFrames of the given venues still ahead of the consumer group on
``md.raw`` (read-only, bounded; see :func:`tapewire.runtime.kafka_io.peek_raw_markets`)."""


class NormalizeStage:
    """One batch of RawFrame bytes -> encoded normalizer outputs (pure, no Kafka).

    ``markets_reader`` (the Kafka read of ``md.markets``, see :func:`read_markets`) is
    called when a batch holds a websocket frame of a venue without markets and either joins
    a partition (first seen, or back after a revocation) or ``markets_retry_s`` passed
    since the last read; the first time a venue's markets are missing it is polled for up
    to ``markets_wait_s`` (a connector may be about to publish them), after one
    ``raw_markets_reader`` peek at the market frames ahead on md.raw (:func:`peek_raw_markets
    <tapewire.runtime.kafka_io.peek_raw_markets>`; read-only). ``republish_markets``
    sends every market REST frame seen on md.raw to ``md.markets`` (key ``venue:rest_url``,
    value unchanged). ``new_normalizer`` makes the state of one md.raw partition.
    """

    name = "normalize"
    source_topic = SOURCE

    def __init__(
        self,
        codec: Codec,
        kafka_name: Callable[[str], str] = str,
        new_normalizer: Callable[[], Normalizer] = Normalizer,
        *,
        markets_reader: MarketsReader | None = None,
        raw_markets_reader: RawMarketsReader | None = None,
        republish_markets: bool = True,
        markets_retry_s: float = 1.0,
        markets_wait_s: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.codec = codec
        self.new_normalizer = new_normalizer
        self.normalizers: dict[int, Normalizer] = {}
        """md.raw partition (-1 without one) -> its state; at most one per partition."""
        self._probe = new_normalizer()  # answers knows_venue / markets_path, holds no venue
        self.emitter = Emitter(codec, self.name, kafka_name, DLQ)
        serde = codec.for_topic(SOURCE)
        self._read: Callable[[bytes], Record] = serde.decode
        self._fast_read = serde.fast_decoder
        self._header = serde.header
        self.markets_reader = markets_reader
        self.raw_markets_reader = raw_markets_reader
        self.raw_peeks = 0
        self.republish_markets = republish_markets
        self.markets_retry_s = markets_retry_s
        self.markets_wait_s = markets_wait_s
        self.monotonic = monotonic
        self.sleep = sleep
        self.markets_loads = 0
        self._last_load: float | None = None
        self._market_frames: dict[str, dict[str, Record]] = {}
        """venue -> URL key (:func:`rest_key`) -> its latest valid market REST frame (from
        md.raw or md.markets)."""
        self._replaced: dict[int, Record | None] = {}
        """id of a batch's market message -> the frame it replaced in ``_market_frames``."""
        self._refused: set[tuple[int | None, int | None]] = set()
        """(partition, offset) of the batch's frames that became dead letters."""
        self._waited: set[str] = set()
        self._next_offset: dict[int, int] = {}
        self._revoked: set[int] = set()
        self._revoked_lock = threading.Lock()
        self._midway: dict[int, bool] = {}
        """md.raw partition -> this worker joined its stream mid-way (after other workers)."""
        self._venues: dict[int, set[str]] = {}
        """md.raw partition -> venues seen on it since it was (re)joined."""
        self.handovers: list[tuple[int, str]] = []
        """(partition, venue) of every hand-over so far (for tests and logs)."""
        self.health = FeedHealth()
        """Feed freshness, gaps and latency metrics (``docs/observability.md``)."""

    def partitions_revoked(self, partitions: Set[int]) -> None:
        """md.raw partitions this worker lost (Faust's ``on_partitions_revoked``; any thread).
        If one comes back at another offset than expected, its venues are handed over."""
        with self._revoked_lock:
            self._revoked |= set(partitions)

    def process(self, batch: Sequence[InMsg]) -> list[OutMsg]:
        """Decode, normalize the batch in order, encode every output record."""
        with self._revoked_lock:
            revoked, self._revoked = self._revoked, set()
        frames_in, failed = self._decode(batch)
        if failed or not self._one_run(batch, frames_in, revoked):
            self._general(batch, frames_in, revoked)
        if revoked:  # revoked partitions not seen again yet: check them when they come back
            with self._revoked_lock:
                self._revoked |= revoked
        return self.emitter.take()

    def _one_run(
        self, batch: Sequence[InMsg], frames: list[Record | None], revoked: set[int]
    ) -> bool:
        """The common batch in few steps: every message decoded, one partition, no REST
        frame; the same work and outputs as :meth:`_general`, with the per-frame checks done
        per batch (in C) and per run of one venue. False (nothing done) for any other batch."""
        if not batch:
            return False
        first = batch[0]
        p, end = first.partition, batch[-1].offset
        if p is not None and (first.offset is None or end is None or p in revoked):
            return False  # offsets missing, or a revoked partition: the per-message tracking
        n = len(batch)
        if n > 1 and list(map(_PARTITION, batch)).count(p) != n:
            return False
        venues = list(map(_VENUE, frames))
        venue = venues[0]
        if venues.count(venue) == n:
            runs = [(venue, n)]
        else:
            runs = [(v, len(list(group))) for v, group in groupby(venues)]
        if "REST" in map(_TRANSPORT, frames):
            return False
        newest: dict[str, int] = {}
        start = 0
        for venue, size in runs:
            if venue.__class__ is not str:
                return False  # (a str subclass too) skipped by the general path's checks
            try:
                receive = max(map(_RECEIVE, frames[start : start + size]))
            except TypeError:  # a frame without an int receive time: skipped there too
                return False
            if receive.__class__ is not int:
                return False
            if receive > newest.get(venue, 0):
                newest[venue] = receive
            start += size
        self._maybe_load_markets({v for v, _ in runs}, lambda: self._rejoined(batch, revoked))
        # of one partition not in ``revoked``, only the first message can (re)join it; the
        # others only advance its expected offset, to the last one's next
        joined = self._track(first, revoked)
        if p is not None and end is not None:
            self._next_offset[p] = end + 1
        partition = p if p is not None else -1
        norm = self.normalizers.get(partition) or self._normalizer(partition)
        if len(runs) == 1:
            self._see_venue(norm, partition, venue, joined, _nothing)
            self._emit(norm.process_batch(frames, batch))  # type: ignore[arg-type]
        else:
            self._runs(norm, partition, runs, batch, frames, joined)
        self.health.frames(newest)
        self.health.publish(self.normalizers.values())
        self._refused.clear()
        return True

    def _runs(
        self,
        norm: Normalizer,
        partition: int,
        runs: list[tuple[str, int]],
        batch: Sequence[InMsg],
        frames: list[Record | None],
        joined: bool,
    ) -> None:
        """The frames of one partition, one run of a venue after the other: each change of
        venue is seen, the frames before it flushed when that needs it."""
        start = flushed = 0

        def flush() -> None:
            nonlocal flushed
            if start > flushed:
                some: Any = frames[flushed:start]  # all decoded (no None)
                self._emit(norm.process_batch(some, batch[flushed:start]))
                flushed = start

        for venue, size in runs:
            self._see_venue(norm, partition, venue, joined and not start, flush)
            start += size
        flush()

    def _general(
        self, batch: Sequence[InMsg], frames_in: list[Record | None], revoked: set[int]
    ) -> None:
        """Any batch: market frames first, then every frame in order, split per partition
        state and checked at every change of partition or venue."""
        market_msgs = self._collect_markets(batch, frames_in)
        if self.markets_reader is not None:
            self._maybe_load_markets(
                self._ws_venues(frames_in), lambda: self._rejoined(batch, revoked)
            )
        norm: Normalizer | None = None
        frames: list[Record] = []
        # an InMsg has SourceRef's four fields (all the normalizer reads for a dead letter's
        # provenance): passed as is, no frozen SourceRef built per frame
        refs: list[Any] = []
        newest: dict[str, int] = {}
        last: tuple[int, str] | None = None  # (partition, venue) of the previous frame

        def flush() -> None:
            if frames and norm is not None:
                self._emit(norm.process_batch(frames, refs))
                frames.clear()
                refs.clear()

        for msg, frame in zip(
            batch, frames_in, strict=True
        ):  # every message advances its partition
            joined = self._track(msg, revoked)
            if frame is None:
                continue
            partition = msg.partition if msg.partition is not None else -1
            state = self.normalizers.get(partition) or self._normalizer(partition)
            if state is not norm:
                flush()
                norm = state
                last = None
            venue = frame.get("venue")
            if isinstance(venue, str):
                receive = frame.get("receive_ts_ns")
                if receive.__class__ is int and receive > newest.get(venue, 0):
                    newest[venue] = receive
                if joined or last != (partition, venue):  # same as the frame before: done
                    last = (partition, venue)
                    self._see_venue(norm, partition, venue, joined, flush)
            frames.append(frame)
            refs.append(msg)
        flush()
        self.health.frames(newest)
        self.health.publish(self.normalizers.values())
        self._republish(
            [
                (msg, frame)
                for msg, frame in zip(batch, frames_in, strict=True)
                if frame is not None and id(msg) in market_msgs
            ]
            if market_msgs
            else []
        )

    def _rejoined(self, batch: Sequence[InMsg], revoked: set[int]) -> bool:
        """A partition of ``batch`` is (re)joined: first seen, or back after a revocation."""
        return any(
            m.partition is not None
            and (m.partition not in self._next_offset or m.partition in revoked)
            for m in batch
        )

    def _decode(self, batch: Sequence[InMsg]) -> tuple[list[Record | None], bool]:
        """Every message's RawFrame (None: dead-lettered), as a dict when read from bytes
        (the normalizer reads frames by key: ``dict.get`` is cheaper than a record's), and
        whether any message was dead-lettered."""
        decode, fast, header = self._read, self._fast_read, self._header
        out: list[Record | None] = []
        append = out.append
        failed = False
        for msg in batch:
            record = msg.record
            if record is not None:
                append(record)
                continue
            value = msg.value
            # the serde's generated reader without its call (decode tries it first too)
            if fast is not None and value.__class__ is bytes and value.startswith(header):
                try:
                    append(fast(value))
                    continue
                except Exception:  # noqa: S110 - decode below reads it or says what is wrong
                    pass
            try:
                if value is None:
                    raise ValueError("tombstone (null value)")
                append(decode(value))
            except Exception as exc:
                append(None)
                failed = True
                self.emitter.dead(
                    source_topic=SOURCE,
                    payload=msg.value or b"",
                    error_type="DecodeError",
                    reason=f"{type(exc).__name__}: {exc}",
                    msg=msg,
                )
        return out, failed

    def _see_venue(
        self,
        norm: Normalizer,
        partition: int,
        venue: str,
        joined: bool,
        flush: Callable[[], None],
    ) -> None:
        """A frame of ``venue`` on ``partition``: hand the venue over if this worker joined
        the partition mid-way, load its markets if they are here and not yet loaded."""
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
        if not norm.has_markets(venue) and venue in self._market_frames:
            flush()
            self._load_into(norm, venue)

    def _normalizer(self, partition: int) -> Normalizer:
        norm = self.normalizers.get(partition)
        if norm is None:
            norm = self.normalizers[partition] = self.new_normalizer()
        return norm

    def _collect_markets(self, batch: Sequence[InMsg], frames: list[Record | None]) -> set[int]:
        """Keep the batch's valid market REST frames (venue-wide, so any partition's
        normalizer may need them before their place in the batch); ids of the messages to
        re-publish. An invalid one is left to its normalizer, which dead-letters it."""
        republish: set[int] = set()
        for msg, frame in zip(batch, frames, strict=True):
            if frame is None or frame.get("transport") != "REST":  # only REST carry markets
                continue
            key = self._probe.markets_path(frame)
            if key is None:
                continue
            previous = self._keep_market_frame(frame, key)
            if self.republish_markets:
                republish.add(id(msg))
                self._replaced[id(msg)] = previous
        return republish

    def _keep_market_frame(self, frame: Record, key: str) -> Record | None:
        """Keep ``frame`` as its venue's response for URL ``key``; the one it replaces."""
        venue = frame.get("venue")
        if not isinstance(venue, str):
            return None
        kept = self._market_frames.setdefault(venue, {})
        previous = kept.get(key)
        kept[key] = frame
        return previous

    def _republish(self, market: list[tuple[InMsg, Record]]) -> None:
        """Send the batch's market frames to ``md.markets``, except those their normalizer
        refused (a dead letter): those are dropped here too and the response they would have
        replaced is kept."""
        for msg, frame in market:
            previous = self._replaced.pop(id(msg), None)
            if (msg.partition, msg.offset) in self._refused:
                url_key = self._probe.market_url(frame)
                kept = self._market_frames.get(str(frame.get("venue")), {})
                if url_key is not None and kept.get(url_key) is frame:
                    if previous is None:
                        del kept[url_key]
                    else:
                        kept[url_key] = previous
                continue
            try:
                key = self.codec.key(MARKETS, frame)
            except Exception:  # no rest_url string: nothing to key it by
                log.warning("normalize: market frame without rest_url not re-published")
            else:
                self.emitter.emit_raw(MARKETS, key, msg.value or b"")
        self._refused.clear()

    def _load_into(self, norm: Normalizer, venue: str) -> None:
        try:
            norm.load_markets(venue, self._market_frames[venue].values())
        except NormalizeError as exc:  # the frames themselves dead-letter when processed
            log.error("normalize: %s", exc)

    def _emit(self, result: Any) -> None:
        emitter = self.emitter
        for topic in (TRADES, BOOK, QUOTES, COVERAGE, DERIVATIVES):
            emitter.emit_many(topic, result[topic])
        self.health.outputs({topic: result[topic] for topic in (TRADES, BOOK, QUOTES, COVERAGE)})
        for dead in result[DLQ]:
            if dead.get("source_offset") is not None:
                self._refused.add((dead.get("source_partition"), dead.get("source_offset")))
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

    @staticmethod
    def _ws_venues(frames: list[Record | None]) -> set[str]:
        """The venues of the websocket frames among ``frames``."""
        return {
            venue
            for f in frames
            if f is not None
            and f.get("transport") != "REST"
            and isinstance(venue := f.get("venue"), str)
        }

    def _maybe_load_markets(self, venues: Iterable[str], rejoined_now: Callable[[], bool]) -> None:
        """Read ``md.markets`` if a websocket frame's venue (``venues``: those of the batch)
        has no market frames here and either a partition is (re)joined in this batch
        (``rejoined_now()``; a take-over: its market frames are in md.markets by then) or
        ``markets_retry_s`` passed since the last read. The first
        time a venue is missing (or at a join), peek at md.raw after the first read: at the
        start of a consumer group the frames may sit later in this worker's own fetch order
        or on another worker's partition, unprocessed. Then poll for up to
        ``markets_wait_s`` the first time a venue is missing.
        """
        if self.markets_reader is None:
            return
        probe = self._probe
        missing = {
            venue
            for venue in venues
            if probe.knows_venue(venue)
            and not probe.has_markets(venue)
            and venue not in self._market_frames
        }
        if not missing:
            return
        rejoined = rejoined_now()  # a partition of the batch is (re)joined
        now = self.monotonic()
        due = self._last_load is None or now - self._last_load >= self.markets_retry_s
        if not (rejoined or due or missing - self._waited):
            return
        first = bool(missing - self._waited)
        polls = 1 + (int(self.markets_wait_s / _MARKETS_POLL_S) if first else 0)
        self._waited |= missing
        for poll in range(polls):
            if poll:
                self.sleep(_MARKETS_POLL_S)
            self._last_load = self.monotonic()
            self.load_markets(self.markets_reader())
            missing -= self._market_frames.keys()
            if missing and poll == 0 and (first or rejoined):
                missing -= set(self._peek_raw(missing))
            if not missing:
                break

    def _peek_raw(self, venues: Set[str]) -> list[str]:
        """Load ``venues``' markets from the market REST frames still ahead on md.raw (this
        worker's next batches or another worker's partitions); the venues found."""
        if self.raw_markets_reader is None:
            return []
        found = self.load_markets(self.raw_markets_reader(venues), source=SOURCE)
        self.raw_peeks += 1
        return found

    def load_markets(self, records: Iterable[Record], source: str = MARKETS) -> list[str]:
        """Keep the market frames of ``records`` (read from ``source``: ``md.markets``, or
        md.raw ahead of this worker) for every venue that has none here yet; returns those
        venues. Each partition's normalizer loads them when it first needs them
        (``markets_loads`` counts the md.markets reads, ``raw_peeks`` the md.raw ones)."""
        if source == MARKETS:
            self.markets_loads += 1
        added: set[str] = set()
        for record in records:
            venue = record.get("venue")
            key = self._probe.markets_path(record) if isinstance(venue, str) else None
            if not isinstance(venue, str) or key is None:
                continue  # an invalid frame (written by an older version) never replaces one
            if venue in self._market_frames and venue not in added:
                continue
            added.add(venue)
            self._keep_market_frame(record, key)
        if added:
            log.info("normalize: markets of %s read from %s", ", ".join(sorted(added)), source)
        return sorted(added)
