"""The native-mapper path of the normalizer: frame bytes -> a venue mapper's events ->
records, books through the venue-agnostic synchroniser.

Used by :class:`~tapewire.streams.normalize.normalizer.Normalizer` for every venue that has a
native mapper (:data:`~tapewire.streams.normalize.mappers.NATIVE_MAPPERS`); the long tail
goes through ccxt's own handlers instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tapewire.core.records import Record, TypedRecord
from tapewire.records.market import DerivativesTicker, Quote, Trade
from tapewire.streams.normalize.books import BookState, BookSync
from tapewire.streams.normalize.decimals import exact, exact_or_none, signed_or_none
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
    ) -> None:
        self.mapper = mapper_class(MarketIndex(markets))
        self._checks_gaps = mapper_class.connection_gap is not Mapper.connection_gap
        self.spec = mapper_class.spec
        self.venue = self.spec.venue
        self.sync = BookSync(self.spec, clock, buffer_cap)
        self.clock = clock
        self.dedup = dedup

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
        except NormalizeError:
            raise
        except MapError as exc:
            error_type = "UnknownInstrument" if exc.field == "market" else "ParseError"
            raise NormalizeError(f"{self.venue}: {exc}", error_type=error_type) from exc
        except KeyError as exc:
            raise NormalizeError(
                f"{self.venue}: missing field {exc.args[0]!r}", error_type="ParseError"
            ) from exc
        except (TypeError, ValueError, AttributeError, IndexError, ArithmeticError) as exc:
            raise NormalizeError(
                f"{self.venue}: malformed frame ({type(exc).__name__}: {exc})",
                error_type="ParseError",
            ) from exc

    def emit(
        self,
        events: list[MarketEvent],
        frame: Record,
        receive_ns: int,
        midway: bool,
        out: Mapping[str, list[TypedRecord]],
        topics: tuple[str, str, str, str, str],
        connection_gap: str | None = None,
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
        now = self.clock()
        venue = self.venue
        for event in events:
            kind = event.__class__
            if kind is _TRADE:
                trades.append(
                    Trade(
                        venue=venue,
                        instrument=event.instrument,
                        trade_id=event.trade_id,  # type: ignore[union-attr]
                        price=exact(event.price, "price"),  # type: ignore[union-attr]
                        size=exact(event.size, "size"),  # type: ignore[union-attr]
                        side=event.side,  # type: ignore[union-attr]
                        exchange_ts_ns=event.exchange_ts_ns,
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
                quote: QuoteEvent = event  # type: ignore[assignment]
                quotes.append(
                    Quote(
                        venue=venue,
                        instrument=quote.instrument,
                        bid_price=exact_or_none(quote.bid_price, "bid"),
                        bid_size=exact_or_none(quote.bid_size, "bid_size"),
                        ask_price=exact_or_none(quote.ask_price, "ask"),
                        ask_size=exact_or_none(quote.ask_size, "ask_size"),
                        source="VENUE_BBO",
                        exchange_ts_ns=quote.exchange_ts_ns,
                        receive_ts_ns=receive_ns,
                        process_ts_ns=now,
                    )
                )
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
            is_new = self.dedup.is_new
            published = out[trades_topic]
            for trade in trades:
                if is_new(venue, trade.instrument, trade.trade_id):
                    published.append(trade)
                else:
                    duplicates += 1
        if quotes:
            out[quotes_topic].extend(quotes)
        if derivatives:
            out[derivatives_topic].extend(derivatives)
        return duplicates
