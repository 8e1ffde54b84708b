"""The venue-mapper contract: what one venue module declares and implements.

A venue module holds a :class:`VenueSpec` (channels, how to subscribe, how its book
sequence and checksum work, where book snapshots come from) and a :class:`Mapper`
subclass: a pure function of one decoded frame to canonical events
(:mod:`~tapewire.streams.normalize.mappers.events`). A mapper never calls back into the
normalizer; the venue-agnostic book synchroniser (:mod:`tapewire.streams.normalize.books`)
does the sequencing, checksums and state, from what the spec says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, Final

import orjson

from tapewire.core.instruments import Instrument, InstrumentError
from tapewire.streams.normalize.mappers.events import MapError, MarketEvent

MS = 1_000_000
"""Nanoseconds per millisecond."""
US = 1_000
"""Nanoseconds per microsecond."""

Checksum = Callable[[Sequence[tuple[Any, Any]], Sequence[tuple[Any, Any]]], int]
"""Venue checksum of a book: ``(bids best first, asks best first)`` as ``(price, size)``
exact decimals -> the integer the venue sends."""
WireChecksum = Callable[[Sequence[tuple[str, str]], Sequence[tuple[str, str]]], int]
"""The same from the levels as sent: ``(price text, size text)``."""


class Sequencing:
    """How a venue's book updates are ordered (see :mod:`...books.sequencing`)."""

    NONE: Final = "none"
    """No update ids: a crossed or locked book is the integrity signal (unless a checksum)."""
    RANGE: Final = "range"
    """Each delta covers ids ``first..last``; the next starts at ``last + 1`` (Binance spot
    ``U``/``u``, KuCoin, Gate). The first delta after a snapshot with id ``S`` must cover
    ``S + 1``; deltas ending at or before ``S`` are stale."""
    PREV: Final = "prev"
    """Each delta names the id it follows (OKX ``prevSeqId``, Binance futures ``pu``,
    Deribit ``prev_change_id``); it must equal the book's last id."""
    INCREMENT: Final = "increment"
    """Each delta's id is the book's last id + 1 (Bitvavo ``nonce``, Kraken Futures ``seq``)."""


@dataclass(frozen=True, slots=True)
class VenueSpec:
    """What a venue module declares about its websocket feed."""

    venue: str
    """ccxt exchange id."""
    ws_url: str
    channels: Mapping[str, str]
    """Canonical channel (``trades``, ``book``, ``quotes``) -> the venue's channel name."""
    sequencing: str = Sequencing.NONE
    checksum: Checksum | None = None
    checksum_depth: int = 0
    """Levels per side the checksum covers (0: the whole book)."""
    checksum_wire: WireChecksum | None = None
    """``checksum`` computed from the levels' text as sent (OKX), which the book then keeps:
    no decimal formatting. Used instead of ``checksum`` by the book synchroniser."""
    checksum_text: Callable[[Any, Decimal], bytes] | None = None
    """A value's text in a checksum that concatenates each level's price text then size
    text, top asks then top bids (Kraken): ``(wire text, its exact decimal)`` -> that text.
    The book then keeps each level's joined text in order, and ``checksum_pieces`` of
    the top levels' texts concatenated (asks best first, then bids best first) gives the
    checksum: no decimal formatting per update."""
    checksum_pieces: Callable[[bytes], int] | None = None
    implicit_deletes: bool = False
    """The venue keeps each book at the depth its snapshot event states (``depth``) and
    sends no delete for a level pushed below it (Kraken): the book synchroniser drops such
    levels after each delta and publishes their deletes (size 0) in the same update."""
    rest_snapshots: bool = False
    """Book snapshots come from REST (captured into md.raw); deltas received before one
    are buffered and replayed onto it (Binance). Otherwise snapshots come on the socket
    and earlier deltas are dropped."""
    market_types: tuple[str, ...] = ("spot",)
    """ccxt market types this venue id's feed carries."""
    notes: str = ""
    subscribe: Callable[[str, Sequence[str]], list[dict[str, Any]]] | None = field(
        default=None, compare=False
    )
    """``(canonical channel, native market ids)`` -> subscription messages to send."""


class MarketIndex:
    """Native market id -> canonical instrument id, from ccxt's unified markets."""

    def __init__(self, markets: Iterable[Mapping[str, Any]]) -> None:
        self._by_id: dict[str, list[tuple[str, str]]] = {}
        self._by_type: dict[tuple[str, str], str] = {}
        self._resolved: dict[tuple[str, str | None], str] = {}
        self.markets: dict[str, Mapping[str, Any]] = {}
        """Canonical instrument id -> the ccxt market (contract size, settle currency...)."""
        for market in markets:
            native = market.get("id")
            if not isinstance(native, str):
                continue
            try:
                instrument = Instrument.from_ccxt_market(dict(market)).id
            except InstrumentError:  # a market Tapewire's scheme cannot name is not mappable
                continue
            kind = str(market.get("type") or "")
            self._by_id.setdefault(native, []).append((kind, instrument))
            self._by_type[(native, kind)] = instrument
            self.markets[instrument] = market

    def __len__(self) -> int:
        return len(self.markets)

    def instrument(self, native: Any, market_type: str | None = None) -> str:
        """Canonical id of a native market id; raises :class:`MapError` when unknown."""
        if native.__class__ is str:
            found = self._resolved.get((native, market_type))
            if found is not None:
                return found
        found = self._resolve(native, market_type)
        self._resolved[(native, market_type)] = found
        return found

    def resolver(self, market_type: str | None = None) -> Callable[[Any], str]:
        """:meth:`instrument` bound to one ``market_type``, with a cache of its own (a hot
        path's lookup: one call, one dict get)."""
        cache: dict[str, str] = {}
        cached = cache.get
        resolve = self._resolve

        def instrument(native: Any) -> str:
            if native.__class__ is str:
                found = cached(native)
                if found is None:
                    found = cache[native] = resolve(native, market_type)
                return found
            return resolve(native, market_type)  # raises MapError

        return instrument

    def ids(self, market_type: str | None = None) -> dict[str, str]:
        """Every native id that :meth:`resolver` (``market_type``) resolves -> its instrument:
        a mapper's lookup table built when markets load, not on each instrument's first frame."""
        out: dict[str, str] = {}
        for native, entries in self._by_id.items():
            if market_type is not None:
                found = self._by_type.get((native, market_type))
                if found is not None:
                    out[native] = found
                    continue
            if market_type is None or len(entries) == 1:
                out[native] = entries[0][1]
        return out

    def _resolve(self, native: Any, market_type: str | None) -> str:
        if native.__class__ is not str:
            raise MapError("market", native, "a market id string")
        if market_type is not None:
            found = self._by_type.get((native, market_type))
            if found is not None:
                return found
        entries = self._by_id.get(native)
        if entries and (market_type is None or len(entries) == 1):
            return entries[0][1]
        raise MapError("market", native, "a market id listed in the venue's loaded markets")


class Mapper:
    """Base of a venue mapper: decoded frame -> canonical events.

    Subclasses set :attr:`spec` and implement :meth:`map`; REST book snapshots (when
    ``spec.rest_snapshots``) come through :meth:`map_rest`. A frame that carries no market
    data (subscription acks, heartbeats) maps to ``[]``. A malformed one raises
    :class:`MapError` (or any exception: the normalizer dead-letters it, naming the field).
    """

    spec: ClassVar[VenueSpec]
    map_bytes_checks_gaps: ClassVar[bool] = False
    """For a venue with a :meth:`connection_gap`: its :meth:`map_bytes` does that check too.
    It then returns events only for a frame whose ``connection_gap`` (for
    :attr:`connection_id`) would be None, recording what ``connection_gap`` records, and None,
    changing nothing, for any other (the generic path then runs both)."""

    def __init__(self, markets: MarketIndex) -> None:
        self.markets = markets
        self.connection_id = ""
        """Connection of the frame being mapped (set by the normalizer before
        :meth:`decode`; for venues whose frames only make sense per connection, e.g.
        Bitfinex channel ids)."""

    def decode(self, payload: bytes) -> Any:
        """Frame bytes -> message (default: JSON by orjson; strings stay strings)."""
        return orjson.loads(payload)

    def map(self, message: Any) -> list[MarketEvent]:
        """Events of one decoded websocket frame."""
        raise NotImplementedError

    def map_bytes(self, payload: bytes) -> list[MarketEvent] | None:
        """Events of a websocket frame straight from its bytes when it has the exact shape
        of a hot channel's frame (a typed decode, e.g. a ``msgspec`` struct from the
        mapper's ``<venue>_wire`` module), else None: the normalizer then runs
        :meth:`decode` and :meth:`map`, which name the bad field of a malformed frame.

        An override must give exactly what ``map(decode(payload))`` gives, or None; it is
        not called for venues with a :meth:`connection_gap` unless the class sets
        :attr:`map_bytes_checks_gaps`. Default: always None.
        """
        return None

    def map_rest(self, url: str, message: Any) -> list[MarketEvent]:
        """Events of one decoded REST response (a book snapshot); ``[]`` when not one."""
        return []

    def connection_gap(self, message: Any, connection_id: str) -> str | None:
        """A reason when this frame shows its connection lost frames (connection-level
        sequence numbers, e.g. Coinbase ``sequence_num``); None otherwise."""
        return None


def text(message: Mapping[str, Any], key: str) -> str:
    """A field that must be a JSON string (prices and sizes on the wire)."""
    value = message[key]
    if value.__class__ is not str:
        raise MapError(key, value, "a string")
    return value


def integer(message: Mapping[str, Any], key: str) -> int:
    """A field that must be a JSON integer (not a bool, not a float)."""
    value = message[key]
    if value.__class__ is not int:
        raise MapError(key, value, "an integer")
    return value


def levels(value: Any, key: str) -> list[tuple[str, str]]:
    """``[[price, size, ...], ...]`` of strings -> ``[(price, size), ...]``; a
    :class:`MapError` names the first bad level."""
    if value.__class__ is not list:
        raise MapError(key, value, "a list of [price, size] pairs")
    # one plain loop: on this interpreter it costs 1.7-2.7x fewer instructions than the
    # set(map(type, ...)) checks in C it replaced (their per-call setup dominates the
    # 1-40 levels of a delta)
    out: list[tuple[str, str]] = []
    append = out.append
    for level in value:
        if level.__class__ is not list or len(level) < 2:
            raise MapError(key, level, "a [price, size] pair")
        price = level[0]
        size = level[1]
        if price.__class__ is not str or size.__class__ is not str:
            raise MapError(key, level, "price and size as strings")
        append((price, size))
    return out
