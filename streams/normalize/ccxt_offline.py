"""Offline parsing of captured exchange frames through ccxt.pro's own message handlers.

Generic core, no per-venue code: exact-number shims, a recording order book, a fake
websocket client, a captured-REST transport and :class:`OfflineVenue`, which loads
markets from captured REST metadata and feeds frames through
``exchange.handle_message``. Research and measurements: ``docs/research/ccxt-offline-parsing.md``.

Exactness: ccxt runs with ``number = str`` (trades, tickers keep the wire text), an
instance-level ``safe_float`` returning :class:`~decimal.Decimal` (ccxt's book handlers call
``safe_float`` whatever ``number`` says) and :class:`RecordingOrderBook` whose sides turn
``str`` levels into ``Decimal``. A JSON float reaching a parser raises :class:`FloatLeak`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlparse

import ccxt.pro as ccxtpro
import orjson
from ccxt.async_support.base.ws import order_book_side as obs
from ccxt.async_support.base.ws.cache import BaseCache
from ccxt.async_support.base.ws.order_book import OrderBook

Decoder = Callable[[bytes], Any]
Change = tuple[str, Decimal, Decimal]
"""One level change ccxt applied to a book: (``"bid"`` | ``"ask"``, price, size)."""


class FloatLeak(TypeError):  # noqa: N818 (name from the research note)
    """A JSON float reached a numeric parser: the frame was decoded lossily."""


def exact_safe_float(dictionary: Any, key: Any, default_value: Any = None) -> Any:
    """Drop-in for ccxt's static ``Exchange.safe_float`` that returns exact ``Decimal``."""
    try:
        value = dictionary[key]
    except (KeyError, IndexError, TypeError):
        return default_value
    if value is None or value == "":
        return default_value
    kind = type(value)
    if kind is str or kind is int:
        try:
            return Decimal(value)
        except InvalidOperation:
            return default_value
    if kind is Decimal:
        return value
    if kind is float:
        raise FloatLeak(f"float {value!r} at key {key!r}: decode JSON numbers as text")
    return default_value


def fmt(value: Any) -> Any:
    """``Decimal`` -> plain string without exponent (``'0.00000001'``, never ``'1E-8'``)."""
    return format(value, "f") if isinstance(value, Decimal) else value


def decode_json(raw: bytes) -> Any:
    """Decoder for venues that quote every decimal (orjson)."""
    return orjson.loads(raw)


def decode_json_floats_as_text(raw: bytes) -> Any:
    """Decoder for venues that send JSON numbers (Kraken v2): keeps the wire text as ``str``.

    ``parse_float=Decimal`` would not do: ccxt's ``safe_string`` ignores ``Decimal`` values.
    """
    return json.loads(raw, parse_float=str)


# --------------------------------------------------------------------------- recording book
class _RecordingSide:
    _log: list[Change] | None = None
    _name = ""
    _depth: int

    def storeArray(self, delta: list[Any]) -> None:  # noqa: N802 (ccxt's name)
        price = delta[0]
        if price.__class__ is str:  # coinbase/kraken pass safe_number() -> str
            delta = [Decimal(price), Decimal(delta[1]), *delta[2:]]
            price = delta[0]
        size = delta[1]
        if price is None or size is None:  # exact_safe_float could not parse it
            raise ValueError(f"unparseable {self._name} level {delta[:2]!r}")
        log = self._log
        if log is not None:
            log.append((self._name, price, size))
        super().storeArray(delta)  # type: ignore[misc]

    def limit(self) -> None:
        extra = len(self) - self._depth  # type: ignore[arg-type]
        if extra > 0 and self._log is not None:  # depth truncation = implicit deletes
            for level in self[-extra:]:  # type: ignore[index]
                self._log.append((self._name, level[0], Decimal(0)))
        super().limit()  # type: ignore[misc]


class RecordingAsks(_RecordingSide, obs.Asks):  # type: ignore[misc]
    """ccxt ask side that logs every change."""

    _name = "ask"


class RecordingBids(_RecordingSide, obs.Bids):  # type: ignore[misc]
    """ccxt bid side that logs every change."""

    _name = "bid"


class RecordingOrderBook(OrderBook):  # type: ignore[misc]
    """ccxt ``OrderBook`` that records each level change ccxt applies.

    ``changes`` lists the changes since the last :meth:`drain`; ``was_reset`` is true for
    a new book and after ``reset()`` (the book is then published as a snapshot).
    """

    def __init__(self, snapshot: Mapping[str, Any] | None = None, depth: int | None = None):
        snap = dict(snapshot or {})
        asks, bids = snap.pop("asks", []), snap.pop("bids", [])
        a, b = RecordingAsks([], depth), RecordingBids([], depth)
        snap["asks"], snap["bids"] = a, b
        super().__init__(snap, depth)
        self.changes: list[Change] = []
        self.was_reset = True
        a._log = b._log = self.changes
        for level in asks:
            a.storeArray(list(level))
        for level in bids:
            b.storeArray(list(level))

    def reset(self, snapshot: Mapping[str, Any] | None = None) -> None:
        """ccxt's reset; marks the book as a snapshot."""
        self.changes.clear()
        self.was_reset = True
        super().reset(snapshot or {})


# --------------------------------------------------------------------------- fake client
class CaptureClient:
    """Stands in for ccxt's websocket ``Client``: records what handlers resolve or reject."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.subscriptions: dict[str, Any] = {}
        self.futures: dict[str, Any] = {}
        self.rejections: dict[str, Any] = {}
        self.resolved: list[tuple[str, Any]] = []
        self.rejected: list[tuple[str | None, Any]] = []
        self.verbose = False
        self.error: Exception | None = None
        self.lastPong: Any = None

    def resolve(self, result: Any, message_hash: str) -> Any:
        """Record a result ccxt would hand to a ``watch*`` awaiter."""
        self.resolved.append((message_hash, result))
        return result

    def reject(self, result: Any, message_hash: str | None = None) -> None:
        """Record an error ccxt would raise in a ``watch*`` awaiter (e.g. a book gap)."""
        self.rejected.append((message_hash, result))

    def future(self, message_hash: str) -> Any:
        """Offline there is nothing to await."""
        raise RuntimeError("offline client has no futures")

    reusableFuture = future  # noqa: N815 (ccxt's name)

    async def send(self, message: Any) -> None:
        """Subscriptions are not sent offline."""

    def log(self, *args: Any) -> None:
        """Silence."""


class CapturedRest:
    """Replaces ``exchange.fetch``: serves captured REST bodies by URL path, no network."""

    def __init__(self, bodies: Mapping[str, bytes]) -> None:
        self.bodies = dict(bodies)
        self.requests: list[str] = []

    async def __call__(
        self, url: str, method: str = "GET", headers: Any = None, body: Any = None
    ) -> Any:
        self.requests.append(url)
        path = urlparse(url).path
        if path not in self.bodies:
            raise KeyError(f"no captured REST body for {method} {url}")
        return json.loads(self.bodies[path])


_LOOP: asyncio.AbstractEventLoop | None = None


def run_sync(coro: Any) -> Any:
    """Run one of ccxt's async REST-path coroutines on a private loop (start-up and REST
    snapshots only; ``handle_message`` itself is synchronous)."""
    global _LOOP
    if _LOOP is None:
        _LOOP = asyncio.new_event_loop()
    return _LOOP.run_until_complete(coro)


# --------------------------------------------------------------------------- venue
@dataclass
class FrameResult:
    """What one frame produced inside ccxt."""

    trades: list[dict[str, Any]] = field(default_factory=list)
    books: list[RecordingOrderBook] = field(default_factory=list)
    changes: list[list[Change]] = field(default_factory=list)  # per book, drained
    snapshots: list[bool] = field(default_factory=list)  # per book: was_reset
    quotes: list[dict[str, Any]] = field(default_factory=list)
    rejects: list[tuple[str | None, Any]] = field(default_factory=list)
    error: Exception | None = None


class OfflineVenue:
    """One ccxt.pro exchange object fed with captured frames, no network.

    Create with :meth:`create` (markets from captured REST bodies or a unified market list),
    then :meth:`feed` raw websocket payloads.
    """

    def __init__(self, exchange: Any, ws_url: str, rest: CapturedRest, decoder: Decoder) -> None:
        self.ex = exchange
        self.client = CaptureClient(ws_url)
        self.rest = rest
        self.decode = decoder

    @classmethod
    def create(
        cls,
        exchange_id: str,
        *,
        ws_url: str,
        rest: Mapping[str, bytes] | None = None,
        markets: list[dict[str, Any]] | None = None,
        options: Mapping[str, Any] | None = None,
        decoder: Decoder = decode_json,
    ) -> OfflineVenue:
        """Build the exchange object and load its markets offline.

        Markets are parsed in ccxt's default float mode (its tested path; exact tick and
        lot sizes stay as strings in ``market["info"]``), then exact mode is switched on.
        """
        ex = getattr(ccxtpro, exchange_id)(
            {"enableRateLimit": False, "options": dict(options or {})}
        )
        transport = CapturedRest(rest or {})
        ex.fetch = transport
        if markets is not None:  # ccxt's defaults for keys an older market snapshot lacks
            ex.set_markets([ex.safe_market_structure(market) for market in markets])
        else:
            run_sync(ex.load_markets())
        ex.number = str
        ex.safe_float = exact_safe_float
        ex.order_book = RecordingOrderBook
        return cls(ex, ws_url, transport, decoder)

    def feed(self, raw: bytes) -> FrameResult:
        """Decode one frame, run ccxt's ``handle_message`` and collect what it resolved.

        Handler exceptions land in ``FrameResult.error``; ccxt's gap signals in ``rejects``.
        """
        try:
            message = self.decode(raw)
        except Exception as exc:
            return FrameResult(error=exc)
        return self.handle(message)

    def handle(self, message: Any) -> FrameResult:
        """Run ccxt's handler on an already decoded message."""
        try:
            self.ex.handle_message(self.client, message)
        except Exception as exc:
            res = self.collect()
            res.error = exc
            return res
        return self.collect()

    def run(self, coro: Any) -> FrameResult:
        """Run a ccxt coroutine (e.g. a REST snapshot sync) and collect what it resolved."""
        try:
            run_sync(coro)
        except Exception as exc:
            res = self.collect()
            res.error = exc
            return res
        return self.collect()

    def collect(self) -> FrameResult:
        """Turn what the client recorded into a :class:`FrameResult` and clear it."""
        c = self.client
        resolved = c.resolved
        rejected = c.rejected
        if not resolved:  # acks, pongs, buffered deltas: nothing resolved
            if not rejected:
                return FrameResult([], [], [], [], [], [])
            res = FrameResult([], [], [], [], [], rejected[:])
            rejected.clear()
            return res
        trades: list[dict[str, Any]] = []
        books: list[RecordingOrderBook] = []
        changes: list[list[Change]] = []
        snapshots: list[bool] = []
        quotes: list[dict[str, Any]] = []
        seen: set[int] = set()
        for _hash, obj in resolved:
            if id(obj) in seen:  # same object resolved under several hashes
                continue
            seen.add(id(obj))
            if isinstance(obj, RecordingOrderBook):
                books.append(obj)
                snapshots.append(obj.was_reset)
                changes.append(obj.changes[:])
                obj.changes.clear()
                obj.was_reset = False
            elif isinstance(obj, BaseCache):  # trades ArrayCache: drain it per frame
                trades.extend(obj)
                obj.clear()
            elif isinstance(obj, dict) and "bid" in obj and "symbol" in obj:
                quotes.append(obj)
            elif isinstance(obj, dict):  # batch dicts {symbol: ticker}
                for ticker in obj.values():
                    if isinstance(ticker, dict) and "bid" in ticker and id(ticker) not in seen:
                        seen.add(id(ticker))
                        quotes.append(ticker)
        resolved.clear()
        res = FrameResult(trades, books, changes, snapshots, quotes, rejected[:])
        rejected.clear()
        return res
