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
from urllib.parse import parse_qsl, urlencode, urlsplit

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


def rest_key(url: str) -> str:
    """The key a REST response is kept and looked up by: path and query of ``url``, the
    query parameters sorted (``/api/v5/public/instruments?instType=SPOT``).

    Scheme and host are left out, so a capture made through a host alias (``api1``..
    ``api4.binance.com``, ``aws.okx.com``) answers ccxt's request to its default host;
    the query is decoded and re-encoded in sorted order, so ccxt's parameter order and
    percent-encoding need not be the recorder's. Idempotent (a key is its own key).
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    path = parts.path or "/"
    return f"{path}?{urlencode(sorted(query))}" if query else path


class UncapturedRequest(LookupError):  # noqa: N818 (a lookup that failed, like KeyError)
    """ccxt made a REST request whose response was not captured (``url``, its ``key``)."""

    def __init__(self, method: str, url: str) -> None:
        self.method = method
        self.url = url
        self.key = rest_key(url)
        super().__init__(
            f"no captured REST response for {method} {url} (key {self.key}): ccxt requests it "
            "while loading markets; record it with the live connector (its REST frames go "
            "to md.raw and md.markets) or add it to the captured frames"
        )


class CapturedRest:
    """Replaces ``exchange.fetch``: answers ccxt's requests with captured REST bodies,
    looked up by full URL (:func:`rest_key`: path + sorted query), no network.

    Every request is listed in ``requests``, every one without a captured body in
    ``missing`` (and raises :class:`UncapturedRequest`). With ``exchange`` set, a body
    goes through the exchange's own ``handle_errors`` as ccxt's ``fetch`` would do it, so
    an error answer (Binance ``{"code":-1003,...}``) raises ccxt's error, not a parse
    of garbage.
    """

    def __init__(self, bodies: Mapping[str, bytes]) -> None:
        self.bodies = {rest_key(url): body for url, body in bodies.items()}
        self.requests: list[str] = []
        self.missing: list[str] = []
        self.exchange: Any = None

    def put(self, url: str, body: bytes) -> None:
        """Serve ``body`` for ``url`` (and any URL with the same key) from now on."""
        self.bodies[rest_key(url)] = body

    async def __call__(
        self, url: str, method: str = "GET", headers: Any = None, body: Any = None
    ) -> Any:
        self.requests.append(url)
        raw = self.bodies.get(rest_key(url))
        if raw is None:
            self.missing.append(url)
            raise UncapturedRequest(method, url)
        return parse_rest_body(self.exchange, url, raw, method)


def parse_rest_body(exchange: Any, url: str, raw: bytes, method: str = "GET") -> Any:
    """A captured 2xx body as ccxt's ``fetch`` returns it: JSON-decoded, then checked by
    the exchange's ``handle_errors`` (when ``exchange`` is given), which raises ccxt's
    error for a venue error answer. Raises ``ValueError`` for a body that is not JSON."""
    text = raw.decode("utf-8")
    parsed = json.loads(text)
    if exchange is not None:
        exchange.handle_errors(200, "OK", url, method, {}, text, parsed, {}, None)
    return parsed


_CHECKERS: dict[str, Any] = {}
"""exchange id -> a bare ccxt.pro object whose ``handle_errors`` checks REST answers."""


def market_response_error(exchange_id: str, url: str, status: Any, payload: Any) -> str | None:
    """Why a captured REST response is not a valid market response, or None if it is one:
    a non-2xx ``status``, no body, a body that is not JSON (an HTML error page), or an
    error answer the venue's own ccxt ``handle_errors`` rejects (Binance
    ``{"code":-1003,...}``). Used by the normalizer (dead letters) and by whatever
    publishes ``md.markets`` (such a response is never published there)."""
    where = f"{exchange_id} REST {url} (HTTP {status if status is not None else '?'})"
    if status is not None and not (isinstance(status, int) and 200 <= status < 300):
        return f"{where}: not a 2xx response"
    if not isinstance(payload, bytes | bytearray) or not payload:
        return f"{where}: empty payload"
    checker = _CHECKERS.get(exchange_id)
    if checker is None and hasattr(ccxtpro, exchange_id):
        checker = _CHECKERS[exchange_id] = getattr(ccxtpro, exchange_id)({"enableRateLimit": False})
    try:
        parse_rest_body(checker, url, bytes(payload))
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError included
        head = bytes(payload[:40]).decode("utf-8", "replace")
        return f"{where}: not JSON ({type(exc).__name__}: {exc}; starts {head!r})"
    except Exception as exc:  # ccxt's handle_errors: the venue answered with an error
        return f"{where}: error answer, ccxt raises {type(exc).__name__}: {exc}"
    return None


_LOOP: asyncio.AbstractEventLoop | None = None


def run_sync(coro: Any) -> Any:
    """Run one of ccxt's async REST-path coroutines on a private loop (start-up and REST
    snapshots only; ``handle_message`` itself is synchronous)."""
    global _LOOP
    if _LOOP is None:
        _LOOP = asyncio.new_event_loop()
    return _LOOP.run_until_complete(coro)


# --------------------------------------------------------------------------- venue
def mark_price_only(ticker: dict[str, Any]) -> bool:
    """A ccxt ticker with a mark or index price and neither best bid nor ask: what ccxt makes
    of a mark-price frame (Binance ``markPriceUpdate``, OKX ``mark-price``). No quote: mark
    and index prices are ``md.derivatives``, which only native mappers produce."""
    return (
        ticker.get("bid") is None
        and ticker.get("ask") is None
        and (ticker.get("markPrice") is not None or ticker.get("indexPrice") is not None)
    )


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
        transport.exchange = ex
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
