"""``md.raw`` RawFrame records -> Trade, BookUpdate, Quote, coverage and DeadLetter records.

Pure code, no Kafka: :meth:`Normalizer.process` takes one decoded RawFrame dict and returns a
:class:`NormalizeResult` listing the output records per topic. It never raises.

Books follow a per-(venue, instrument) state machine::

    SYNCING --snapshot--> LIVE --gap | checksum | handler error | new connection--> RESYNCING
    RESYNCING --fresh snapshot--> LIVE

Book records are published only while LIVE (the snapshot that enters LIVE included).

Market metadata: a venue is created when ccxt's own ``load_markets`` succeeds on its
captured venue-wide REST frames (seen on md.raw or given with :meth:`Normalizer.load_markets`;
the worker shell reads them from the compacted ``md.markets`` topic, so a worker that takes
over a venue's md.raw partition has them). ccxt's requests are answered by full URL (path and
sorted query, :func:`~tapewire.streams.normalize.ccxt_offline.rest_key`), with no per-venue
list of paths; a request that was not captured is an ``UncapturedRest`` error naming the URL.
A REST frame that is not a valid market response (non-2xx, not JSON, an error answer ccxt's
``handle_errors`` rejects, a body ccxt cannot load) is a dead letter and never replaces the
good response kept for its URL.
After :meth:`Normalizer.handover` (the shell saw that the venue's md.raw partition was
processed elsewhere before), a book whose first frame is a delta on a connection joined
mid-way cannot be continued: a coverage ``GAP`` (reason ``rebalance``) is opened and the
next snapshot closes it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any, Protocol
from urllib.parse import urlparse

from tapewire.core.bounded import Generations
from tapewire.core.exact import WIDE_PARSE
from tapewire.core.instruments import Instrument
from tapewire.core.records import Record, TypedRecord
from tapewire.records.dead_letters import DeadLetter
from tapewire.records.market import BookUpdate, CoverageEvent, Quote, Trade
from tapewire.streams.normalize.books.state import BookState
from tapewire.streams.normalize.ccxt_offline import (
    FrameResult,
    OfflineVenue,
    RecordingOrderBook,
    UncapturedRequest,
    market_response_error,
    rest_key,
)
from tapewire.streams.normalize.decimals import exact as _exact
from tapewire.streams.normalize.decimals import exact_or_none as _exact_or_none
from tapewire.streams.normalize.decimals import level as _level
from tapewire.streams.normalize.dedup import TradeDeduper
from tapewire.streams.normalize.errors import NormalizeError
from tapewire.streams.normalize.mappers import NATIVE_MAPPERS, Mapper
from tapewire.streams.normalize.native import NativeVenue
from tapewire.streams.normalize.venues import ADAPTERS, BookMeta, VenueAdapter
from tapewire.streams.normalize.venues.generic import generic_adapter

__all__ = [
    "BOOK",
    "COVERAGE",
    "DERIVATIVES",
    "DLQ",
    "QUOTES",
    "TOPICS",
    "TRADES",
    "BookState",
    "NormalizeError",
    "NormalizeResult",
    "Normalizer",
    "SourceRef",
]

TRADES, BOOK, QUOTES, COVERAGE, DLQ = (
    "md.trades",
    "md.book",
    "md.quotes",
    "md.coverage",
    "dlq.normalize",
)
DERIVATIVES = "md.derivatives"
TOPICS = (TRADES, BOOK, QUOTES, COVERAGE, DLQ, DERIVATIVES)
_NATIVE_TOPICS = (TRADES, BOOK, QUOTES, COVERAGE, DERIVATIVES)
_BYTES = (bytes, bytearray)
REBALANCE = "rebalance"
"""Coverage reason: the book's earlier frames were processed by another worker (a rebalance
or a restart moved the md.raw partition); this one cannot continue the book."""
INTEGRITY_UNVERIFIED = "integrity_unverified"
"""Coverage reason: the book went live on the generic ccxt mapper, which verifies no
sequence or checksum (``RESYNC`` with ``from_ns == to_ns``, once per book)."""
SNAPSHOT_BUFFER_CAP = 1_000
"""Deltas ccxt may buffer per book while it waits for a snapshot (Binance ``cache``)."""
CONNECTIONS_CAP = 4_096
"""Connections remembered per generation (:class:`~tapewire.core.bounded.Generations`): a
connection that sent nothing while this many newer ones appeared is forgotten."""


def _checked_frame(venue: Any, payload: Any) -> tuple[str, bytes]:
    """A RawFrame's venue and payload as bytes (a bytearray copied); a SchemaError unless
    ``venue`` is a str and ``payload`` bytes or a bytearray (the hot path's slow branch)."""
    if venue.__class__ is not str or not isinstance(payload, _BYTES):
        raise NormalizeError("RawFrame needs str venue and bytes payload", error_type="SchemaError")
    return venue, bytes(payload)


@dataclass
class _Book:
    symbol: str
    state: BookState = BookState.SYNCING
    connection_id: str | None = None
    last_receive_ns: int | None = None
    gap_from_ns: int | None = None
    gap_reason: str | None = None
    seen: bool = False  # a websocket frame of this book was processed


@dataclass
class NormalizeResult:
    """Output records per topic (``md.trades``, ``md.book``, ``md.quotes``, ``md.coverage``,
    ``dlq.normalize``), in emission order, plus the number of duplicate trades dropped."""

    records: dict[str, list[TypedRecord]] = field(
        default_factory=lambda: {topic: [] for topic in TOPICS}
    )
    duplicates: int = 0

    def extend(self, other: NormalizeResult) -> None:
        """Append another result's records."""
        for topic, recs in other.records.items():
            self.records[topic].extend(recs)
        self.duplicates += other.duplicates

    def __getitem__(self, topic: str) -> list[TypedRecord]:
        return self.records[topic]


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where a RawFrame was read from (for DeadLetter provenance)."""

    partition: int | None = None
    offset: int | None = None
    key: bytes | None = None
    value: bytes | None = None


class Source(Protocol):
    """What the normalizer reads of a frame's provenance: a :class:`SourceRef` or the
    stage's consumed message (a Protocol: the compiled build checks no concrete class)."""

    @property
    def partition(self) -> int | None: ...
    @property
    def offset(self) -> int | None: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


class Normalizer:
    """Stateful normalizer for the venues of one worker (one ccxt object per venue).

    ``rest`` gives each venue's captured REST market metadata (full URL, or its path and
    query, -> body); a venue without it is created when its metadata REST frames arrive on
    md.raw. ``options`` (venue -> ccxt options, merged over the adapter's) must make ccxt
    request only what the connector captured: the connector's own ``options`` do (both
    default to ``{"fetchMarkets": {"types": ["spot"]}}``).
    """

    def __init__(
        self,
        rest: Mapping[str, Mapping[str, bytes]] | None = None,
        *,
        markets: Mapping[str, list[dict[str, Any]]] | None = None,
        adapters: Mapping[str, type[VenueAdapter]] = ADAPTERS,
        dedup_capacity: int = 10_000,
        clock: Any = time.time_ns,
        snapshot_buffer_cap: int = SNAPSHOT_BUFFER_CAP,
        connections_cap: int = CONNECTIONS_CAP,
        native: bool = True,
        native_mappers: Mapping[str, type[Mapper]] = NATIVE_MAPPERS,
        options: Mapping[str, Mapping[str, Any]] | None = None,
        fast_paths: bool = True,
    ) -> None:
        self._adapter_classes = dict(adapters)
        self._fast_paths = fast_paths
        """Whether native mappers' typed fast paths run (:meth:`Mapper.map_bytes`); off, every
        frame takes decode + map (same outputs: a switch for tests and for diagnosis)."""
        self.adapters: dict[str, VenueAdapter] = {}
        self.venues: dict[str, OfflineVenue] = {}
        self._options = {venue: dict(opts) for venue, opts in (options or {}).items()}
        self._market_rest: dict[str, dict[str, bytes]] = {}
        """venue -> rest_key -> the last good market response for that URL."""
        self._rejected_rest: dict[str, dict[str, str]] = {}
        """venue -> rest_key -> why the last response for that URL was refused (if no good one)."""
        self._missing: dict[str, str] = {}
        """venue -> why its markets are not loaded (the URL ccxt requested and nobody captured)."""
        self._unified: dict[str, list[dict[str, Any]]] = {}
        self.books: dict[tuple[str, str], _Book] = {}
        self.dedup = TradeDeduper(dedup_capacity)
        self.clock = clock
        self.snapshot_buffer_cap = snapshot_buffer_cap
        self._instruments: dict[tuple[str, str], str] = {}
        self._joined_midway: Generations[tuple[str, str], bool] = Generations(connections_cap)
        """(venue, connection_id) -> joined mid-way (see :meth:`handover`); a connection
        is forgotten after ``connections_cap`` newer ones appeared while it sent nothing."""
        self._handed_over: set[str] = set()
        self._last_venue: str | None = None
        self._last_connection: str | None = None
        self._last_midway = False
        """The (venue, connection) of the last frame and its ``_joined_midway`` value: no
        key tuple to build and hash while frames come from one connection (reset by
        :meth:`handover`, the only change to a kept value)."""
        self._native_classes = dict(native_mappers) if native else {}
        self.native: dict[str, NativeVenue] = {}
        """Venues parsed by their native mapper (created once their markets are loaded)."""
        for venue, bodies in (rest or {}).items():
            self._market_rest[venue] = {rest_key(url): bytes(b) for url, b in bodies.items()}
            self._create(venue, rest=self._market_rest[venue])
        for venue, unified in (markets or {}).items():
            self._unified[venue] = list(unified)
            self._create(venue, markets=unified)

    # ------------------------------------------------------------------ setup
    def _adapter(self, venue: str) -> VenueAdapter:
        adapter = self.adapters.get(venue)
        if adapter is None:
            cls = self._adapter_classes.get(venue) or generic_adapter(venue)
            if cls is None:
                raise NormalizeError(
                    f"no adapter for venue {venue!r}: not a ccxt.pro exchange id",
                    error_type="UnknownVenue",
                )
            self._adapter_classes[venue] = cls
            adapter = self.adapters[venue] = cls()
        return adapter

    def _create(
        self,
        venue: str,
        rest: Mapping[str, bytes] | None = None,
        markets: list[dict[str, Any]] | None = None,
    ) -> None:
        self.venues[venue] = self._adapter(venue).create(rest, markets, self._options.get(venue))
        if venue in self._native_classes:  # its mapper and market index, built once, up front
            self._native_venue(venue)

    def book_state(self, venue: str, instrument: str) -> BookState | None:
        """State of one book, None if never seen."""
        native = self.native.get(venue)
        if native is not None:
            return native.book_state(instrument)
        book = self.books.get((venue, instrument))
        return book.state if book else None

    # ------------------------------------------------------------------ markets
    def knows_venue(self, venue: str) -> bool:
        """True when ``venue`` has an adapter (its frames can be normalized at all)."""
        return venue in self._adapter_classes or generic_adapter(venue) is not None

    def has_markets(self, venue: str) -> bool:
        """True once ``venue``'s markets are loaded (its frames can be normalized)."""
        return venue in self.venues

    def market_url(self, frame: Record) -> str | None:
        """The URL key (:func:`rest_key`: path + sorted query) if ``frame`` is a venue-wide
        REST frame of a known venue (not about one symbol, not the adapter's book snapshot
        path), whatever its status; else None. Such frames are the answers ccxt's
        ``load_markets`` may ask for; :meth:`market_frame_error` says if one is usable."""
        url = frame.get("rest_url")
        if (
            frame.get("transport") != "REST"
            or not isinstance(url, str)
            or frame.get("symbol") is not None
        ):
            return None
        cls = self._adapter_classes.get(str(frame.get("venue")))
        if cls is None or (cls.snapshot_path and urlparse(url).path == cls.snapshot_path):
            return None
        return rest_key(url)

    def market_frame_error(self, frame: Record) -> str | None:
        """Why the venue-wide REST frame ``frame`` is not a valid market response (non-2xx
        status, no payload, not JSON (an HTML error page), an error answer the venue's ccxt
        ``handle_errors`` rejects (Binance ``{"code":-1003,...}``)), or None if it is one."""
        return market_response_error(
            str(frame.get("venue")),
            str(frame.get("rest_url")),
            frame.get("rest_status"),
            frame.get("payload"),
        )

    def markets_path(self, frame: Record) -> str | None:
        """The URL key of ``frame`` if it is a valid market REST frame (:meth:`market_url`
        and no :meth:`market_frame_error`), else None: the frames the worker shell keeps and
        re-publishes to ``md.markets``."""
        key = self.market_url(frame)
        return key if key is not None and self.market_frame_error(frame) is None else None

    def load_markets(self, venue: str, frames: Iterable[Record]) -> bool:
        """Load ``venue``'s markets from its venue-wide REST frames (RawFrame dicts, in publish
        order, e.g. read from ``md.markets``); frames of other venues are ignored, and so is
        a frame that is not a valid market response (:meth:`market_frame_error`): it never
        replaces a good one for its URL.

        A venue that already has markets keeps them (and its books). Returns whether the
        venue has markets now (False when none of its frames were given). Raises
        :class:`NormalizeError`: ``UncapturedRest`` naming the URL ccxt requested that no
        frame answers, ``MarketsError`` if ccxt cannot load them (or the only response for a
        URL it needs is invalid).
        """
        self._adapter(venue)
        bodies = self._market_rest.setdefault(venue, {})
        before = dict(bodies)
        loaded = venue in self.venues
        for frame in frames:
            key = self.market_url(frame) if frame.get("venue") == venue else None
            if key is None or (loaded and key in before):  # a loaded venue keeps its responses
                continue
            error = self.market_frame_error(frame)
            if error is None:
                bodies[key] = bytes(frame["payload"])
                self._rejected_rest.get(venue, {}).pop(key, None)
            elif key not in bodies:
                self._rejected_rest.setdefault(venue, {})[key] = error
        if loaded:
            return True
        if bodies:
            try:
                self._load(venue)
            except NormalizeError as exc:
                if exc.error_type != "UncapturedRest":  # ccxt cannot load these: drop them
                    self._market_rest[venue] = before
                raise
        elif self._rejected_rest.get(venue):
            refused = "; ".join(self._rejected_rest[venue].values())
            raise NormalizeError(
                f"markets of {venue} cannot be loaded: no valid market response: {refused}",
                error_type="MarketsError",
            )
        return venue in self.venues

    def _load(self, venue: str) -> None:
        """Create ``venue`` from its kept market responses; a request ccxt makes that none
        answers is an ``UncapturedRest`` :class:`NormalizeError` (also kept as the reason of
        the venue's ``NoMarkets`` dead letters)."""
        try:
            self._create(venue, rest=self._market_rest[venue])
        except UncapturedRequest as exc:
            refused = self._rejected_rest.get(venue, {}).get(exc.key)
            if refused is not None:
                message = (
                    f"markets of {venue} cannot be loaded: ccxt requests {exc.url}, whose only "
                    f"captured response is not a valid market response: {refused}"
                )
                self._missing[venue] = message
                raise NormalizeError(message, error_type="MarketsError") from exc
            message = f"markets of {venue} not loaded: {exc}"
            self._missing[venue] = message
            raise NormalizeError(message, error_type="UncapturedRest") from exc
        except Exception as exc:
            raise NormalizeError(
                f"markets of {venue} cannot be loaded: {type(exc).__name__}: {exc}",
                error_type="MarketsError",
            ) from exc
        if not self.venues[venue].ex.markets:
            del self.venues[venue]
            raise NormalizeError(
                f"markets of {venue} cannot be loaded: ccxt found no market in the responses "
                f"to {', '.join(sorted(self._market_rest[venue]))}",
                error_type="MarketsError",
            )
        self._missing.pop(venue, None)

    def _no_markets(self, venue: str) -> NormalizeError:
        """The ``NoMarkets`` error of a frame of ``venue``, naming the missing URL if known."""
        missing = self._missing.get(venue)
        return NormalizeError(
            missing
            or f"markets of {venue} not loaded: no market REST frame of {venue} before this "
            "frame (publish the venue's market responses to md.markets or md.raw ahead of "
            "its websocket frames, then re-normalize; docs/streams.md, Rebalances)",
            error_type="NoMarkets",
        )

    def _market_frame(self, adapter: VenueAdapter, frame: Record, key: str, payload: bytes) -> None:
        """A venue-wide REST frame on md.raw: kept as the response for its URL if valid
        (else a dead letter that keeps the good one), then the venue's markets are loaded
        if they are not yet. While ccxt still requests an uncaptured URL (OKX's other
        ``instType`` responses may follow) the frame is kept, no error. A response that
        makes ccxt's load fail is a dead letter and is dropped. For a loaded venue, a new
        response for a URL its markets came from is tried on a fresh ccxt object first."""
        venue_id = adapter.venue
        url = frame.get("rest_url")
        status = frame.get("rest_status")
        error = self.market_frame_error(frame)
        if error is not None:
            kept = key in self._market_rest.get(venue_id, {})
            ok_status = status is None or (isinstance(status, int) and 200 <= status < 300)
            raise NormalizeError(
                f"{error}; not a market response"
                + ("; the last good response for this URL stays in use" if kept else ""),
                error_type="MarketsError" if ok_status else "RestError",
            )
        bodies = self._market_rest.setdefault(venue_id, {})
        previous = bodies.get(key)
        bodies[key] = payload
        try:
            if venue_id not in self.venues:
                self._load(venue_id)
            elif any(rest_key(u) == key for u in self.venues[venue_id].rest.requests):
                trial = adapter.create(bodies, None, self._options.get(venue_id))
                if not trial.ex.markets:
                    raise ValueError("ccxt found no market in it")
        except NormalizeError as exc:
            if exc.error_type == "UncapturedRest":
                return  # kept: the venue waits for the rest of its market responses
            self._refuse(venue_id, key, previous)
            raise NormalizeError(
                f"{venue_id} REST {url} (HTTP {status}): {exc.message}", error_type="MarketsError"
            ) from exc
        except Exception as exc:
            self._refuse(venue_id, key, previous)
            raise NormalizeError(
                f"{venue_id} REST {url} (HTTP {status}): ccxt cannot load markets from it: "
                f"{type(exc).__name__}: {exc}; the last good response for this URL stays in use",
                error_type="MarketsError",
            ) from exc
        self._rejected_rest.get(venue_id, {}).pop(key, None)

    def _refuse(self, venue: str, key: str, previous: bytes | None) -> None:
        bodies = self._market_rest[venue]
        if previous is None:
            del bodies[key]
        else:
            bodies[key] = previous

    def handover(self, venue: str) -> None:
        """This normalizer takes over ``venue``'s md.raw stream mid-way (a rebalance or a
        restart gave it a partition whose earlier frames another worker processed).

        Forgets the venue's books and connections (ccxt object included; a state kept from
        before would continue from a stale book) but keeps its markets. From now on, a
        connection of the venue whose first frame seen here has ``sequence > 0`` was joined
        mid-way: a book whose first frame on it is a delta gets a coverage ``GAP`` (reason
        ``rebalance``) and waits for its next snapshot, which closes the gap (``RESYNC``).
        """
        self._handed_over.add(venue)
        self._last_venue = self._last_connection = None
        self.native.pop(venue, None)
        books = [k for k in self.books if k[0] == venue]
        connections = [k for k in self._joined_midway if k[0] == venue]
        if not books and not connections:  # nothing processed yet: nothing to forget
            return
        for key in books:
            del self.books[key]
        for key in connections:
            self._joined_midway.pop(key)
        self.adapters.pop(venue, None)
        self.venues.pop(venue, None)
        if venue in self._unified:
            self._create(venue, markets=self._unified[venue])
        elif self._market_rest.get(venue):
            self.load_markets(venue, ())

    # ------------------------------------------------------------------ API
    def process_batch(
        self, frames: Iterable[Record], sources: Iterable[Source] | None = None
    ) -> NormalizeResult:
        """Process frames in order; one combined result (for a batched Faust agent)."""
        out = NormalizeResult()
        process = self._process
        with localcontext(WIDE_PARSE):
            if sources is None:
                for frame in frames:
                    try:
                        process(frame, out)
                    except Exception as exc:  # as _process_into (inlined: one call less a frame)
                        out.records[DLQ].append(self._dead_letter(frame, None, exc))
                return out
            refs = iter(sources)
            for frame in frames:
                source = next(refs, None)
                try:
                    process(frame, out)
                except Exception as exc:
                    out.records[DLQ].append(self._dead_letter(frame, source, exc))
        return out

    def process(self, raw_frame: Record, source: Source | None = None) -> NormalizeResult:
        """Normalize one RawFrame record; never raises (failures become DeadLetters)."""
        out = NormalizeResult()
        with localcontext(WIDE_PARSE):
            self._process_into(raw_frame, source, out)
        return out

    def _process_into(self, frame: Record, source: Source | None, out: NormalizeResult) -> None:
        try:
            self._process(frame, out)
        except Exception as exc:
            out.records[DLQ].append(self._dead_letter(frame, source, exc))

    def _dead_letter(self, frame: Record, source: Source | None, exc: Exception) -> DeadLetter:
        if isinstance(exc, NormalizeError):
            return self._dead(frame, source, exc.error_type, exc.message)
        # a bug or an unforeseen payload: never crash the stream
        return self._dead(frame, source, type(exc).__name__, str(exc))

    # ------------------------------------------------------------------ core
    def _process(self, frame: Record, out: NormalizeResult) -> None:
        # a decoded md.raw record has every field, and a subscript costs about a quarter of
        # a ``get`` call; a record built by hand may leave the optional ones out
        try:
            venue_id = frame["venue"]
            payload = frame["payload"]
            receive_ns = frame["receive_ts_ns"]
            connection = frame["connection_id"]
            sequence = frame["sequence"]
            transport = frame["transport"]
            status = frame["rest_status"]
        except KeyError:
            get = frame.get
            venue_id = get("venue")
            payload = get("payload")
            receive_ns = get("receive_ts_ns")
            connection = get("connection_id")
            sequence = get("sequence")
            transport = get("transport")
            status = get("rest_status")
        if venue_id.__class__ is not str or payload.__class__ is not bytes:
            venue_id, payload = _checked_frame(venue_id, payload)  # a bytearray or SchemaError
        if receive_ns.__class__ is not int:
            raise NormalizeError("RawFrame receive_ts_ns is not an int", error_type="SchemaError")
        connection_text = connection if connection.__class__ is str else str(connection)
        if connection_text == self._last_connection and venue_id == self._last_venue:
            midway = self._last_midway  # a stream's frames mostly follow one another
        else:
            conn_key = (venue_id, connection_text)
            known = self._joined_midway.current.get(conn_key)
            midway = known if known is not None else self._first_of_connection(conn_key, sequence)
            self._last_venue, self._last_connection = venue_id, connection_text
            self._last_midway = midway
        native = self.native.get(venue_id)
        if native is None and self._native_classes:
            native = self._native_venue(venue_id)
        if native is not None:
            rest = transport == "REST"
            ok = status is None or status == 200
            if ok and not rest:
                duplicates = native.process(
                    frame,
                    payload,
                    connection_text,
                    receive_ns,
                    midway,
                    out.records,
                    connection,
                    sequence,
                )
                if duplicates:
                    out.duplicates += duplicates
                return
            # market REST frames (valid or not) are the markets code's (``_rest``)
            if ok and not (rest and self.market_url(frame)):
                mapped = native.map_frame(frame, payload, connection_text, rest)
                if mapped is not None:
                    events, gap = mapped
                    out.duplicates += native.emit(
                        events, frame, receive_ns, midway, out.records, _NATIVE_TOPICS, gap
                    )
                    return
        adapter = self._adapter(venue_id)
        if frame.get("transport") == "REST":
            self._rest(adapter, frame, payload, receive_ns, out)
            return
        if frame.get("binary") and not adapter.binary_frames:
            raise NormalizeError(
                f"binary frames are not supported for {venue_id}", error_type="Unsupported"
            )
        venue = self.venues.get(venue_id)
        if venue is None:
            raise self._no_markets(venue_id)
        try:
            message = venue.decode(payload)
        except Exception as exc:
            raise NormalizeError(f"undecodable payload: {exc}", error_type="DecodeError") from exc
        metas = adapter.book_meta(venue, message)
        lost = adapter.check_frame(message, connection_text)
        if lost is not None:  # frames of this connection were lost: its live books are suspect
            for (venue_key, _inst), book in list(self.books.items()):
                if venue_key == venue_id and book.connection_id == connection:
                    book_symbol = book.symbol
                    self._gap(adapter, venue, book_symbol, receive_ns, "sequence_gap", out)
        for meta in metas:
            self._before_book(adapter, venue, meta, connection, receive_ns, midway, out)
        result = venue.handle(message)
        if result.error is not None:
            for meta in metas:
                self._gap(adapter, venue, meta.symbol, receive_ns, "handler_error", out)
            raise NormalizeError(
                f"{type(result.error).__name__}: {result.error}", error_type="HandlerError"
            )
        self._emit(adapter, venue, frame, receive_ns, result, metas, out, message)

    def _first_of_connection(self, conn_key: tuple[str, str], sequence: Any) -> bool:
        """Whether the connection ``conn_key`` was joined mid-way (:meth:`handover`): kept
        from its first frame seen here (``sequence`` is this frame's)."""
        midway = self._joined_midway.get(conn_key)
        if midway is None:  # first frame of this connection seen here
            midway = conn_key[0] in self._handed_over and isinstance(sequence, int) and sequence > 0
            self._joined_midway[conn_key] = midway
        return midway

    def _native_venue(self, venue_id: str) -> NativeVenue | None:
        native = self.native.get(venue_id)
        if native is None:
            cls = self._native_classes.get(venue_id)
            venue = self.venues.get(venue_id)
            if cls is None or venue is None:
                return None
            native = self.native[venue_id] = NativeVenue(
                cls,
                venue.ex.markets.values(),
                clock=self.clock,
                dedup=self.dedup,
                buffer_cap=self.snapshot_buffer_cap,
                topics=_NATIVE_TOPICS,
                fast_path=self._fast_paths,
            )
        return native

    def _rest(
        self,
        adapter: VenueAdapter,
        frame: Record,
        payload: bytes,
        receive_ns: int,
        out: NormalizeResult,
    ) -> None:
        url = frame.get("rest_url") or ""
        venue_id = adapter.venue
        key = self.market_url(frame)
        if key is not None:
            self._market_frame(adapter, frame, key, payload)
            return
        status = frame.get("rest_status")
        if status is not None and status != 200:
            raise NormalizeError(f"REST {url} returned HTTP {status}", error_type="RestError")
        path = urlparse(url).path
        venue = self.venues.get(venue_id)
        if venue is None:
            raise self._no_markets(venue_id)
        if path != adapter.snapshot_path:
            raise NormalizeError(f"unsupported REST path {path!r}", error_type="Unsupported")
        symbol = adapter.rest_snapshot_symbol(venue, url)
        book = self._book(venue_id, symbol) if symbol is not None else None
        if book is not None and book.state is BookState.LIVE:
            return  # a live book is ahead of any REST snapshot: nothing to apply
        applied = adapter.rest_snapshot(venue, url, payload)
        if applied is None:
            return
        symbol, result = applied
        if result.error is not None:
            self._gap(adapter, venue, symbol, receive_ns, "handler_error", out)
            raise NormalizeError(
                f"{type(result.error).__name__}: {result.error}", error_type="HandlerError"
            )
        meta = BookMeta(symbol=symbol, snapshot=True)
        self._emit(adapter, venue, frame, receive_ns, result, [meta], out)

    def _instrument(self, venue: str, symbol: str | None) -> str:
        key = (venue, symbol or "")
        inst = self._instruments.get(key)
        if inst is None:
            v = self.venues.get(venue)
            if not symbol or v is None or symbol not in v.ex.markets:
                raise NormalizeError(
                    f"unknown instrument {symbol!r} on {venue}", error_type="UnknownInstrument"
                )
            inst = self._instruments[key] = Instrument.from_ccxt_market(v.ex.markets[symbol]).id
        return inst

    def _book(self, venue: str, symbol: str) -> _Book:
        key = (venue, self._instrument(venue, symbol))
        book = self.books.get(key)
        if book is None:
            book = self.books[key] = _Book(symbol)
        return book

    def _before_book(
        self,
        adapter: VenueAdapter,
        venue: OfflineVenue,
        meta: BookMeta,
        connection: Any,
        receive_ns: int,
        midway: bool,
        out: NormalizeResult,
    ) -> None:
        symbol = meta.symbol
        book = self._book(adapter.venue, symbol)
        new_connection = book.connection_id is not None and connection != book.connection_id
        if new_connection and book.state is BookState.LIVE:  # old connection's frames lost
            self._gap(adapter, venue, symbol, receive_ns, "disconnect", out)
        if not book.seen:
            book.seen = True
            if midway and not meta.snapshot and book.state is BookState.SYNCING:
                # the book's start was processed by another worker: this one cannot continue
                # it; the hole is open from this frame until the next snapshot (RESYNC)
                book.state = BookState.RESYNCING
                book.gap_from_ns, book.gap_reason = receive_ns, REBALANCE
                out.records[COVERAGE].append(
                    self._coverage(adapter.venue, symbol, "GAP", receive_ns, None, REBALANCE)
                )
        book.connection_id = connection
        adapter.prime(venue, symbol)
        if book.state is not BookState.LIVE:  # bound what ccxt buffers until a snapshot
            cache = getattr(venue.ex.orderbooks.get(symbol), "cache", None)
            if isinstance(cache, list) and len(cache) > self.snapshot_buffer_cap:
                del cache[: len(cache) - self.snapshot_buffer_cap]

    def _gap(
        self,
        adapter: VenueAdapter,
        venue: OfflineVenue,
        symbol: str,
        from_ns: int,
        reason: str,
        out: NormalizeResult,
    ) -> None:
        """Mark a book invalid, emit an open coverage event, make ccxt wait for a snapshot."""
        book = self._book(adapter.venue, symbol)
        adapter.invalidate(venue, symbol)
        if book.state is BookState.LIVE:
            book.state = BookState.RESYNCING
            book.gap_from_ns = book.last_receive_ns or from_ns  # last good update
            book.gap_reason = reason
            out.records[COVERAGE].append(
                self._coverage(adapter.venue, symbol, "GAP", book.gap_from_ns, None, reason)
            )

    def _coverage(
        self, venue: str, symbol: str, event: str, from_ns: int, to_ns: int | None, reason: str
    ) -> CoverageEvent:
        return CoverageEvent(
            venue=venue,
            instrument=self._instrument(venue, symbol),
            channel="book",
            event=event,
            from_ns=from_ns,
            to_ns=to_ns,
            reason=reason,
            process_ts_ns=self.clock(),
        )

    # ------------------------------------------------------------------ records
    def _emit(
        self,
        adapter: VenueAdapter,
        venue: OfflineVenue,
        frame: Record,
        receive_ns: int,
        result: FrameResult,
        metas: list[BookMeta],
        out: NormalizeResult,
        message: Any = None,
    ) -> None:
        venue_id = adapter.venue
        now = self.clock()
        for _hash, err in result.rejects:
            for gap_meta in metas:  # ccxt gap signals (Binance U/u, OKX prevSeqId)
                self._gap(adapter, venue, gap_meta.symbol, receive_ns, "sequence_gap", out)
            if not metas:
                raise NormalizeError(f"ccxt rejected: {err}", error_type="HandlerError")
        by_symbol: dict[str, BookMeta] = {m.symbol: m for m in metas} if metas else {}
        for ob, changes, snapshot in zip(
            result.books, result.changes, result.snapshots, strict=True
        ):
            symbol = ob["symbol"]
            meta: BookMeta | None = by_symbol.get(symbol)
            book = self._book(venue_id, symbol)
            if not snapshot and book.state is not BookState.LIVE:
                continue
            failure = adapter.verify(ob, meta)
            if failure is not None:
                self._gap(adapter, venue, symbol, receive_ns, "checksum", out)
                if book.state is not BookState.RESYNCING:  # the first snapshot was bad
                    raise NormalizeError(failure, error_type="ChecksumError")
                continue
            try:
                rec = self._book_record(
                    adapter, venue_id, ob, changes, snapshot, meta, receive_ns, now
                )
            except NormalizeError:  # ccxt's book moved on but the update can't be published
                self._gap(adapter, venue, symbol, receive_ns, "invalid_update", out)
                raise
            if snapshot and book.state is not BookState.LIVE:
                if book.state is BookState.RESYNCING and book.gap_from_ns is not None:
                    out.records[COVERAGE].append(
                        self._coverage(
                            venue_id,
                            symbol,
                            "RESYNC",
                            book.gap_from_ns,
                            receive_ns,
                            book.gap_reason or "gap",
                        )
                    )
                elif not adapter.integrity_verified and book.state is BookState.SYNCING:
                    out.records[COVERAGE].append(
                        self._coverage(
                            venue_id, symbol, "RESYNC", receive_ns, receive_ns, INTEGRITY_UNVERIFIED
                        )
                    )
                book.state = BookState.LIVE
                book.gap_from_ns = book.gap_reason = None
            book.last_receive_ns = receive_ns
            out.records[BOOK].append(rec)
        if not result.trades and not result.quotes:
            return
        # build every trade and quote first: a bad one sends the frame to the DLQ whole
        provenance = (frame.get("connection_id"), frame.get("sequence"))
        trades = [
            self._trade_record(adapter, venue_id, t, receive_ns, now, provenance)
            for t in result.trades
        ]
        quotes = [
            self._quote_record(adapter, venue_id, q, message, receive_ns, now)
            for q in result.quotes
        ]
        if trades:
            is_new = self.dedup.is_new
            published = out.records[TRADES]
            for trade in trades:
                if is_new(venue_id, trade.instrument, trade.trade_id):
                    published.append(trade)
                else:
                    out.duplicates += 1
        if quotes:
            out.records[QUOTES].extend(quotes)

    def _book_record(
        self,
        adapter: VenueAdapter,
        venue_id: str,
        ob: RecordingOrderBook,
        changes: list[tuple[str, Decimal, Decimal]],
        snapshot: bool,
        meta: BookMeta | None,
        receive_ns: int,
        now: int,
    ) -> BookUpdate:
        if snapshot:
            bids = [_level(p, s) for p, s, *_ in ob["bids"]]
            asks = [_level(p, s) for p, s, *_ in ob["asks"]]
        else:
            bid_map: dict[Decimal, Decimal] = {}
            ask_map: dict[Decimal, Decimal] = {}
            for side, price, size in changes:
                (bid_map if side == "bid" else ask_map)[price] = size
            bids = [_level(p, bid_map[p]) for p in sorted(bid_map, reverse=True)]
            asks = [_level(p, ask_map[p]) for p in sorted(ask_map)]
        nonce = ob.get("nonce")
        ts = ob.get("timestamp")
        exchange_ns = meta.exchange_ts_ns if meta and meta.exchange_ts_ns is not None else None
        if exchange_ns is None and isinstance(ts, int):
            exchange_ns = ts * 1_000_000
        return BookUpdate(
            venue=venue_id,
            instrument=self._instrument(venue_id, ob["symbol"]),
            kind="SNAPSHOT" if snapshot else "DELTA",
            bids=bids,
            asks=asks,
            depth=adapter.snapshot_depth(ob) if snapshot else None,
            first_sequence=None if snapshot or meta is None else meta.first_sequence,
            last_sequence=nonce
            if isinstance(nonce, int)
            else (meta.last_sequence if meta else None),
            prev_sequence=None if snapshot or meta is None else meta.prev_sequence,
            checksum=meta.checksum if meta else None,
            exchange_ts_ns=exchange_ns,
            receive_ts_ns=receive_ns,
            process_ts_ns=now,
        )

    def _trade_record(
        self,
        adapter: VenueAdapter,
        venue_id: str,
        trade: Record,
        receive_ns: int,
        now: int,
        provenance: tuple[Any, Any],
    ) -> Trade:
        side = trade.get("side")
        trade_id = trade.get("id")
        if trade_id is None or trade_id == "":
            raise NormalizeError("trade without id", error_type="ParseError")
        return Trade(
            venue=venue_id,
            instrument=self._instrument(venue_id, trade.get("symbol")),
            trade_id=str(trade_id),
            price=_exact(trade.get("price"), "price"),
            size=_exact(trade.get("amount"), "size"),
            side=side.upper() if side in ("buy", "sell") else "UNKNOWN",
            exchange_ts_ns=adapter.trade_ts_ns(trade),
            receive_ts_ns=receive_ns,
            process_ts_ns=now,
            connection_id=provenance[0],
            frame_sequence=provenance[1],
        )

    def _quote_record(
        self,
        adapter: VenueAdapter,
        venue_id: str,
        quote: Record,
        message: Any,
        receive_ns: int,
        now: int,
    ) -> Quote:
        return Quote(
            venue=venue_id,
            instrument=self._instrument(venue_id, quote.get("symbol")),
            bid_price=_exact_or_none(quote.get("bid"), "bid"),
            bid_size=_exact_or_none(quote.get("bidVolume"), "bid_size"),
            ask_price=_exact_or_none(quote.get("ask"), "ask"),
            ask_size=_exact_or_none(quote.get("askVolume"), "ask_size"),
            source="VENUE_BBO",
            exchange_ts_ns=adapter.quote_ts_ns(quote, message),
            receive_ts_ns=receive_ns,
            process_ts_ns=now,
        )

    def _dead(
        self, frame: Record, source: Source | None, error_type: str, reason: str
    ) -> DeadLetter:
        payload = source.value if source and source.value is not None else frame.get("payload")
        labels = {
            k: str(frame[k])
            for k in (
                "venue",
                "connection_id",
                "sequence",
                "channel",
                "symbol",
                "transport",
                "rest_url",
                "receive_ts_ns",
            )
            if frame.get(k) is not None
        }
        if not (source and source.value is not None):
            labels["payload_is"] = "raw_frame_payload"
        return DeadLetter(
            stage="normalize",
            source_topic="md.raw",
            source_partition=source.partition if source else None,
            source_offset=source.offset if source else None,
            key=source.key if source else None,
            payload=bytes(payload) if isinstance(payload, bytes | bytearray) else b"",
            error_type=error_type,
            reason=reason,
            labels=labels,
            failed_ts_ns=self.clock(),
        )
