"""Capture of the exchange's own bytes inside ccxt.pro, before ccxt decodes them.

Websocket: ccxt.pro's ``Client.receive_loop`` hands every aiohttp ``WSMessage`` to
``client.handle_message(message)`` (also for messages drained from aiohttp's buffer),
which JSON-decodes ``message.data`` and calls ``exchange.handle_message``. We shadow
``handle_message`` on each client instance: the wrapper takes the wall clock first, keeps
``message.data`` (a TEXT frame's ``str`` is aiohttp's strict UTF-8 decoding of the
received bytes, so ``.encode("utf-8")`` gives those bytes back exactly; a BINARY frame is
kept as ``bytes``), then calls ccxt's own method. Clients are wrapped in
``exchange.client(url)``, the one place ccxt creates them (a fresh client after every
reconnect = a fresh connection id and sequence).

A REST request ccxt makes while it handles a websocket frame (Binance's book snapshot,
spawned from the subscription answer) belongs to that connection's stream: the task that
makes it inherits a context variable set around ``handle_message``, and its frame gets the
websocket connection's id and the next number of its sequence. md.raw is keyed by
``venue:connection_id``, so the snapshot reaches the worker that holds the connection's
deltas, in the order the connector saw them. Other REST frames (markets) get the session's
own connection id.

REST: ccxt's ``fetch`` reads bodies with ``response.text()``, which goes through
``ClientResponse.read()``; aiohttp reports the complete body bytes to the session's
``on_response_chunk_received`` trace hook. The session is ours (created with a
:class:`aiohttp.TraceConfig`); the same hook sees the status and ``Retry-After`` first
(``on_request_end``) and feeds the venue's :class:`VenueRateLimiter`, and ``fetch`` waits
on that limiter before every request. Every response with a body is recorded, error
answers included: full URL with its query (``rest_url``, what ccxt requested), status
(``rest_status``) and body bytes, so the normalizer can answer ccxt's ``load_markets``
from exactly what it fetched; a non-2xx frame is a dead letter there and never reaches
``md.markets`` (:func:`tapewire.connectors.markets.is_venue_metadata`).
"""

from __future__ import annotations

import contextvars
import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiohttp import WSMsgType

from tapewire.connectors.live.limiter import RATE_LIMIT_STATUSES, VenueRateLimiter
from tapewire.connectors.live.sink import FrameSink, RawRecord
from tapewire.core import metrics

CONNECTIONS_KEPT = 100
"""Connection ids a tap remembers (the newest; ids are in every frame anyway)."""
_STREAM_PREFIX = b'{"stream":"'


def stream_hint(payload: bytes) -> str | None:
    """The stream name of a combined-stream frame (``{"stream":"btcusdt@trade",...``)."""
    if payload.startswith(_STREAM_PREFIX):
        end = payload.find(b'"', len(_STREAM_PREFIX))
        if end > 0:
            return payload[len(_STREAM_PREFIX) : end].decode("utf-8", "replace")
    return None


_WS_CONNECTION: contextvars.ContextVar[tuple[str, Iterator[int]] | None] = contextvars.ContextVar(
    "tapewire_ws_connection", default=None
)
"""The websocket connection (id, sequence) whose frame ccxt is handling in this context."""


class FrameTap:
    """Turns received frames into RawFrame records for ``sink``; tracks frame times."""

    def __init__(
        self,
        venue: str,
        sink: FrameSink,
        *,
        origin: str = "LIVE",
        clock_ns: Callable[[], int] = time.time_ns,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.venue = venue
        self.sink = sink
        self.origin = origin
        self._clock_ns = clock_ns
        self._monotonic = monotonic
        self.last_frame_mono = monotonic()
        self.frames = 0
        self.connections: list[str] = []
        """The last ``CONNECTIONS_KEPT`` connection ids given out."""
        self._ws_frames = metrics.connector_frames_received.labels(venue, "WEBSOCKET")
        self._rest_frames = metrics.connector_frames_received.labels(venue, "REST")

    def new_connection_id(self, kind: str) -> str:
        """``<venue>-<kind>-<12 hex>``, unique per connection."""
        conn_id = f"{self.venue}-{kind}-{uuid.uuid4().hex[:12]}"
        self.connections.append(conn_id)
        del self.connections[:-CONNECTIONS_KEPT]
        return conn_id

    def wrap_client(self, client: Any) -> None:
        """Shadow ``client.handle_message`` to capture each data frame (idempotent)."""
        if getattr(client, "_tapewire_tapped", False):
            return
        client._tapewire_tapped = True
        original: Callable[[Any], Any] = client.handle_message
        conn_id = self.new_connection_id("ws")
        sequence = itertools.count()
        sink, venue, origin, clock_ns, mono = (
            self.sink,
            self.venue,
            self.origin,
            self._clock_ns,
            self._monotonic,
        )
        counter = self._ws_frames
        owner = (conn_id, sequence)

        def handle_message(message: Any) -> Any:
            now = clock_ns()
            kind = message.type
            if kind == WSMsgType.TEXT:
                payload, binary = message.data.encode("utf-8"), False
            elif kind == WSMsgType.BINARY:
                payload, binary = bytes(message.data), True
            else:
                return original(message)
            self.last_frame_mono = mono()
            self.frames += 1
            counter.inc()
            sink(
                {
                    "venue": venue,
                    "connection_id": conn_id,
                    "sequence": next(sequence),
                    "transport": "WEBSOCKET",
                    "origin": origin,
                    "channel": None if binary else stream_hint(payload),
                    "symbol": None,
                    "payload": payload,
                    "binary": binary,
                    "receive_ts_ns": now,
                    "request_ts_ns": None,
                    "rest_url": None,
                    "rest_status": None,
                }
            )
            token = _WS_CONNECTION.set(owner)
            try:
                return original(message)
            finally:
                _WS_CONNECTION.reset(token)

        client.handle_message = handle_message

    def trace_config(self, limiter: VenueRateLimiter | None) -> aiohttp.TraceConfig:
        """Trace hooks that capture REST bodies and feed ``limiter`` from 429/418."""
        conn_id = self.new_connection_id("rest")
        sequence = itertools.count()
        trace = aiohttp.TraceConfig()

        async def on_start(
            _s: aiohttp.ClientSession, ctx: SimpleNamespace, _p: aiohttp.TraceRequestStartParams
        ) -> None:
            ctx.request_ts_ns = self._clock_ns()
            ctx.status = None

        async def on_end(
            _s: aiohttp.ClientSession, ctx: SimpleNamespace, p: aiohttp.TraceRequestEndParams
        ) -> None:
            status = p.response.status
            ctx.status = status
            if status in RATE_LIMIT_STATUSES and limiter is not None:
                limiter.penalize(status, p.response.headers.get("Retry-After"))

        async def on_chunk(
            _s: aiohttp.ClientSession,
            ctx: SimpleNamespace,
            p: aiohttp.TraceResponseChunkReceivedParams,
        ) -> None:
            now = self._clock_ns()
            status = getattr(ctx, "status", None)
            if status is None:
                return
            if 200 <= status < 300:  # an error answer is recorded, but is no sign of life
                self.last_frame_mono = self._monotonic()
            self.frames += 1
            self._rest_frames.inc()
            owner = _WS_CONNECTION.get()
            conn, seq = owner if owner is not None else (conn_id, sequence)
            record: RawRecord = {
                "venue": self.venue,
                "connection_id": conn,
                "sequence": next(seq),
                "transport": "REST",
                "origin": self.origin,
                "channel": "rest",
                "symbol": p.url.query.get("symbol"),
                "payload": bytes(p.chunk),
                "binary": False,
                "receive_ts_ns": now,
                "request_ts_ns": getattr(ctx, "request_ts_ns", None),
                "rest_url": str(p.url),
                "rest_status": status,
            }
            self.sink(record)

        trace.on_request_start.append(on_start)
        trace.on_request_end.append(on_end)
        trace.on_response_chunk_received.append(on_chunk)
        return trace


def instrument_exchange(
    exchange: Any, tap: FrameTap, limiter: VenueRateLimiter | None = None
) -> None:
    """Install the websocket and REST capture (and the REST limiter) on a ccxt.pro
    exchange. Call inside the event loop, before the first request."""
    make_client = exchange.client

    def client(url: str) -> Any:
        created = make_client(url)
        tap.wrap_client(created)
        return created

    exchange.client = client
    # Our session (with the capture hooks) in place of the one ccxt would create; ccxt
    # closes it in ``exchange.close()`` as its own.
    exchange.session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(),
        trust_env=exchange.aiohttp_trust_env,
        trace_configs=[tap.trace_config(limiter)],
    )
    exchange.own_session = True
    exchange.open()  # sets the event loop; keeps the session above
    fetch = exchange.fetch

    async def limited_fetch(
        url: str, method: str = "GET", headers: Any = None, body: Any = None
    ) -> Any:
        if limiter is not None:
            await limiter.wait()
        return await fetch(url, method, headers, body)

    exchange.fetch = limited_fetch
