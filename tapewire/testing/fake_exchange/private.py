"""A loopback fake of Binance spot's *signed* REST order endpoints, with scriptable faults.

    async with FakeBinancePrivate(api_key="k", secret="s") as fake:   # 127.0.0.1
        fake.faults.append(PrivateFault("status", status=429, retry_after="1"))
        fake.faults.append(PrivateFault("hang_after_accept"))   # client times out
        ...

Serves ``GET /api/v3/exchangeInfo`` (the market simulator's Binance markets, so ccxt's
``load_markets`` works) and the signed endpoints ccxt's ``binance`` calls for spot orders:
``POST/DELETE/GET /api/v3/order``, ``POST /api/v3/order/cancelReplace`` (ccxt's
``edit_order``), ``GET/DELETE /api/v3/openOrders``, ``GET /api/v3/myTrades``. Every signed
request is checked like Binance does: ``X-MBX-APIKEY`` header, HMAC-SHA256 ``signature``
over the query string (or the form body of a POST); a bad one answers 401 ``-1022``.

The spot WebSocket API (``/ws-api/v3``, :attr:`FakeBinancePrivate.ws_url`) serves the user
data stream as ccxt.pro's ``watch_orders`` uses it: ``userDataStream.subscribe.signature``
(signature checked the same way), then one ``executionReport`` event per order change.
Orders, stop triggers, trades and commissions are :mod:`.engine`'s; tests move the market
with :meth:`FakeBinancePrivate.trade_at` and script fills with
:meth:`FakeBinancePrivate.fill`.

Faults (:class:`PrivateFault`) are consumed one per signed request, in order:

* ``status``: answer ``status`` (e.g. 429 + ``Retry-After``, 418, 503) and do nothing;
* ``status_after_accept``: do the request (the order *is* placed), then answer ``status``
  (a 5xx after send);
* ``hang_after_accept``: do the request, then sleep ``hang_s`` before answering (the
  client's timeout fires first: the order exists, the client does not know);
* ``hang_before_accept``: sleep ``hang_s`` and never do the request (the order is unknown
  to the venue).

New limit orders rest (``NEW``) unless :attr:`FakeBinancePrivate.fill_on_accept` is set,
then they fill completely at their limit price (``FILLED``); stops wait for their trigger.
Every signed request is recorded in :attr:`FakeBinancePrivate.requests` (method, path,
parameters without the signature, loop time, status). The server is not a log: signatures
and the API key reach it by design.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
import time
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import parse_qsl

import orjson
from aiohttp import WSMsgType, web

from tapewire.connectors.simulator import MarketSimulator, SimConfig, VenueSpec
from tapewire.testing.fake_exchange.engine import FakeEngine, FakeOrder

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


def _error(status: int, code: int, msg: str) -> web.Response:
    body = orjson.dumps({"code": code, "msg": msg})
    return web.Response(status=status, body=body, content_type="application/json")


def _markets(sim: SimConfig, order_types: tuple[str, ...] | None) -> bytes:
    """The simulator's ``exchangeInfo``; ``order_types`` replaces every symbol's
    ``orderTypes`` (the simulator lists real Binance spot's: no ``STOP_LOSS``)."""
    for frame in MarketSimulator(sim).frames():
        if frame.venue == "binance" and frame.channel == "rest_markets":
            if order_types is None:
                return frame.payload
            info = orjson.loads(frame.payload)
            for row in info["symbols"]:
                row["orderTypes"] = list(order_types)
            return orjson.dumps(info)
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
        order_types: tuple[str, ...] | None = None,
    ) -> None:
        self._api_key = api_key
        self._secret = secret.encode()
        self.native_cancel_all = native_cancel_all
        self.fill_on_accept = False
        self.faults: deque[PrivateFault] = deque()
        self.requests: list[PrivateRequest] = []
        self._markets = _markets(
            sim or SimConfig(seed=7, n_frames=50, venues=(VenueSpec(name="binance"),)),
            order_types,
        )
        self._order_types = _order_types(self._markets)
        self.engine = FakeEngine(_assets(self._markets))
        self.orders = self.engine.orders  # by client order id
        self.ws_requests: list[dict[str, Any]] = []
        """Every WebSocket API request received (method and params, signature included)."""
        self._subscribers: dict[web.WebSocketResponse, int] = {}
        self._runner: web.AppRunner | None = None
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]

    @property
    def rest_url(self) -> str:
        """Base REST URL (scheme, host, port) for ccxt."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        """Base websocket URL (scheme, host, port): the WebSocket API is ``/ws-api/v3``."""
        return f"ws://127.0.0.1:{self.port}"

    async def trade_at(self, symbol: str, price: Decimal | str) -> None:
        """A public trade on ``symbol`` (Binance id, e.g. ``BTCUSDT``) at ``price``: stops
        trigger, resting limits it reaches fill; reports go to the user data stream."""
        self.engine.trade_at(symbol, Decimal(price))
        await self._push()

    async def fill(
        self, client_order_id: str, qty: Decimal | str, price: Decimal | str, *, maker: bool = True
    ) -> None:
        """Execute ``qty`` of an open order at ``price`` (a scripted partial fill)."""
        order = self.orders[client_order_id]
        self.engine.execute(order, Decimal(qty), Decimal(price), maker=maker)
        await self._push()

    def count(self, method: str, path: str) -> int:
        """How many signed ``method path`` requests arrived (faulted ones included)."""
        return sum(1 for r in self.requests if r.method == method and r.path == path)

    async def start(self) -> None:
        """Listen on the loopback port bound at construction."""
        app = web.Application()
        app.router.add_get("/api/v3/exchangeInfo", self._exchange_info)
        for path in (ORDER, "/api/v3/order/cancelReplace", "/api/v3/openOrders", MY_TRADES):
            app.router.add_route("*", path, self._signed)
        app.router.add_get("/ws-api/v3", self._ws_api)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.SockSite(self._runner, self._listener).start()

    async def stop(self) -> None:
        """Stop serving and release the port."""
        for ws in list(self._subscribers):
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
            await self._push()
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
        if path == ORDER:
            if method == "POST":
                return self._new(params)
            if method == "GET":
                return self._query(params)
            if method == "DELETE":
                return self._cancel(params)
        if path == "/api/v3/order/cancelReplace" and method == "POST":
            return self._cancel_replace(params)
        if path == "/api/v3/openOrders":
            if method == "GET":
                return self._open(params)
            if method == "DELETE" and self.native_cancel_all:
                return self._cancel_all(params)
        if path == MY_TRADES and method == "GET":
            return self._my_trades(params)
        return _error(404, -1000, f"{method} {path} is not supported here.")

    def _order_from(self, params: dict[str, str]) -> FakeOrder | web.Response:
        cid = params.get("newClientOrderId") or f"fake-{self.engine.next_id()}"
        if cid in self.orders:
            return _error(400, -2010, "Duplicate order sent.")
        unknown = sorted(set(params) - _ORDER_PARAMS)
        if unknown:  # Binance: "Not all sent parameters were read"
            return _error(400, -1104, f"Not all sent parameters were read; unread: {unknown}.")
        kind = params["type"]
        price, stop = params.get("price"), params.get("stopPrice")
        if kind in ("STOP_LOSS", "STOP_LOSS_LIMIT") and not stop:
            return _error(400, -1102, "Mandatory parameter 'stopPrice' was not sent.")
        if kind in ("LIMIT", "STOP_LOSS_LIMIT", "LIMIT_MAKER") and not price:
            return _error(400, -1102, "Mandatory parameter 'price' was not sent.")
        if kind not in self._order_types.get(params["symbol"], ()):
            return _error(400, -1116, "Invalid orderType.")
        return FakeOrder(
            order_id=self.engine.next_id(),
            client_order_id=cid,
            symbol=params["symbol"],
            side=params["side"],
            type=kind,
            time_in_force=params.get("timeInForce"),
            quantity=Decimal(params["quantity"]),
            price=Decimal(price) if price else None,
            stop_price=Decimal(stop) if stop else None,
        )

    def _accepted(self, order: FakeOrder) -> dict[str, Any]:
        self.engine.accept(order, fill_on_accept=self.fill_on_accept)
        fills = [t.to_fill() for t in order.trades]
        return order.to_json() | {"transactTime": order.time_ms, "fills": fills}

    def _new(self, params: dict[str, str]) -> web.Response:
        order = self._order_from(params)
        if isinstance(order, web.Response):
            return order
        return _json(self._accepted(order))

    def _query(self, params: dict[str, str]) -> web.Response:
        order = self.engine.find(params)
        if order is None:
            return _error(400, -2013, "Order does not exist.")
        return _json(order.to_json())

    def _cancel(self, params: dict[str, str]) -> web.Response:
        order = self.engine.find(params)
        if order is None or not order.is_open:
            return _error(400, -2011, "Unknown order sent.")
        self.engine.cancel(order)
        return _json(order.to_json())

    def _cancel_replace(self, params: dict[str, str]) -> web.Response:
        """Binance's cancel-replace (``STOP_ON_FAILURE``): cancel, then the new order."""
        old = self.engine.find(params, prefix="cancel")
        new_params = {k: v for k, v in params.items() if k not in _CANCEL_REPLACE_ONLY}
        if old is None or not old.is_open:
            data = {
                "cancelResult": "FAILURE",
                "newOrderResult": "NOT_ATTEMPTED",
                "cancelResponse": {"code": -2011, "msg": "Unknown order sent."},
                "newOrderResponse": None,
            }
            body = {"code": -2022, "msg": "Order cancel-replace failed.", "data": data}
            return web.Response(
                status=400, body=orjson.dumps(body), content_type="application/json"
            )
        new = self._order_from(new_params)
        if isinstance(new, web.Response):
            return new
        self.engine.cancel(old)
        return _json(
            {
                "cancelResult": "SUCCESS",
                "newOrderResult": "SUCCESS",
                "cancelResponse": old.to_json(),
                "newOrderResponse": self._accepted(new),
            }
        )

    def _open(self, params: dict[str, str]) -> web.Response:
        symbol = params.get("symbol")
        rows = [
            o.to_json() for o in self.orders.values() if o.is_open and symbol in (None, o.symbol)
        ]
        return _json(rows)

    def _cancel_all(self, params: dict[str, str]) -> web.Response:
        symbol = params.get("symbol")
        rows = []
        for order in list(self.orders.values()):
            if order.is_open and order.symbol == symbol:
                self.engine.cancel(order)
                rows.append(order.to_json())
        return _json(rows)

    def _my_trades(self, params: dict[str, str]) -> web.Response:
        symbol, order_id = params.get("symbol"), params.get("orderId")
        rows = [
            t.to_json()
            for o in self.orders.values()
            for t in o.trades
            if o.symbol == symbol and order_id in (None, str(o.order_id))
        ]
        return _json(sorted(rows, key=lambda r: r["id"]))

    # -- WebSocket API: the user data stream ----------------------------------------------

    async def _ws_api(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                command = orjson.loads(msg.data)
                self.ws_requests.append(command)
                await ws.send_str(self._ws_answer(ws, command).decode())
                await self._push()
        finally:
            self._subscribers.pop(ws, None)
        return ws

    def _ws_answer(self, ws: web.WebSocketResponse, command: dict[str, Any]) -> bytes:
        rid, method = command.get("id"), command.get("method")
        if method != "userDataStream.subscribe.signature":
            error = {"code": -1100, "msg": f"method {method!r} is not supported here."}
            return orjson.dumps({"id": rid, "status": 400, "error": error})
        params = dict(command.get("params") or {})
        signature = str(params.pop("signature", ""))
        payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
        expected = hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()
        if params.get("apiKey") != self._api_key or not hmac.compare_digest(expected, signature):
            error = {"code": -1022, "msg": "Signature for this request is not valid."}
            return orjson.dumps({"id": rid, "status": 401, "error": error})
        self._subscribers[ws] = len(self._subscribers)
        return orjson.dumps({"id": rid, "status": 200, "result": {"subscriptionId": 0}})

    async def _push(self) -> None:
        """Send the engine's pending execution reports to every subscriber."""
        reports, self.engine.reports = self.engine.reports, []
        for ws, sid in list(self._subscribers.items()):
            for report in reports:
                if not ws.closed:
                    await ws.send_str(
                        orjson.dumps({"subscriptionId": sid, "event": report}).decode()
                    )


ORDER = "/api/v3/order"
MY_TRADES = "/api/v3/myTrades"
_ORDER_PARAMS = frozenset(
    {
        "symbol", "side", "type", "timeInForce", "quantity", "quoteOrderQty", "price",
        "newClientOrderId", "stopPrice", "trailingDelta", "icebergQty", "newOrderRespType",
        "selfTradePreventionMode", "strategyId", "strategyType", "recvWindow", "timestamp",
    }
)  # fmt: skip
_CANCEL_REPLACE_ONLY = frozenset(
    {"cancelReplaceMode", "cancelOrderId", "cancelOrigClientOrderId", "cancelNewClientOrderId"}
)


def _json(value: Any) -> web.Response:
    return web.json_response(value, dumps=lambda v: orjson.dumps(v).decode())


def _order_types(markets: bytes) -> dict[str, frozenset[str]]:
    return {
        row["symbol"]: frozenset(row.get("orderTypes") or ())
        for row in orjson.loads(markets)["symbols"]
    }


def _assets(markets: bytes) -> dict[str, tuple[str, str]]:
    return {
        row["symbol"]: (row["baseAsset"], row["quoteAsset"])
        for row in orjson.loads(markets)["symbols"]
    }
