"""A loopback fake of Binance spot's *signed* REST order endpoints, with scriptable faults.

    async with FakeBinancePrivate(api_key="k", secret="s") as fake:   # 127.0.0.1
        fake.faults.append(PrivateFault("status", status=429, retry_after="1"))
        fake.faults.append(PrivateFault("hang_after_accept"))   # client times out
        ...

Serves ``GET /api/v3/exchangeInfo`` (the market simulator's Binance markets, so ccxt's
``load_markets`` works) and the signed endpoints ccxt's ``binance`` calls for spot orders:
``POST/DELETE/GET /api/v3/order``, ``GET/DELETE /api/v3/openOrders``. Every signed
request is checked like Binance does: ``X-MBX-APIKEY`` header, HMAC-SHA256 ``signature``
over the query string (or the form body of a POST); a bad one answers 401 ``-1022``.

Faults (:class:`PrivateFault`) are consumed one per signed request, in order:

* ``status``: answer ``status`` (e.g. 429 + ``Retry-After``, 418, 503) and do nothing;
* ``status_after_accept``: do the request (the order *is* placed), then answer ``status``
  (a 5xx after send);
* ``hang_after_accept``: do the request, then sleep ``hang_s`` before answering (the
  client's timeout fires first: the order exists, the client does not know);
* ``hang_before_accept``: sleep ``hang_s`` and never do the request (the order is unknown
  to the venue).

New orders rest (``NEW``) unless :attr:`FakeBinancePrivate.fill_on_accept` is set, then
they fill completely at their limit price (``FILLED``). Every signed request is recorded in
:attr:`FakeBinancePrivate.requests` (method, path, parameters without the signature,
loop time, status). The server is not a log: signatures and the API key reach it by design.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import parse_qsl

import orjson
from aiohttp import web

from tapewire.connectors.simulator import MarketSimulator, SimConfig, VenueSpec

FaultKind = Literal["status", "status_after_accept", "hang_after_accept", "hang_before_accept"]

_BODIES = {
    418: b'{"code":-1003,"msg":"Way too many requests; IP banned."}',
    429: b'{"code":-1003,"msg":"Too many requests; please use the websocket for live updates."}',
}


@dataclass
class PrivateFault:
    """What the server does with the next signed request (see the module docstring)."""

    kind: FaultKind
    status: int = 502
    retry_after: str | None = None
    hang_s: float = 3.0


@dataclass
class PrivateRequest:
    """One signed request the server received (``params`` without ``signature``);
    ``mono`` is its arrival time, ``status`` the answer (0 while unanswered)."""

    method: str
    path: str
    params: dict[str, str]
    mono: float
    status: int
    fault: FaultKind | None


@dataclass
class FakeOrder:
    """An order as the fake venue holds it (Binance spot fields)."""

    order_id: int
    client_order_id: str
    symbol: str
    side: str
    type: str
    time_in_force: str | None
    quantity: Decimal
    price: Decimal | None
    status: str = "NEW"
    executed: Decimal = Decimal(0)
    quote: Decimal = Decimal(0)
    time_ms: int = field(default_factory=lambda: int(time.time() * 1000))

    def to_json(self) -> dict[str, Any]:
        """The order as Binance's ``GET /api/v3/order`` returns it."""
        return {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_order_id,
            "price": _text(self.price or Decimal(0)),
            "origQty": _text(self.quantity),
            "executedQty": _text(self.executed),
            "cummulativeQuoteQty": _text(self.quote),
            "status": self.status,
            "timeInForce": self.time_in_force or "GTC",
            "type": self.type,
            "side": self.side,
            "stopPrice": "0.00000000",
            "icebergQty": "0.00000000",
            "time": self.time_ms,
            "updateTime": self.time_ms,
            "isWorking": True,
            "workingTime": self.time_ms,
            "origQuoteOrderQty": "0.00000000",
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }


def _text(value: Decimal) -> str:
    return f"{value:.8f}"


def _error(status: int, code: int, msg: str) -> web.Response:
    body = orjson.dumps({"code": code, "msg": msg})
    return web.Response(status=status, body=body, content_type="application/json")


def _markets(sim: SimConfig) -> bytes:
    for frame in MarketSimulator(sim).frames():
        if frame.venue == "binance" and frame.channel == "rest_markets":
            return frame.payload
    raise ValueError("the simulator produced no binance markets")


class FakeBinancePrivate:
    """Binance spot's signed order endpoints on ``127.0.0.1`` (ephemeral port)."""

    def __init__(
        self,
        *,
        api_key: str,
        secret: str,
        sim: SimConfig | None = None,
        native_cancel_all: bool = True,
    ) -> None:
        self._api_key = api_key
        self._secret = secret.encode()
        self.native_cancel_all = native_cancel_all
        self.fill_on_accept = False
        self.faults: deque[PrivateFault] = deque()
        self.requests: list[PrivateRequest] = []
        self.orders: dict[str, FakeOrder] = {}  # by client order id
        self._ids = itertools.count(1000)
        self._markets = _markets(
            sim or SimConfig(seed=7, n_frames=50, venues=(VenueSpec(name="binance"),))
        )
        self._runner: web.AppRunner | None = None
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]

    @property
    def rest_url(self) -> str:
        """Base REST URL (scheme, host, port) for ccxt."""
        return f"http://127.0.0.1:{self.port}"

    def count(self, method: str, path: str) -> int:
        """How many signed ``method path`` requests arrived (faulted ones included)."""
        return sum(1 for r in self.requests if r.method == method and r.path == path)

    async def start(self) -> None:
        """Listen on the loopback port bound at construction."""
        app = web.Application()
        app.router.add_get("/api/v3/exchangeInfo", self._exchange_info)
        for path in ("/api/v3/order", "/api/v3/openOrders"):
            app.router.add_route("*", path, self._signed)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.SockSite(self._runner, self._listener).start()

    async def stop(self) -> None:
        """Stop serving and release the port."""
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

    # -- handlers -------------------------------------------------------------------------

    async def _exchange_info(self, request: web.Request) -> web.Response:
        return web.Response(body=self._markets, content_type="application/json")

    async def _signed(self, request: web.Request) -> web.Response:
        raw = request.query_string
        if request.method == "POST":
            raw = (await request.read()).decode()
        payload, _, signature = raw.rpartition("&signature=")
        params = dict(parse_qsl(payload, keep_blank_values=True))
        fault = self.faults.popleft() if self.faults else None
        record = PrivateRequest(
            request.method, request.path, params, time.monotonic(), 0, fault.kind if fault else None
        )
        self.requests.append(record)  # on arrival: a hanging request is counted at once
        status = 200
        try:
            if request.headers.get("X-MBX-APIKEY") != self._api_key:
                status = 401
                return _error(401, -2015, "Invalid API-key, IP, or permissions for action.")
            expected = hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, signature):
                status = 401
                return _error(401, -1022, "Signature for this request is not valid.")
            if fault is not None and fault.kind == "status":
                status = fault.status
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                body = _BODIES.get(status, b'{"code":-1001,"msg":"Internal error."}')
                return web.Response(
                    status=status, body=body, headers=headers, content_type="application/json"
                )
            if fault is not None and fault.kind == "hang_before_accept":
                await asyncio.sleep(fault.hang_s)
                status = 504
                return _error(504, -1007, "Timeout waiting for response from backend server.")
            response = self._dispatch(request.method, request.path, params)
            status = response.status
            if fault is not None and fault.kind == "hang_after_accept":
                await asyncio.sleep(fault.hang_s)
            elif fault is not None and fault.kind == "status_after_accept":
                status = fault.status
                return _error(status, -1001, "Internal error; unable to process your request.")
            return response
        finally:
            record.status = status

    def _dispatch(self, method: str, path: str, params: dict[str, str]) -> web.Response:
        if path == "/api/v3/order":
            if method == "POST":
                return self._new(params)
            if method == "GET":
                return self._query(params)
            if method == "DELETE":
                return self._cancel(params)
        if path == "/api/v3/openOrders":
            if method == "GET":
                return self._open(params)
            if method == "DELETE" and self.native_cancel_all:
                return self._cancel_all(params)
        return _error(404, -1000, f"{method} {path} is not supported here.")

    def _find(self, params: dict[str, str]) -> FakeOrder | None:
        cid = params.get("origClientOrderId")
        if cid is not None:
            return self.orders.get(cid)
        order_id = params.get("orderId")
        return next((o for o in self.orders.values() if str(o.order_id) == order_id), None)

    def _new(self, params: dict[str, str]) -> web.Response:
        cid = params.get("newClientOrderId") or f"fake-{next(self._ids)}"
        if cid in self.orders:
            return _error(400, -2010, "Duplicate order sent.")
        price = params.get("price")
        order = FakeOrder(
            order_id=next(self._ids),
            client_order_id=cid,
            symbol=params["symbol"],
            side=params["side"],
            type=params["type"],
            time_in_force=params.get("timeInForce"),
            quantity=Decimal(params["quantity"]),
            price=Decimal(price) if price else None,
        )
        if self.fill_on_accept or order.type == "MARKET":
            order.executed = order.quantity
            order.quote = order.quantity * (order.price or Decimal(100))
            order.status = "FILLED"
        self.orders[cid] = order
        body = order.to_json() | {"transactTime": order.time_ms, "fills": []}
        return web.json_response(body, dumps=lambda v: orjson.dumps(v).decode())

    def _query(self, params: dict[str, str]) -> web.Response:
        order = self._find(params)
        if order is None:
            return _error(400, -2013, "Order does not exist.")
        return web.json_response(order.to_json(), dumps=lambda v: orjson.dumps(v).decode())

    def _cancel(self, params: dict[str, str]) -> web.Response:
        order = self._find(params)
        if order is None or order.status not in ("NEW", "PARTIALLY_FILLED"):
            return _error(400, -2011, "Unknown order sent.")
        order.status = "CANCELED"
        return web.json_response(order.to_json(), dumps=lambda v: orjson.dumps(v).decode())

    def _open(self, params: dict[str, str]) -> web.Response:
        symbol = params.get("symbol")
        rows = [
            o.to_json()
            for o in self.orders.values()
            if o.status in ("NEW", "PARTIALLY_FILLED") and symbol in (None, o.symbol)
        ]
        return web.json_response(rows, dumps=lambda v: orjson.dumps(v).decode())

    def _cancel_all(self, params: dict[str, str]) -> web.Response:
        symbol = params.get("symbol")
        rows = []
        for order in self.orders.values():
            if order.status in ("NEW", "PARTIALLY_FILLED") and order.symbol == symbol:
                order.status = "CANCELED"
                rows.append(order.to_json())
        return web.json_response(rows, dumps=lambda v: orjson.dumps(v).decode())
