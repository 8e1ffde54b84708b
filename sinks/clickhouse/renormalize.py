"""Re-normalize a stored time range: ``raw_frames`` -> current Normalizer -> md tables.

:func:`renormalize` replaces, per venue, every row the normalizer wrote for frames
received in ``[from_ns, to_ns)``: ``trades``, ``book_updates``, ``quotes`` and the
normalizer's ``dead_letters`` by the frame's receive time, ``coverage`` by ``from_ts``.
Design and guarantees (``docs/normalizer.md``, "Re-normalizing history"):

* **Exact state.** Processing starts at the first stored frame of every connection that
  has a frame in the range (warm-up: books, sequence checks and trade dedup are in the
  state a normalizer that saw the whole connection would have), and market metadata is
  loaded first from the latest REST frame per URL before ``to_ns``, as the normalize stage
  does with its markets pre-pass. Only records of the range are written. Coverage events
  of the range that are emitted after it (a gap found, or a book resynced, by a later
  frame) are collected from a bounded tail of frames after ``to_ns``.
* **Replace = delete, then insert.** A lightweight ``DELETE`` (synchronous) removes the
  range's rows of each venue, then the new rows are inserted with
  ``normalizer_version`` set. Every insert carries an ``insert_deduplication_token``
  unique to this run: the md tables deduplicate inserts (tokens, or block hashes), so
  re-inserting the very rows a previous run wrote would otherwise be dropped silently
  after the delete.
* **Idempotent, restartable.** Raw frames are never changed, and a run computes its rows
  from them alone, so running the same range again gives the same rows once each; a run
  interrupted after its delete leaves the range incomplete until it is run again.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from clickhouse_connect.driver.client import Client

from tapewire.core.errors import ClickHouseError
from tapewire.core.records import TypedRecord
from tapewire.core.timestamps import format_ns
from tapewire.sinks.clickhouse.raw_frames import (
    StoredFrame,
    count_frames,
    iter_frames,
    market_candidates,
    venues_in_range,
    warmup_start_ns,
)
from tapewire.sinks.clickhouse.rows import mapping_for_topic
from tapewire.streams.normalize import NormalizeError, Normalizer, SourceRef
from tapewire.streams.normalize.normalizer import (
    BOOK,
    COVERAGE,
    DERIVATIVES,
    DLQ,
    QUOTES,
    TRADES,
)
from tapewire.streams.normalize.version import NORMALIZER_VERSION

__all__ = [
    "DEFAULT_TAIL_NS",
    "TABLES",
    "RenormalizeError",
    "RenormalizeReport",
    "renormalize",
]

DEFAULT_TAIL_NS = 600 * 1_000_000_000
"""How far past ``to_ns`` frames are read for the range's late coverage events."""
SOURCE_TOPIC = "md.raw"
"""``kafka_topic`` of the rows written here: their provenance is the raw frame's."""

_NS = "fromUnixTimestamp64Nano({%s:Int64}, 'UTC')"


@dataclass(frozen=True)
class _Target:
    topic: str
    table: str
    where: str
    """Rows of venue ``{v}`` in ``[{f}, {t})`` written by the normalizer."""


def _venue_time(column: str) -> str:
    return f"venue = {{v:String}} AND {column} >= {_NS % 'f'} AND {column} < {_NS % 't'}"


_TARGETS = (
    _Target(TRADES, "trades", _venue_time("receive_ts")),
    _Target(BOOK, "book_updates", _venue_time("receive_ts")),
    _Target(QUOTES, "quotes", _venue_time("receive_ts")),
    _Target(DERIVATIVES, "derivatives", _venue_time("receive_ts")),
    _Target(COVERAGE, "coverage", _venue_time("from_ts")),
    _Target(
        DLQ,
        "dead_letters",
        "stage = 'normalize' AND source_topic = 'md.raw' AND labels['venue'] = {v:String} "
        "AND toInt64OrNull(labels['receive_ts_ns']) >= {f:Int64} "
        "AND toInt64OrNull(labels['receive_ts_ns']) < {t:Int64}",
    ),
)
TABLES: tuple[str, ...] = tuple(t.table for t in _TARGETS)
"""The tables a run rewrites (besides reading ``raw_frames``)."""


class RenormalizeError(ClickHouseError):
    """The range cannot be re-normalized (empty, unknown venue, tables missing)."""


@dataclass
class RenormalizeReport:
    """What a run read and wrote (or, dry, would write)."""

    from_ns: int
    to_ns: int
    venues: list[str]
    normalizer_version: str
    dry_run: bool
    run_id: str
    frames: int = 0
    """Frames processed, warm-up and tail included."""
    frames_in_range: int = 0
    old_rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    """Rows of the range before the run, per table."""
    new_rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    """Rows of the range written (dry run: that would be written), per table."""
    unsettled_books: list[str] = field(default_factory=list)
    """``venue:instrument`` of the range with no update within the tail: a gap that a later
    frame finds, starting in the range, is not written (no such frame stored yet, or the
    tail is too short)."""


Progress = Callable[[int, int], None]
"""Called with (frames processed, frames to process)."""


def renormalize(
    client: Client,
    from_ns: int,
    to_ns: int,
    *,
    venue: str | None = None,
    dry_run: bool = False,
    on_progress: Progress | None = None,
    new_normalizer: Callable[[], Normalizer] = Normalizer,
    tail_ns: int = DEFAULT_TAIL_NS,
    insert_rows: int = 50_000,
) -> RenormalizeReport:
    """Replace the md rows of ``[from_ns, to_ns)`` (one venue, or every venue with frames
    there) by the current normalizer's; see the module docstring for the guarantees."""
    if from_ns >= to_ns:
        raise RenormalizeError(
            f"empty range: from {format_ns(from_ns)} is not before to {format_ns(to_ns)}",
            hint="--from is inclusive, --to exclusive",
        )
    _check_tables(client)
    venues = _venues(client, from_ns, to_ns, venue, new_normalizer)
    report = RenormalizeReport(
        from_ns, to_ns, venues, NORMALIZER_VERSION, dry_run, uuid.uuid4().hex
    )
    plans: list[tuple[str, int, int]] = []
    for name in venues:
        start = warmup_start_ns(client, name, from_ns, to_ns)
        start = from_ns if start is None else min(start, from_ns)
        plans.append((name, start, count_frames(client, name, start, to_ns)))
    total = sum(n for *_, n in plans)
    for name, *_ in plans:
        for target in _TARGETS:
            report.old_rows[target.table] += _count(client, target, name, from_ns, to_ns)
    done = 0
    for name, start, _ in plans:
        if not dry_run:
            for target in _TARGETS:
                _delete(client, target, name, from_ns, to_ns)
        writer = _Writer(client, report, insert_rows)
        done += _run_venue(
            client,
            report,
            name,
            start,
            new_normalizer(),
            writer,
            tail_ns,
            _Ticker(on_progress, done, total),
        )
        writer.flush()
    if on_progress is not None:
        on_progress(total, total)
    return report


def _check_tables(client: Client) -> None:
    database = client.database or "default"
    wanted = ("raw_frames", *TABLES)
    result = client.query(
        "SELECT table, countIf(name = 'normalizer_version') FROM system.columns "
        "WHERE database = {db:String} AND table IN {names:Array(String)} GROUP BY table",
        parameters={"db": database, "names": list(wanted)},
    )
    found = {str(table): int(n) for table, n in result.result_rows}
    missing = [t for t in wanted if t not in found]
    unversioned = [t for t in TABLES if t in found and not found[t]]
    if missing or unversioned:
        what = f"tables {', '.join(missing)} missing" if missing else ""
        if unversioned:
            what += ("; " if what else "") + (
                f"tables {', '.join(unversioned)} lack the normalizer_version column"
            )
        raise RenormalizeError(
            f"database {database!r} is not ready to re-normalize: {what}",
            hint="run `tapewire migrate` (migration 0005_normalizer_version adds the column)",
        )


def _venues(
    client: Client,
    from_ns: int,
    to_ns: int,
    venue: str | None,
    new_normalizer: Callable[[], Normalizer],
) -> list[str]:
    span = f"[{format_ns(from_ns)}, {format_ns(to_ns)})"
    if venue is None:
        found = venues_in_range(client, from_ns, to_ns)
        if not found:
            raise RenormalizeError(
                f"no raw frames received in {span}", hint=_stored_span(client, None)
            )
        return found
    probe = new_normalizer()
    if not probe.knows_venue(venue):
        stored = client.query("SELECT DISTINCT venue FROM raw_frames ORDER BY venue")
        known = [str(r[0]) for r in stored.result_rows if probe.knows_venue(str(r[0]))]
        raise RenormalizeError(
            f"unknown venue {venue!r}: the normalizer has no mapper for it",
            hint=f"venues with stored frames it can normalize: {', '.join(known) or 'none'}",
        )
    if count_frames(client, venue, from_ns, to_ns) == 0:
        raise RenormalizeError(
            f"no raw frames of {venue} received in {span}", hint=_stored_span(client, venue)
        )
    return [venue]


def _stored_span(client: Client, venue: str | None) -> str:
    where = "WHERE venue = {v:String}" if venue else ""
    result = client.query(
        "SELECT count(), toUnixTimestamp64Nano(min(receive_ts)), "
        f"toUnixTimestamp64Nano(max(receive_ts)) FROM raw_frames {where}",
        parameters={"v": venue or ""},
    )
    count, first, last = result.result_rows[0]
    whose = f"{venue}'s raw frames" if venue else "raw_frames"
    if not int(count):
        return f"{whose}: none stored"
    return f"{whose} span {format_ns(int(first))} to {format_ns(int(last))}"


def _params(venue: str, from_ns: int, to_ns: int) -> dict[str, Any]:
    return {"v": venue, "f": from_ns, "t": to_ns}


def _count(client: Client, target: _Target, venue: str, from_ns: int, to_ns: int) -> int:
    result = client.query(
        f"SELECT count() FROM {target.table} WHERE {target.where}",
        parameters=_params(venue, from_ns, to_ns),
    )
    return int(result.result_rows[0][0])


def _delete(client: Client, target: _Target, venue: str, from_ns: int, to_ns: int) -> None:
    client.command(
        f"DELETE FROM {target.table} WHERE {target.where}",
        parameters=_params(venue, from_ns, to_ns),
        settings={"lightweight_deletes_sync": 2},
    )


class _Writer:
    """Rows per table, inserted in blocks with tokens unique to this run."""

    def __init__(self, client: Client, report: RenormalizeReport, insert_rows: int) -> None:
        self._client = client
        self._report = report
        self._limit = insert_rows
        self._rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in TABLES}
        self._columns = {
            t.table: (*mapping_for_topic(t.topic).columns, "normalizer_version") for t in _TARGETS
        }
        self._blocks = 0
        self._pending = 0

    def add(self, target: _Target, record: TypedRecord, source: StoredFrame) -> None:
        mapping = mapping_for_topic(target.topic)
        self._rows[target.table].append(
            (
                *mapping.to_values(record),
                SOURCE_TOPIC,
                source.kafka_partition,
                source.kafka_offset,
                NORMALIZER_VERSION,
            )
        )
        self._report.new_rows[target.table] += 1
        self._pending += 1
        if self._pending >= self._limit:
            self.flush()

    def flush(self) -> None:
        for table, rows in self._rows.items():
            if rows and not self._report.dry_run:
                self._blocks += 1
                token = f"renormalize:{self._report.run_id}:{table}:{self._blocks}"
                self._client.insert(
                    table,
                    rows,
                    column_names=list(self._columns[table]),
                    settings={"insert_deduplication_token": token},
                )
            rows.clear()
        self._pending = 0


_BY_TOPIC = {t.topic: t for t in _TARGETS}


@dataclass(frozen=True)
class _Ticker:
    """Progress of one venue, reported as part of the whole run."""

    callback: Progress | None
    base: int
    total: int

    def __call__(self, processed: int) -> None:
        if self.callback is not None:
            self.callback(self.base + processed, self.total)


def _record_ns(topic: str, record: TypedRecord, frame_ns: int) -> int:
    """The time that puts ``record`` in a range: coverage by ``from_ns``, others by frame."""
    if topic == COVERAGE:
        value: int = record["from_ns"]
        return value
    return frame_ns


def _run_venue(
    client: Client,
    report: RenormalizeReport,
    venue: str,
    start_ns: int,
    norm: Normalizer,
    writer: _Writer,
    tail_ns: int,
    progress: _Ticker,
) -> int:
    """Normalize ``venue`` from ``start_ns`` to the range's end, then the tail; returns
    the frames processed before the tail."""
    from_ns, to_ns = report.from_ns, report.to_ns
    markets = market_candidates(client, venue, to_ns)
    with contextlib.suppress(NormalizeError):  # the frames dead-letter when processed
        norm.load_markets(venue, (m.frame for m in markets))
    books: set[str] = set()
    processed = 0
    for stored in iter_frames(client, venue, start_ns, to_ns):
        frame_ns = stored.receive_ts_ns
        report.frames_in_range += frame_ns >= from_ns
        result = norm.process(stored.frame, SourceRef(stored.kafka_partition, stored.kafka_offset))
        for topic, records in result.records.items():
            target = _BY_TOPIC[topic]
            for record in records:
                if from_ns <= _record_ns(topic, record, frame_ns) < to_ns:
                    writer.add(target, record, stored)
                    if topic in (BOOK, COVERAGE):
                        books.add(record["instrument"])
        processed += 1
        if processed % 256 == 0:
            progress(processed)
    report.frames += processed
    _tail(client, report, venue, norm, writer, books, tail_ns)
    return processed


def _tail(
    client: Client,
    report: RenormalizeReport,
    venue: str,
    norm: Normalizer,
    writer: _Writer,
    books: set[str],
    tail_ns: int,
) -> None:
    """Read on past the range, keeping only coverage events that start in it, until every
    book of the range has published an update after ``to_ns`` (it is LIVE then, so a
    later gap starts after the range, and an open gap of the range has resynced)."""
    from_ns, to_ns = report.from_ns, report.to_ns
    waiting = set(books)
    if not waiting:
        return
    for stored in iter_frames(client, venue, to_ns, to_ns + tail_ns):
        result = norm.process(stored.frame, SourceRef(stored.kafka_partition, stored.kafka_offset))
        report.frames += 1
        for record in result.records[COVERAGE]:
            if from_ns <= record["from_ns"] < to_ns:
                writer.add(_BY_TOPIC[COVERAGE], record, stored)
        waiting.difference_update(r["instrument"] for r in result.records[BOOK])
        if not waiting:
            return
    report.unsettled_books.extend(f"{venue}:{i}" for i in sorted(waiting))
