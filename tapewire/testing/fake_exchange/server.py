"""The fake Binance server (aiohttp) and its fault script."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

import orjson
from aiohttp import WSMsgType, web

from tapewire.connectors.simulator import MarketSimulator, SimConfig, VenueSpec

VENUE = "binance"


@dataclass
class RestFault:
    """The answer to the next REST request (any path): a status and headers."""

    status: int
    retry_after: str | None = None
    body: bytes = b'{"code":-1003,"msg":"Too many requests."}'


@dataclass
class Faults:
    """What the server does wrong; tests change it while the server runs.

    ``drop_after``: close every websocket after this many data frames;
    ``silent_after``: stop sending (but keep the socket open and answer pings);
    ``only_connections``: apply the two above only to these connection indexes (0-based);
    ``rest``: answers consumed one per REST request before normal service;
    ``rest_delay_s``: extra delay before every REST answer (slow responses).
    """

    drop_after: int | None = None
    silent_after: int | None = None
    only_connections: set[int] | None = None
    rest: deque[RestFault] = field(default_factory=deque)
    rest_delay_s: float = 0.0

    def applies(self, index: int) -> bool:
        """Whether websocket faults apply to connection ``index``."""
        return self.only_connections is None or index in self.only_connections


@dataclass
class WsConnection:
    """What one websocket connection saw: subscriptions and every frame sent, in order."""

    index: int
    path: str
    opened_mono: float
    streams: set[str] = field(default_factory=set)
    sent: list[bytes] = field(default_factory=list)
    closed_mono: float | None = None


@dataclass(frozen=True)
class RestRequest:
    """One REST request the server answered."""

    path_qs: str
    mono: float
    status: int
    body: bytes


def _stream_of(payload: bytes) -> str:
    return orjson.loads(payload)["stream"]  # type: ignore[no-any-return]


class FakeBinance:
    """Binance spot on ``127.0.0.1``: ``/stream/<n>`` websockets and ``/api/v3`` REST.

    The ephemeral port is bound at construction (``port``, ``ws_url``, ``rest_url`` are
    valid at once); serving starts with :meth:`start` or ``async with``.

    Every websocket connection replays the simulator's Binance frames from the start,
    filtered to the streams the client subscribed, ``interval_s`` apart (``max_frames``
    per connection at most, then silence). ``/api/v3/depth`` serves the first simulated
    snapshot of the symbol (consistent with the deltas of a fresh connection).
    """

    def __init__(
        self,
        sim: SimConfig | None = None,
        *,
        interval_s: float = 0.002,
        max_frames: int = 10_000,
    ) -> None:
        self.sim_config = sim or SimConfig(
            seed=7, n_frames=4_000, venues=(VenueSpec(name="binance"),)
        )
        self.interval_s = interval_s
        self.max_frames = max_frames
        self.faults = Faults()
        self.connections: list[WsConnection] = []
        self.rest_requests: list[RestRequest] = []
        self._ws_frames: list[tuple[str, bytes]] = []
        self._markets = b""
        self._snapshots: dict[str, bytes] = {}
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        # bound now, so the URLs are known before start() (configs can be built first)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._load()

    def _load(self) -> None:
        for frame in MarketSimulator(self.sim_config).frames():
            if frame.venue != VENUE:
                continue
            if frame.channel == "rest_markets":
                self._markets = frame.payload
            elif frame.channel == "rest_snapshot":
                assert frame.native_symbol is not None
                self._snapshots.setdefault(frame.native_symbol, frame.payload)
            else:
                self._ws_frames.append((_stream_of(frame.payload), frame.payload))

    @property
    def ws_url(self) -> str:
        """Base websocket URL for ccxt (``urls['api']['ws'][type]``); ccxt appends ``/<n>``."""
        return f"ws://127.0.0.1:{self.port}/stream"

    @property
    def rest_url(self) -> str:
        """Base REST URL (scheme, host, port) for ccxt."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Listen on an ephemeral loopback port."""
        app = web.Application()
        app.router.add_get("/stream/{n}", self._ws)
        app.router.add_get("/stream", self._ws)
        app.router.add_get("/api/v3/exchangeInfo", self._exchange_info)
        app.router.add_get("/api/v3/depth", self._depth)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        await web.SockSite(self._runner, self._listener).start()

    async def stop(self) -> None:
        """Close every connection and the listener."""
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._listener.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- REST ---------------------------------------------------------------------------

    async def _rest(self, request: web.Request, body: bytes) -> web.Response:
        if self.faults.rest_delay_s:
            await asyncio.sleep(self.faults.rest_delay_s)
        status, headers = 200, {}
        if self.faults.rest:
            fault = self.faults.rest.popleft()
            status, body = fault.status, fault.body
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
        self.rest_requests.append(RestRequest(request.path_qs, time.monotonic(), status, body))
        return web.Response(
            body=body, status=status, headers=headers, content_type="application/json"
        )

    async def _exchange_info(self, request: web.Request) -> web.Response:
        return await self._rest(request, self._markets)

    async def _depth(self, request: web.Request) -> web.Response:
        symbol = request.query.get("symbol", "")
        body = self._snapshots.get(symbol)
        if body is None:
            return web.Response(status=400, body=b'{"code":-1121,"msg":"Invalid symbol."}')
        return await self._rest(request, body)

    # -- websocket ------------------------------------------------------------------------

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.add(ws)
        conn = WsConnection(len(self.connections), request.path, time.monotonic())
        self.connections.append(conn)
        sender = asyncio.create_task(self._send_loop(ws, conn))
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                command = orjson.loads(msg.data)
                if command.get("method") == "SUBSCRIBE":
                    conn.streams.update(command.get("params", []))
                    reply = orjson.dumps({"result": None, "id": command.get("id")})
                    conn.sent.append(reply)
                    await ws.send_str(reply.decode())
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            conn.closed_mono = time.monotonic()
            self._sockets.discard(ws)
        return ws

    async def _send_loop(self, ws: web.WebSocketResponse, conn: WsConnection) -> None:
        faults = self.faults
        data_frames = 0
        position = 0
        while data_frames < self.max_frames and not ws.closed:
            await asyncio.sleep(self.interval_s)
            if not conn.streams:
                continue
            applies = faults.applies(conn.index)
            if applies and faults.drop_after is not None and data_frames >= faults.drop_after:
                await ws.close()
                return
            if applies and faults.silent_after is not None and data_frames >= faults.silent_after:
                continue
            while position < len(self._ws_frames):
                stream, payload = self._ws_frames[position]
                position += 1
                if stream in conn.streams:
                    conn.sent.append(payload)
                    await ws.send_str(payload.decode("utf-8"))
                    data_frames += 1
                    break
            else:
                return
