"""The native-mapper path of the normalizer: frame bytes -> a venue mapper's events ->
records, books through the venue-agnostic synchroniser.

Used by :class:`~tapewire.streams.normalize.normalizer.Normalizer` for every venue that has a
native mapper (:data:`~tapewire.streams.normalize.mappers.NATIVE_MAPPERS`); the long tail
goes through ccxt's own handlers instead.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import orjson

from tapewire.core.records import Record, TypedRecord
from tapewire.records.market import DerivativesTicker, Quote, Trade
from tapewire.streams.normalize.books import BookState, BookSync
from tapewire.streams.normalize.decimals import exact, exact_or_none, memo, signed_or_none
from tapewire.streams.normalize.dedup import TradeDeduper
from tapewire.streams.normalize.errors import NormalizeError
from tapewire.streams.normalize.mappers.base import Mapper, MarketIndex
from tapewire.streams.normalize.mappers.events import (
    BookEvent,
    DerivativesEvent,
    MapError,
    MarketEvent,
    QuoteEvent,
    TradeEvent,
)

_TRADE, _BOOK, _QUOTE = TradeEvent, BookEvent, QuoteEvent


class NativeVenue:
    """One venue's mapper and book synchroniser."""

    def __init__(
        self,
        mapper_class: type[Mapper],
        markets: Iterable[Mapping[str, Any]],
        *,
        clock: Callable[[], int],
        dedup: TradeDeduper,
        buffer_cap: int,
        topics: tuple[str, str, str, str, str],
        fast_path: bool = True,
    ) -> None:
        self.mapper = mapper = mapper_class(MarketIndex(markets))
        self._checks_gaps = mapper_class.connection_gap is not Mapper.connection_gap
        self._decode: Callable[[bytes], Any] = (
            orjson.loads if mapper_class.decode is Mapper.decode else mapper.decode
        )
        self._map = mapper.map
        self._map_bytes: Callable[[bytes], list[MarketEvent] | None] | None = (
            mapper.map_bytes
            if fast_path
            and mapper_class.map_bytes is not Mapper.map_bytes
            and (not self._checks_gaps or mapper_class.map_bytes_checks_gaps)
            else None
        )
        """The mapper's typed fast path, when it has one (:meth:`Mapper.map_bytes`) and
        ``fast_path`` is on."""
        self.generic_frames = 0
        """Frames the typed fast path handed to decode + map since this was last reset (a
        control frame, a field or value it does not take: a rising share means the venue
        changed its format). The normalize stage exports and resets it per batch."""
        self.topics = topics
        self._trades_topic, self._quotes_topic = topics[0], topics[2]
        self._book_topic, self._coverage_topic = topics[1], topics[3]
        """Output topics: trades, book, quotes, coverage, derivatives."""
        self.spec = mapper_class.spec
        self.venue = self.spec.venue
        self.sync = BookSync(self.spec, clock, buffer_cap)
        self.clock = clock
        self.dedup = dedup
        self._dedup_capacity = dedup.capacity
        self._windows: dict[str, tuple[dict[str, None], deque[str]]] = {}
        """Instrument -> its dedup window (``dedup.window``), looked up once."""

    def book_state(self, instrument: str) -> BookState | None:
        """State of one book, None if never seen."""
        return self.sync.state(instrument)

    def map_frame(
        self, frame: Record, payload: bytes, connection_id: str, rest: bool
    ) -> tuple[list[MarketEvent], str | None] | None:
        """Events of a frame and the connection-level gap it reveals (if any); None for a
        REST frame that is not a book snapshot (market metadata: the normalizer's own REST
        handling takes it)."""
        mapper = self.mapper
        mapper.connection_id = connection_id
        try:
            message = mapper.decode(payload)
        except Exception as exc:
            raise NormalizeError(f"undecodable payload: {exc}", error_type="DecodeError") from exc
        try:
            if rest:
                events = mapper.map_rest(str(frame.get("rest_url") or ""), message)
                return (events, None) if events else None
            gap = mapper.connection_gap(message, connection_id) if self._checks_gaps else None
            return mapper.map(message), gap
        except Exception as exc:
            raise self._map_error(exc) from exc

    def process(
        self,
        frame: Record,
        payload: bytes,
        connection_id: str,
        receive_ns: int,
        midway: bool,
        out: Mapping[str, list[TypedRecord]],
        connection: Any,
        sequence: Any,
    ) -> int:
        """A websocket frame from bytes to records in ``out`` (:meth:`map_frame` then
        :meth:`emit`, with the common one-trade / one-quote frame built straight into its
        topic); returns the number of duplicate trades dropped. ``connection`` and
        ``sequence`` are the frame's ``connection_id`` and ``sequence`` as read (the
        caller has them: one dict lookup each less a frame)."""
        mapper = self.mapper
        mapper.connection_id = connection_id
        fast = self._map_bytes
        events = None
        gap = None
        if fast is not None:
            try:
                events = fast(payload)
            except Exception as exc:
                raise self._map_error(exc) from exc
        if events is None:
            if fast is not None:
                self.generic_frames += 1
            try:
                message = self._decode(payload)
            except Exception as exc:
                raise NormalizeError(
                    f"undecodable payload: {exc}", error_type="DecodeError"
                ) from exc
            try:
                gap = mapper.connection_gap(message, connection_id) if self._checks_gaps else None
                events = self._map(message)
            except Exception as exc:
                raise self._map_error(exc) from exc
        if gap is None and len(events) == 1:
            event = events[0]
            kind = event.__class__
            if kind is _TRADE:
                # emit() for one trade, without its lists (the hot path); the clock is read
                # first, duplicates included, as there (a test clock counts)
                now = self.clock()
                price, size = event.price, event.size  # type: ignore[union-attr]
                p = memo(price) if price.__class__ is str else None
                if p is None:
                    p = exact(price, "price")
                q = memo(size) if size.__class__ is str else None
                if q is None:
                    q = exact(size, "size")
                instrument = event.instrument
                trade_id = event.trade_id  # type: ignore[union-attr]
                window = self._windows.get(instrument)
                if window is None:
                    window = self._windows[instrument] = self.dedup.window(self.venue, instrument)
                ids = window[0]
                if trade_id in ids:
                    return 1
                out[self._trades_topic].append(
                    Trade(
                        venue=self.venue,
                        instrument=instrument,
                        trade_id=trade_id,
                        price=p,
                        size=q,
                        side=event.side,  # type: ignore[union-attr]
                        exchange_ts_ns=event.exchange_ts_ns,
                        receive_ts_ns=receive_ns,
                        process_ts_ns=now,
                        connection_id=connection,
                        frame_sequence=sequence,
                    )
                )
                ids[trade_id] = None
                order = window[1]
                order.append(trade_id)
                if len(order) > self._dedup_capacity:
                    del ids[order.popleft()]
                return 0
            if kind is _QUOTE:
                # _quote inlined for the common quote (every side text already checked)
                now = self.clock()
                bid, bid_size = event.bid_price, event.bid_size  # type: ignore[union-attr]
                ask, ask_size = event.ask_price, event.ask_size  # type: ignore[union-attr]
                b = memo(bid) if bid.__class__ is str else None
                bs = memo(bid_size) if bid_size.__class__ is str else None
                a = memo(ask) if ask.__class__ is str else None
                as_ = memo(ask_size) if ask_size.__class__ is str else None
                if b is None or bs is None or a is None or as_ is None:  # absent or not memo'd
                    quote = self._quote(event, receive_ns, now)  # type: ignore[arg-type]
                else:
                    quote = Quote(
                        venue=self.venue,
                        instrument=event.instrument,
                        bid_price=b,
                        bid_size=bs,
                        ask_price=a,
                        ask_size=as_,
                        source="VENUE_BBO",
                        exchange_ts_ns=event.exchange_ts_ns,
                        receive_ts_ns=receive_ns,
                        process_ts_ns=now,
                    )
                out[self._quotes_topic].append(quote)
                return 0
            if kind is _BOOK:  # as emit() does for one book event, without its batching
                book: BookEvent = event  # type: ignore[assignment]
                self.sync.apply(
                    book,
                    connection_id,
                    receive_ns,
                    midway,
                    out[self._book_topic],  # type: ignore[arg-type]
                    out[self._coverage_topic],  # type: ignore[arg-type]
                )
                return 0
        if gap is None and events and events[0].__class__ is _TRADE:
            return self._trades(events, frame, receive_ns, midway, out, connection, sequence)
        return self.emit(events, frame, receive_ns, midway, out, self.topics, gap)

    def _trades(
        self,
        events: list[MarketEvent],
        frame: Record,
        receive_ns: int,
        midway: bool,
        out: Mapping[str, list[TypedRecord]],
        connection: Any,
        sequence: Any,
    ) -> int:
        """:meth:`emit` for a frame of trades (the common multi-trade frame): the same
        records, built and then published in one list, without emit's per-kind lists; a
        frame with another event goes to :meth:`emit` (with the clock already read)."""
        now = self.clock()
        venue = self.venue
        trades: list[Trade] = []
        for t in events:
            if t.__class__ is not _TRADE:
                return self.emit(events, frame, receive_ns, midway, out, self.topics, now=now)
            price, size = t.price, t.size
            p = memo(price) if price.__class__ is str else None
            if p is None:
                p = exact(price, "price")
            q = memo(size) if size.__class__ is str else None
            if q is None:
                q = exact(size, "size")
            trades.append(
                Trade(
                    venue=venue,
                    instrument=t.instrument,
                    trade_id=t.trade_id,
                    price=p,
                    size=q,
                    side=t.side,
                    exchange_ts_ns=t.exchange_ts_ns,
                    receive_ts_ns=receive_ns,
                    process_ts_ns=now,
                    connection_id=connection,
                    frame_sequence=sequence,
                )
            )
        duplicates = 0
        published = out[self._trades_topic]
        windows = self._windows
        capacity = self._dedup_capacity
        last = None
        ids: dict[str, None]
        order: deque[str]
        for trade in trades:  # as emit() publishes them
            instrument = trade.instrument
            if instrument is not last:  # a frame's trades mostly share their instrument
                window = windows.get(instrument)
                if window is None:
                    window = windows[instrument] = self.dedup.window(venue, instrument)
                ids, order = window
                last = instrument
            trade_id = trade.trade_id
            if trade_id in ids:
                duplicates += 1
                continue
            ids[trade_id] = None
            order.append(trade_id)
            if len(order) > capacity:
                del ids[order.popleft()]
            published.append(trade)
        return duplicates

    def _map_error(self, exc: Exception) -> Exception:
        """A mapper's failure as the NormalizeError of its dead letter (field and value)."""
        if isinstance(exc, NormalizeError):
            return exc
        if isinstance(exc, MapError):
            error_type = "UnknownInstrument" if exc.field == "market" else "ParseError"
            return NormalizeError(f"{self.venue}: {exc}", error_type=error_type)
        if isinstance(exc, KeyError):
            return NormalizeError(
                f"{self.venue}: missing field {exc.args[0]!r}", error_type="ParseError"
            )
        if isinstance(exc, TypeError | ValueError | AttributeError | IndexError | ArithmeticError):
            return NormalizeError(
                f"{self.venue}: malformed frame ({type(exc).__name__}: {exc})",
                error_type="ParseError",
            )
        return exc

    def _quote(self, quote: QuoteEvent, receive_ns: int, now: int) -> Quote:
        bid, bid_size, ask, ask_size = (
            quote.bid_price,
            quote.bid_size,
            quote.ask_price,
            quote.ask_size,
        )
        b = memo(bid) if bid.__class__ is str else None
        if b is None and bid is not None:
            b = exact(bid, "bid")
        bs = memo(bid_size) if bid_size.__class__ is str else None
        if bs is None and bid_size is not None:
            bs = exact(bid_size, "bid_size")
        a = memo(ask) if ask.__class__ is str else None
        if a is None and ask is not None:
            a = exact(ask, "ask")
        as_ = memo(ask_size) if ask_size.__class__ is str else None
        if as_ is None and ask_size is not None:
            as_ = exact(ask_size, "ask_size")
        return Quote(
            venue=self.venue,
            instrument=quote.instrument,
            bid_price=b,
            bid_size=bs,
            ask_price=a,
            ask_size=as_,
            source="VENUE_BBO",
            exchange_ts_ns=quote.exchange_ts_ns,
            receive_ts_ns=receive_ns,
            process_ts_ns=now,
        )

    def emit(
        self,
        events: list[MarketEvent],
        frame: Record,
        receive_ns: int,
        midway: bool,
        out: Mapping[str, list[TypedRecord]],
        topics: tuple[str, str, str, str, str],
        connection_gap: str | None = None,
        now: int | None = None,
    ) -> int:
        """Records of a frame's events into ``out`` (topics: trades, book, quotes, coverage,
        derivatives);
        returns the number of duplicate trades dropped. Trades and quotes are all built
        before any is emitted, so a bad one sends the whole frame to the DLQ."""
        trades_topic, book_topic, quotes_topic, coverage_topic, derivatives_topic = topics
        connection = frame.get("connection_id")
        sequence = frame.get("sequence")
        trades: list[Trade] = []
        quotes: list[Quote] = []
        books: list[BookEvent] = []
        derivatives: list[DerivativesTicker] = []
        if now is None:  # (else: the clock as the caller read it for this frame)
            now = self.clock()
        venue = self.venue
        for event in events:
            kind = event.__class__
            if kind is _TRADE:  # the record as process() builds a lone trade's
                t: TradeEvent = event  # type: ignore[assignment]
                price, size = t.price, t.size
                p = memo(price) if price.__class__ is str else None
                if p is None:
                    p = exact(price, "price")
                q = memo(size) if size.__class__ is str else None
                if q is None:
                    q = exact(size, "size")
                trades.append(
                    Trade(
                        venue=venue,
                        instrument=t.instrument,
                        trade_id=t.trade_id,
                        price=p,
                        size=q,
                        side=t.side,
                        exchange_ts_ns=t.exchange_ts_ns,
                        receive_ts_ns=receive_ns,
                        process_ts_ns=now,
                        connection_id=connection,
                        frame_sequence=sequence,
                    )
                )
            elif kind is _BOOK:
                books.append(event)  # type: ignore[arg-type]
            elif kind is DerivativesEvent:
                d: DerivativesEvent = event  # type: ignore[assignment]
                derivatives.append(
                    DerivativesTicker(
                        venue=venue,
                        instrument=d.instrument,
                        mark_price=exact_or_none(d.mark_price, "mark_price"),
                        index_price=exact_or_none(d.index_price, "index_price"),
                        funding_rate=signed_or_none(d.funding_rate, "funding_rate"),
                        next_funding_ts_ns=d.next_funding_ts_ns,
                        exchange_ts_ns=d.exchange_ts_ns,
                        receive_ts_ns=receive_ns,
                        process_ts_ns=now,
                    )
                )
            else:
                quotes.append(self._quote(event, receive_ns, now))  # type: ignore[arg-type]
        if connection_gap is not None:
            self.sync.connection_lost(
                str(connection),
                receive_ns,
                connection_gap,
                out[coverage_topic],  # type: ignore[arg-type]
            )
        if books:
            book_out: list[Any] = out[book_topic]
            coverage_out: list[Any] = out[coverage_topic]
            connection_text = None if frame.get("transport") == "REST" else str(connection)
            for book in books:
                self.sync.apply(book, connection_text, receive_ns, midway, book_out, coverage_out)
        duplicates = 0
        if trades:
            # each unless its id is in its instrument's window (bounded; made on first use)
            published = out[trades_topic]
            windows = self._windows
            capacity = self._dedup_capacity
            for trade in trades:
                instrument = trade.instrument
                window = windows.get(instrument)
                if window is None:
                    window = windows[instrument] = self.dedup.window(venue, instrument)
                ids = window[0]
                trade_id = trade.trade_id
                if trade_id in ids:
                    duplicates += 1
                    continue
                ids[trade_id] = None
                order = window[1]
                order.append(trade_id)
                if len(order) > capacity:
                    del ids[order.popleft()]
                published.append(trade)
        if quotes:
            out[quotes_topic].extend(quotes)
        if derivatives:
            out[derivatives_topic].extend(derivatives)
        return duplicates
