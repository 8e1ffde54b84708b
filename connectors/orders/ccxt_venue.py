"""Live or sandbox trading through ccxt's unified async API, for the order router.

Same shape as :class:`tapewire.streams.execution.paper.PaperVenue`: each call returns the
``OrderEvent`` and ``Fill`` records it caused (plus ``Alert`` records), so the router
publishes them to ``oms.events`` / ``oms.fills`` / ``alerts`` the same way.

Error policy (``docs/ccxt-venue.md``):

* 429 → the key's limiter is penalized for ``Retry-After`` (default 1 s), the call waits
  and is retried with the same client order id (a 429 means "not processed");
* 418 → the venue's process-wide limiter (shared by every key and the market-data
  connector) is penalized (default 60 s): every call of that venue waits;
* timeout or 5xx (or a connection error) on a call that may have reached the venue →
  the order's status is UNKNOWN; it is reconciled by client order id (fetch the order,
  then the open orders) before anything else, and never re-sent;
* still unknown after reconciliation → QUARANTINED: an ``ORDER_QUARANTINED`` alert and
  an ``ORDER_STATUS`` event with status UNKNOWN, once (a later reconciliation that still
  does not find it, after a restart too, reports nothing); later requests for it are refused.

Credentials come from :class:`tapewire.connectors.orders.keys.Credentials`; their values go to
ccxt only. ccxt logs request headers (the API key) at DEBUG: the venue gives ccxt its own
logger with a filter that redacts every credential value, and every error text it
produces is redacted the same way.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro
from ccxt.base import errors as ccxt_errors

from tapewire.connectors.live.limiter import VenueRateLimiter, limiter_for
from tapewire.connectors.orders.ccxt_unified import create_args, edit_args, trade_terms
from tapewire.connectors.orders.keys import Credentials
from tapewire.core import metrics
from tapewire.core.errors import TapewireError
from tapewire.core.exact import ZERO, add, div18, mul, q18, sub, to_decimal
from tapewire.core.instruments import Instrument
from tapewire.core.records import MutableRecord, Record
from tapewire.records.orders import OrderEvent
from tapewire.records.risk import Alert
from tapewire.streams.execution.common import QUARANTINE_ALERT, RestorableOrder, quarantine_text
from tapewire.streams.execution.emulation import (
    TriggerWatcher,
    emulation_note,
    triggered_note,
    triggered_type,
)
from tapewire.streams.execution.rules import (
    EmulationPlan,
    Rejection,
    VenueFeatures,
    VenueRules,
)
from tapewire.streams.oms import reports
from tapewire.streams.oms.reports import LiveReports as LiveReports

log = logging.getLogger(__name__)

REDACTED = "<redacted>"
_STATUS: contextvars.ContextVar[tuple[int, str | None] | None] = contextvars.ContextVar(
    "ccxt_venue_last_status", default=None
)
_CCXT_STATUS = {
    "open": "NEW",
    "closed": "FILLED",
    "canceled": "CANCELED",
    "cancelled": "CANCELED",
    "expired": "EXPIRED",
    "rejected": "REJECTED",
}
_FINAL = frozenset({"FILLED", "CANCELED", "REJECTED", "EXPIRED"})


class CcxtVenueError(TapewireError):
    """The ccxt venue cannot start or cannot serve a request (text already redacted)."""

    def __init__(self, message: str, *, venue: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.venue = venue


class _UnknownOutcomeError(Exception):
    """The call may or may not have reached the venue (timeout, 5xx, connection lost)."""


class _RefusedError(Exception):
    """The venue answered with a definite refusal (order rejected, not found...)."""

    def __init__(self, text: str, *, not_found: bool = False) -> None:
        super().__init__(text)
        self.text = text
        self.not_found = not_found


class Redactor(logging.Filter):
    """Replaces every secret value in log records (message and arguments) and in text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def text(self, value: object) -> str:
        """``str(value)`` with every secret replaced by ``<redacted>``."""
        out = str(value)
        for secret in self.secrets:
            out = out.replace(secret, REDACTED)
        return out

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.text(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


@dataclass(frozen=True, slots=True)
class CcxtVenueConfig:
    """One ccxt venue and account.

    ``instruments`` maps canonical instrument ids to ccxt symbols (default: derived with
    :meth:`Instrument.to_ccxt_symbol`). ``rest_base_url`` replaces the scheme and host of
    every REST URL, ``ws_base_url`` of every websocket URL (loopback fake exchange, a
    proxy). ``features`` overrides what ccxt's ``has`` says (e.g. ``cancel_all=False`` to
    iterate open orders, ``edit_order=False`` to replace by cancel/new).
    ``watch_orders=False`` keeps polling even where ccxt.pro can watch orders.
    """

    venue: str
    account: str
    sandbox: bool = False
    rest_base_url: str | None = None
    ws_base_url: str | None = None
    watch_orders: bool = True
    timeout_ms: int = 10_000
    max_rate_limit_retries: int = 5
    reconcile_attempts: int = 2
    reconcile_delay_s: float = 0.5
    default_429_s: float = 1.0
    default_418_s: float = 60.0
    features: VenueFeatures | None = None
    instruments: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class _Live:
    """What the venue knows of one order it sent (by client order id)."""

    req: Record
    symbol: str
    status: str = "PENDING_NEW"
    venue_order_id: str | None = None
    cum: Decimal = ZERO
    notional: Decimal = ZERO
    n_events: int = 0
    quarantined: bool = False
    venue_type: str = "LIMIT"  # what is (or, armed, will be) at the venue
    venue_tif: str = "GTC"
    emulated: bool = False
    armed: bool = False  # an emulated stop waiting for its trigger (not at the venue)
    rearm: bool = False  # restored emulated stop: armed again if the venue has no such order
    base_cum: Decimal = ZERO  # filled before the current venue order (cancel/new replace)
    base_notional: Decimal = ZERO
    trade_ids: set[str] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _redacted_factory(
    redactor: Redactor, venue: str, account: str
) -> logging.Logger:  # one logger per key, with the key's filter
    logger = logging.getLogger(f"tapewire.ccxt.{venue}.{account}")
    if not any(isinstance(f, Redactor) for f in logger.filters):
        logger.addFilter(redactor)
    else:
        for existing in logger.filters:
            if isinstance(existing, Redactor):
                existing.secrets = tuple(sorted({*existing.secrets, *redactor.secrets}))
    return logger


def _replace_base(node: Any, base: str, *, websocket: bool = False) -> Any:
    """Every URL under ``node`` with ``base`` as scheme and host: REST URLs (the ``ws``
    entries untouched), or with ``websocket`` the ``ws://``/``wss://`` ones."""
    schemes = ("ws://", "wss://") if websocket else ("http://", "https://")
    if isinstance(node, str):
        if node.startswith(schemes):
            scheme_end = node.index("//") + 2
            slash = node.find("/", scheme_end)
            return base + ("" if slash < 0 else node[slash:])
        return node
    if isinstance(node, dict):
        return {
            k: (v if k == "ws" and not websocket else _replace_base(v, base, websocket=websocket))
            for k, v in node.items()
        }
    return node


class CcxtVenue:
    """One account on one ccxt exchange; see the module docstring.

    Use ``async with CcxtVenue(config, credentials) as venue`` (or :meth:`start` /
    :meth:`close`). ``exchange`` is the ccxt async exchange (for tests and diagnostics).
    """

    def __init__(
        self,
        config: CcxtVenueConfig,
        credentials: Credentials,
        *,
        venue_limiter: VenueRateLimiter | None = None,
        key_limiter: VenueRateLimiter | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        if credentials.venue != config.venue:
            raise CcxtVenueError(
                f"credentials are for venue {credentials.venue!r}, config for {config.venue!r}",
                venue=config.venue,
            )
        self.config = config
        self.venue = config.venue
        self.account = config.account
        self._redactor = Redactor(credentials.secret_values())
        self._credentials = credentials
        self.venue_limiter = venue_limiter or limiter_for(
            config.venue, default_429_s=config.default_429_s, default_418_s=config.default_418_s
        )
        self.key_limiter = key_limiter or limiter_for(
            f"{config.venue}#{config.account}",
            default_429_s=config.default_429_s,
            default_418_s=config.default_418_s,
        )
        self._clock_ns = clock_ns
        self.exchange: Any = None
        self.rules: dict[str, VenueRules] = {}
        self.features = config.features or VenueFeatures()
        self.orders: dict[str, _Live] = {}
        self._symbols: dict[str, str] = dict(config.instruments)
        self._instruments: dict[str, str] = {}
        self._watcher = TriggerWatcher()
        self.last_price: dict[str, Decimal] = {}
        """Last public trade price per instrument (from :meth:`on_trade`): the reference
        for the min-notional check of orders without a price (market, trailing)."""
        self._retired: set[str] = set()  # client order ids replaced by another id
        self.can_watch_orders = False
        self.fetch_trades = False
        """Fees come from ``fetch_my_trades`` (``has['fetchMyTrades']``)."""
        """ccxt.pro ``watch_orders`` is used for reports (``has['watchOrders']`` and the
        config allow it); else :meth:`poll`."""

    def __repr__(self) -> str:
        return f"CcxtVenue(venue={self.venue!r}, account={self.account!r})"

    # ---- lifecycle ----------------------------------------------------------------------

    async def __aenter__(self) -> CcxtVenue:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Create the ccxt exchange, load markets and build the venue rules."""
        cls = getattr(ccxt_pro, self.venue, None) or getattr(ccxt_async, self.venue, None)
        if cls is None:
            raise CcxtVenueError(f"ccxt has no exchange {self.venue!r}", venue=self.venue)
        options: dict[str, Any] = {
            "fetchMarkets": {"types": ["spot"]},
            "fetchCurrencies": False,
            "fetchMargins": False,
        } | dict(self.config.options)
        exchange = cls(
            {
                "enableRateLimit": True,
                "timeout": self.config.timeout_ms,
                "options": options,
                "logger": _redacted_factory(self._redactor, self.venue, self.account),
                "verbose": False,
            }
            | self._credentials.ccxt_config()
        )
        if self.config.sandbox:
            exchange.set_sandbox_mode(True)
        if self.config.rest_base_url:
            exchange.urls["api"] = _replace_base(
                exchange.urls["api"], self.config.rest_base_url.rstrip("/")
            )
        ws_urls = exchange.urls["api"].get("ws") if isinstance(exchange.urls["api"], dict) else None
        if self.config.ws_base_url and ws_urls is not None:
            exchange.urls["api"]["ws"] = _replace_base(
                ws_urls, self.config.ws_base_url.rstrip("/"), websocket=True
            )
        original = exchange.on_rest_response

        def on_rest_response(
            code: Any, reason: Any, url: Any, method: Any, headers: Any, *a: Any
        ) -> Any:
            retry = None
            if isinstance(headers, Mapping):
                retry = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
            _STATUS.set((int(code), retry))
            return original(code, reason, url, method, headers, *a)

        exchange.on_rest_response = on_rest_response
        self.exchange = exchange
        if self.config.features is None:
            self.features = VenueFeatures.from_ccxt(
                exchange.has, getattr(exchange, "features", None)
            )
        self.can_watch_orders = bool(self.config.watch_orders and exchange.has.get("watchOrders"))
        self.fetch_trades = bool(exchange.has.get("fetchMyTrades"))
        try:
            markets = await self._call("load_markets", lambda: exchange.load_markets())
        except (_UnknownOutcomeError, _RefusedError) as exc:
            await self.close()
            raise CcxtVenueError(
                f"{self.venue}: cannot load markets: {exc}", venue=self.venue
            ) from None
        for symbol, market in markets.items():
            if market.get("spot") or market.get("type") in ("swap", "future", "option"):
                try:
                    inst = Instrument.from_ccxt_market(market).id
                except TapewireError:
                    continue
                self._symbols.setdefault(inst, symbol)
        for inst, symbol in self._symbols.items():
            self._instruments[symbol] = inst
            market = markets.get(symbol)
            if market is not None:
                self.rules[inst] = VenueRules.from_ccxt_market(
                    market,
                    venue=self.venue,
                    precision_mode=int(exchange.precisionMode),
                    features=self.features,
                )

    async def close(self) -> None:
        """Close ccxt's HTTP session."""
        if self.exchange is not None:
            await self.exchange.close()
            self.exchange = None

    # ---- router API ----------------------------------------------------------------------

    async def submit(self, request: Record) -> LiveReports:
        """Act on an approved ``OrderRequest`` (NEW, REPLACE, CANCEL, CANCEL_ALL)."""
        action = request["action"]
        if action == "NEW":
            return await self._new(request)
        if action == "REPLACE":
            return await self.replace(request)
        if action == "CANCEL":
            return await self.cancel(request["orig_client_order_id"] or request["client_order_id"])
        if action == "CANCEL_ALL":
            instrument = request.get("instrument")
            return await self.cancel_all([instrument] if instrument else None)
        out = LiveReports()
        out.events.append(
            self._event_for_request(
                request, "REJECTED", status="REJECTED", text=f"unsupported action {action}"
            )
        )
        return out

    async def cancel(self, client_order_id: str) -> LiveReports:
        """Cancel one order by client order id."""
        out = LiveReports()
        order = self.orders.get(client_order_id)
        if order is None:
            return await self._cancel_foreign(client_order_id, out)
        if order.quarantined:
            out.events.append(
                self._event(order, "CANCEL_REJECTED", text="order is quarantined; not sent")
            )
            return out
        if order.status in _FINAL:
            out.events.append(
                self._event(order, "CANCEL_REJECTED", text=f"order already {order.status}")
            )
            return out
        if order.armed:
            return self._cancel_armed(order, "canceled locally: emulated stop not yet sent")
        ex = self.exchange
        try:
            result = await self._call(
                "cancel_order",
                lambda: ex.cancel_order(
                    order.venue_order_id or "", order.symbol, {"clientOrderId": client_order_id}
                ),
            )
        except _RefusedError as exc:
            out.events.append(self._event(order, "CANCEL_REJECTED", text=exc.text))
            return out
        except _UnknownOutcomeError as exc:
            out.extend(await self._reconcile_one(order, f"cancel outcome unknown: {exc}"))
            return out
        await self._apply(order, result, out, text="canceled")
        return out

    async def cancel_all(self, instruments: Iterable[str] | None = None) -> LiveReports:
        """Cancel every open order (of ``instruments``, default all known instruments).

        Uses the venue's cancel-all where ccxt supports it, else iterates open orders.
        """
        out = LiveReports()
        wanted = list(instruments) if instruments is not None else self._open_instruments()
        for order in list(self.orders.values()):
            if order.armed and order.req["instrument"] in wanted:
                out.extend(self._cancel_armed(order, "canceled by cancel-all (emulated stop)"))
        ex = self.exchange
        for inst in wanted:
            symbol = self.ccxt_symbol(inst)
            try:
                if self.features.cancel_all:
                    rows = await self._call(
                        "cancel_all_orders", functools.partial(ex.cancel_all_orders, symbol)
                    )
                    for row in rows:
                        await self._apply_row(row, out, text="canceled by cancel-all (native)")
                    continue
                rows = await self._call(
                    "fetch_open_orders", functools.partial(ex.fetch_open_orders, symbol)
                )
                for row in rows:
                    try:
                        done = await self._call(
                            "cancel_order",
                            functools.partial(ex.cancel_order, row["id"], symbol),
                        )
                    except _RefusedError as exc:
                        self._note_row(row, out, "CANCEL_REJECTED", exc.text)
                        continue
                    await self._apply_row(
                        done, out, text="canceled by cancel-all (emulated: one by one)"
                    )
            except (_UnknownOutcomeError, _RefusedError) as exc:
                out.alerts.append(
                    self._alert(
                        "CANCEL_ALL_INCOMPLETE",
                        "ERROR",
                        f"cancel-all on {self.venue} {inst} incomplete: {exc}",
                        {"instrument": inst},
                    )
                )
        return out

    async def reconcile(self, client_order_ids: Iterable[str] | None = None) -> LiveReports:
        """Ask the venue for the state of orders by client order id (default: every open
        or unknown order this venue sent) and report what changed; unknowns quarantine."""
        out = LiveReports()
        ids = (
            list(client_order_ids)
            if client_order_ids is not None
            else [c for c, o in self.orders.items() if o.status not in _FINAL]
        )
        for cid in ids:
            order = self.orders.get(cid)
            if order is not None:
                out.extend(await self._reconcile_one(order, "reconciliation requested"))
        return out

    def restore(self, order: RestorableOrder) -> bool:
        """Take on an order this venue sent before a restart, without calling the venue.

        The order is tracked again under its client order id with what was already
        reported (status, venue order id, cumulative quantity and average price, event
        sequence), so the next :meth:`reconcile` reports only what changed since and its
        event and fill ids continue where they stopped. A ``PENDING_REPLACE`` status
        becomes ``UNKNOWN`` (the venue's answer decides whether the replace happened); an
        order quarantined before stays quarantined (not quarantined again if still unknown).
        An emulated stop (the market's rules emulate its type) acknowledged without a venue
        order id was armed here: if the venue does not know its client order id, the
        reconciliation arms it again (``ORDER_STATUS`` "re-armed") instead of quarantining.
        Returns False, changing nothing, when the venue already tracks the id. Raises
        :class:`CcxtVenueError` for an order of another venue or account. Then call
        ``await venue.reconcile([order.client_order_id, ...])``: found → events, not
        found → quarantined, never re-sent.
        """
        request = dict(order.request)
        cid = order.client_order_id
        if request.get("client_order_id", cid) != cid:
            raise CcxtVenueError(
                f"cannot restore {cid!r}: its request has client order id "
                f"{request['client_order_id']!r}",
                venue=self.venue,
            )
        for name, mine in (("venue", self.venue), ("account", self.account)):
            if request.get(name) != mine:
                raise CcxtVenueError(
                    f"cannot restore {cid!r}: it is an order of {name} "
                    f"{request.get(name)!r}, this venue trades {name} {mine!r}",
                    venue=self.venue,
                    hint="restore an order only on the venue object of its venue and key",
                )
        if cid in self.orders:
            return False
        avg = order.avg_price
        live = _Live(
            req=request,
            symbol=self.ccxt_symbol(str(request["instrument"])),
            status="UNKNOWN" if order.status == "PENDING_REPLACE" else order.status,
            venue_order_id=order.venue_order_id,
            cum=order.cum_qty,
            notional=mul(order.cum_qty, avg) if avg is not None else ZERO,
            n_events=order.venue_seq,
            quarantined=order.quarantined,
        )
        rules = self.rules.get(str(request["instrument"]))
        plan = rules.plan(request) if rules is not None else None
        if isinstance(plan, EmulationPlan) and plan.emulated:
            live.venue_type, live.venue_tif, live.emulated = (
                plan.venue_order_type,
                plan.venue_time_in_force,
                True,
            )
            live.rearm = (
                plan.trigger
                and order.status == "NEW"
                and order.venue_order_id is None
                and order.cum_qty == 0
            )
        self.orders[cid] = live
        return True

    def ccxt_symbol(self, instrument: str) -> str:
        """The ccxt unified symbol of a canonical instrument id on this venue (from the
        configured ``instruments`` or the loaded markets, else the canonical mapping)."""
        symbol = self._symbols.get(instrument)
        if symbol is None:
            symbol = Instrument.parse(instrument).to_ccxt_symbol()
        return symbol

    @property
    def quarantined(self) -> list[str]:
        """Client order ids whose state could not be determined."""
        return [cid for cid, o in self.orders.items() if o.quarantined]

    # ---- internals: sending ---------------------------------------------------------------

    async def _new(self, request: Record) -> LiveReports:
        out = LiveReports()
        cid = request["client_order_id"]
        known = self.orders.get(cid)
        if known is not None or cid in self._retired:
            if known is None:
                text = "client order id was replaced by another; not re-sent"
                out.events.append(
                    self._event_for_request(request, "REJECTED", status="REJECTED", text=text)
                )
                return out
            if known.quarantined:
                out.events.append(
                    self._event(known, "ORDER_STATUS", text="order is quarantined; not re-sent")
                )
                return out
            return await self._reconcile_one(known, "duplicate client order id; not re-sent")
        inst = request["instrument"]
        rules = self.rules.get(inst)
        if rules is None:
            out.events.append(
                self._event_for_request(
                    request, "REJECTED", status="REJECTED", text=f"unknown instrument {inst}"
                )
            )
            return out
        adapted = rules.adapt(request, reference_price=self.last_price.get(inst))
        if isinstance(adapted, Rejection):
            out.events.append(
                self._event_for_request(request, "REJECTED", status="REJECTED", text=str(adapted))
            )
            return out
        plan = adapted.plan
        if plan.cancel_leaves or plan.check_depth or plan.local_expiry:
            text = (
                f"{plan.text} needed; the ccxt venue emulates stops and trailing stops only "
                "(send a time in force the venue supports)"
            )
            out.events.append(
                self._event_for_request(request, "REJECTED", status="REJECTED", text=text)
            )
            return out
        req = adapted.request
        order = _Live(
            req=dict(req),
            symbol=rules.symbol,
            venue_type=plan.venue_order_type,
            venue_tif=plan.venue_time_in_force,
            emulated=plan.emulated,
        )
        self.orders[cid] = order
        notes = "; ".join((*adapted.changes, *plan.notes))
        if plan.trigger:
            order.armed, order.status = True, "NEW"
            self._watcher.add_request(cid, req)
            text = f"{notes}; armed locally, sent to the venue when triggered"
            out.events.append(self._event(order, "NEW", text=text))
            return out
        await self._send(order, out, text=f"acknowledged{'; ' + notes if notes else ''}")
        return out

    async def _send(
        self, order: _Live, out: LiveReports, *, text: str, quiet: bool = False
    ) -> None:
        """``create_order`` for ``order`` as its venue type; events for the answer."""
        req = order.req
        kind, price, params = create_args(req, order.venue_type, order.venue_tif)
        amount = str(sub(req["quantity"], order.cum))
        ex = self.exchange
        try:
            result = await self._call(
                "create_order",
                lambda: ex.create_order(
                    order.symbol, kind, req["side"].lower(), amount, price, params
                ),
            )
        except _RefusedError as exc:
            if order.status == "PENDING_NEW":
                order.status = "REJECTED"
                out.events.append(self._event(order, "REJECTED", text=exc.text))
            else:  # a triggered emulated stop the venue refused: the order is done
                order.status = "CANCELED"
                out.events.append(self._event(order, "CANCELED", text=f"venue refused: {exc}"))
            return
        except _UnknownOutcomeError as exc:
            order.status = "UNKNOWN"
            out.events.append(
                self._event(
                    order,
                    "ORDER_STATUS",
                    text=f"send outcome unknown ({exc}); reconciling by client order id",
                )
            )
            out.extend(await self._reconcile_one(order, str(exc)))
            return
        await self._apply(order, result, out, text=text, quiet=quiet)

    # ---- emulation: stops and trailing stops the venue lacks -------------------------------

    async def on_trade(self, trade: Record) -> LiveReports:
        """A public ``Trade`` (what the router is fed): emulated stops of its instrument
        that trigger are sent to the venue as their triggered type (MARKET, or LIMIT for a
        stop-limit) under the same client order id, after a ``RESTATED`` event."""
        out = LiveReports()
        if trade.get("venue") not in (None, self.venue):
            return out
        price = trade["price"]
        self.last_price[trade["instrument"]] = price
        for cid in self._watcher.on_price(price, trade["instrument"]):
            order = self.orders[cid]
            order.armed = False
            order.venue_type = triggered_type(order.req["order_type"])
            out.events.append(self._event(order, "RESTATED", text=triggered_note(price)))
            await self._send(order, out, text=f"{emulation_note(order.req['order_type'])} sent")
        return out

    def note_trade(self, trade: Record) -> bool:
        """Record a public trade's price (no call); True when it may trigger an emulated
        stop, i.e. :meth:`on_trade` has work to do (a caller on another thread hops to
        the venue's loop only then)."""
        if trade.get("venue") not in (None, self.venue):
            return False
        self.last_price[trade["instrument"]] = trade["price"]
        return self._watcher.watching(trade["instrument"])

    async def on_book(self, update: Record) -> LiveReports:
        """A ``BookUpdate``: emulated stops trigger on trades only (as on the paper venue)."""
        return LiveReports()

    def _cancel_armed(self, order: _Live, text: str) -> LiveReports:
        self._watcher.remove(order.req["client_order_id"])
        order.armed = False
        order.status = "CANCELED"
        out = LiveReports()
        out.events.append(self._event(order, "CANCELED", text=text))
        return out

    # ---- replace: edit_order where the venue has it, else cancel/new -----------------------

    async def replace(self, request: Record) -> LiveReports:
        """Act on an approved REPLACE: new quantity / prices / time in force for the open
        order ``orig_client_order_id``, under the new ``client_order_id``.

        ``PENDING_REPLACE`` first, then ``REPLACED`` with the new terms, or
        ``REPLACE_REJECTED`` (the order keeps its terms). Where ccxt has ``editOrder`` (and
        the features allow it) one ``edit_order`` call; else the order is canceled and the
        rest (new quantity minus filled) sent as a new order: a refused new order leaves
        the order ``CANCELED``. An emulated stop not yet triggered is replaced locally.
        """
        out = LiveReports()
        old_id = request.get("orig_client_order_id") or ""
        new_id = request["client_order_id"]
        order = self.orders.get(old_id)
        if order is None:
            out.events.append(
                self._event_for_request(
                    request, "REPLACE_REJECTED", status="REJECTED", text=f"unknown order {old_id!r}"
                )
            )
            return out
        problem = self._replace_problem(order, request)
        adapted = None
        if problem is None:
            candidate = {**order.req, **_amendable(request), "client_order_id": new_id}
            adapted = self.rules[order.req["instrument"]].adapt(
                candidate, reference_price=self.last_price.get(order.req["instrument"])
            )
            if isinstance(adapted, Rejection):
                problem = str(adapted)
            elif adapted.request["quantity"] <= order.cum:
                problem = f"new quantity {adapted.request['quantity']} <= filled {order.cum}"
        if problem is not None or adapted is None or isinstance(adapted, Rejection):
            out.events.append(self._event(order, "REPLACE_REJECTED", text=problem))
            return out
        working = order.status
        order.status = "PENDING_REPLACE"
        out.events.append(
            self._event(
                order,
                "PENDING_REPLACE",
                client_order_id=new_id,
                orig_client_order_id=old_id,
                text=f"replace to {new_id}",
            )
        )
        new_req = dict(adapted.request)
        if order.armed:
            self._watcher.remove(old_id)
            self._swap(order, new_req, out, text="replaced locally (emulated stop, not sent)")
            self._watcher.add_request(new_id, new_req)
        elif self.features.edit_order:
            await self._edit(order, new_req, working, out)
        else:
            await self._cancel_new(order, new_req, working, out)
        return out

    def _replace_problem(self, order: _Live, request: Record) -> str | None:
        new_id = request["client_order_id"]
        if order.quarantined:
            return "order is quarantined"
        if order.status in _FINAL or order.status in ("UNKNOWN", "PENDING_NEW"):
            return f"order is {order.status}"
        if new_id in self.orders or new_id in self._retired:
            return f"client order id {new_id!r} is already known"
        if (request["side"], request["order_type"]) != (
            order.req["side"],
            order.req["order_type"],
        ):
            return "replace cannot change side or order type"
        return None

    def _swap(self, order: _Live, new_req: MutableRecord, out: LiveReports, *, text: str) -> None:
        """The order now goes by its new id and terms: ``REPLACED``."""
        old_id = order.req["client_order_id"]
        del self.orders[old_id]
        self._retired.add(old_id)
        order.req = new_req
        self.orders[new_req["client_order_id"]] = order
        order.status = "PARTIALLY_FILLED" if order.cum > 0 else "NEW"
        out.events.append(self._event(order, "REPLACED", orig_client_order_id=old_id, text=text))

    def _replace_rejected(self, order: _Live, working: str, out: LiveReports, text: str) -> None:
        order.status = working
        out.events.append(self._event(order, "REPLACE_REJECTED", text=text))

    async def _edit(
        self, order: _Live, new_req: MutableRecord, working: str, out: LiveReports
    ) -> None:
        kind, price, params = edit_args(new_req, order.venue_type, order.venue_tif)
        amount = str(sub(new_req["quantity"], order.cum))
        ex, side = self.exchange, new_req["side"].lower()
        vid = order.venue_order_id or ""
        try:
            row = await self._call(
                "edit_order",
                lambda: ex.edit_order(vid, order.symbol, kind, side, amount, price, params),
            )
        except _RefusedError as exc:
            self._replace_rejected(order, working, out, exc.text)
            return
        except _UnknownOutcomeError as exc:
            row = await self._fetch_by_cid(order.symbol, new_req["client_order_id"])
            if row is None:
                self._replace_rejected(order, working, out, f"replace outcome unknown ({exc})")
                out.extend(await self._reconcile_one(order, "after a replace of unknown outcome"))
                return
        self._rebase(order, row)
        self._swap(order, new_req, out, text="replaced (edit_order)")
        await self._apply(order, row, out, text="replaced", quiet=True)

    async def _cancel_new(
        self, order: _Live, new_req: MutableRecord, working: str, out: LiveReports
    ) -> None:
        """Cancel, then send the rest as a new order; ``REPLACED`` once the new order is
        acknowledged (it names the new venue order id)."""
        ex, old_id = self.exchange, order.req["client_order_id"]
        try:
            row = await self._call(
                "cancel_order",
                lambda: ex.cancel_order(
                    order.venue_order_id or "", order.symbol, {"clientOrderId": old_id}
                ),
            )
        except _RefusedError as exc:
            self._replace_rejected(order, working, out, f"cancel of cancel/new refused: {exc}")
            return
        except _UnknownOutcomeError as exc:
            self._replace_rejected(order, working, out, f"cancel outcome unknown ({exc})")
            out.extend(await self._reconcile_one(order, "after a cancel of unknown outcome"))
            return
        order.status = working
        await self._fills(order, row, out, final=True)  # what filled before the cancel
        if order.cum >= new_req["quantity"] or order.status == "FILLED":
            text = f"order {order.status} before the replace could be sent"
            out.events.append(self._event(order, "REPLACE_REJECTED", text=text))
            if order.status != "FILLED":
                order.status = "CANCELED"
                out.events.append(self._event(order, "CANCELED", text="canceled for replace"))
            return
        kind, price, params = create_args(new_req, order.venue_type, order.venue_tif)
        amount = str(sub(new_req["quantity"], order.cum))
        side = new_req["side"].lower()
        try:
            result = await self._call(
                "create_order",
                lambda: ex.create_order(order.symbol, kind, side, amount, price, params),
            )
        except _RefusedError as exc:
            order.status = "CANCELED"
            text = f"replace by cancel/new: canceled, the new order was refused ({exc})"
            out.events.append(self._event(order, "CANCELED", text=text))
            return
        except _UnknownOutcomeError as exc:
            self._rebase(order, None)
            self._swap(order, new_req, out, text="replaced (cancel/new); new order unknown")
            order.status = "UNKNOWN"
            out.events.append(self._event(order, "ORDER_STATUS", text=f"send unknown ({exc})"))
            out.extend(await self._reconcile_one(order, str(exc)))
            return
        self._rebase(order, result)
        self._swap(order, new_req, out, text="replaced (cancel/new: old order canceled)")
        await self._apply(order, result, out, text="replaced", quiet=True)

    @staticmethod
    def _rebase(order: _Live, row: Mapping[str, Any] | None) -> None:
        """The order continues as a new venue order: fills so far are its base."""
        order.base_cum, order.base_notional = order.cum, order.notional
        order.venue_order_id = None if row is None or row.get("id") is None else str(row["id"])
        order.trade_ids.clear()

    async def _fetch_by_cid(self, symbol: str, cid: str) -> Any:
        ex = self.exchange
        try:
            return await self._call(
                "fetch_order", lambda: ex.fetch_order("", symbol, {"clientOrderId": cid})
            )
        except (_UnknownOutcomeError, _RefusedError):
            return None

    # ---- execution reports pushed by the venue: watch_orders, else polling ----------------

    async def watch_reports(
        self,
        sink: Callable[[LiveReports], Awaitable[None]],
        *,
        poll_interval_s: float = 1.0,
        max_rounds: int | None = None,
    ) -> None:
        """Deliver the venue's order updates to ``sink`` until cancelled (or ``max_rounds``
        rounds): ccxt.pro ``watch_orders`` where :attr:`can_watch_orders`, else (and for
        one round after each websocket error) :meth:`poll` every ``poll_interval_s``."""
        rounds = 0
        subscribed = False
        while max_rounds is None or rounds < max_rounds:
            rounds += 1
            out = LiveReports()
            if self.can_watch_orders:
                watch = asyncio.ensure_future(self.exchange.watch_orders())
                if not subscribed:
                    # an update pushed while subscribing resolves no one: poll once
                    subscribed = True
                    done, _ = await asyncio.wait({watch}, timeout=poll_interval_s)
                    if not done:
                        polled = await self.poll()
                        if polled.events or polled.fills:
                            await sink(polled)
                try:
                    rows = await watch
                except ccxt_errors.BaseError as exc:
                    subscribed = False
                    self._count("watch_orders", "unavailable")
                    log.warning(
                        "%s %s: watch_orders failed (%s); polling once",
                        self.venue,
                        self.account,
                        self._redactor.text(exc),
                    )
                    await asyncio.sleep(poll_interval_s)
                    out = await self.poll()
                else:
                    self._count("watch_orders", "ok")
                    # an update that arrives while no watch is pending resolves no one
                    # but lands in ccxt's order cache: apply the cache's latest states too
                    cached = getattr(self.exchange, "orders", None)
                    out = await self.on_order_updates([*rows, *(cached or ())])
            else:
                await asyncio.sleep(poll_interval_s)
                out = await self.poll()
            if out.events or out.fills or out.alerts:
                await sink(out)

    async def on_order_updates(self, rows: Iterable[Mapping[str, Any]]) -> LiveReports:
        """Apply ccxt order structures pushed by the venue (``watch_orders``): only orders
        this venue sent; an update that changes nothing reports nothing."""
        out = LiveReports()
        for row in rows:
            order = self.orders.get(str(row.get("clientOrderId") or ""))
            if order is None or order.armed or order.quarantined:
                continue
            await self._apply(order, row, out, text="venue order update", quiet=True)
        return out

    async def poll(self) -> LiveReports:
        """Fetch every open order this venue sent and report what changed (the fallback
        where the venue pushes no order updates). A failed lookup is retried next time."""
        out = LiveReports()
        ex = self.exchange
        for cid, order in list(self.orders.items()):
            if order.status in _FINAL or order.armed or order.quarantined:
                continue
            if order.status in ("PENDING_NEW", "UNKNOWN"):
                continue  # reconciled by the call that sent it
            try:
                row = await self._call(
                    "fetch_order",
                    functools.partial(
                        ex.fetch_order,
                        order.venue_order_id or "",
                        order.symbol,
                        {"clientOrderId": cid},
                    ),
                )
            except (_UnknownOutcomeError, _RefusedError):
                continue
            await self._apply(order, row, out, text="venue order state (polled)", quiet=True)
        return out

    async def _call(self, name: str, make: Callable[[], Awaitable[Any]]) -> Any:
        """Run one ccxt call through the limiters; 429/418 wait and retry, others classify."""
        attempts = 0
        while True:
            await self.venue_limiter.wait()
            await self.key_limiter.wait()
            self._export_headroom()
            _STATUS.set(None)
            try:
                result = await make()
            except ccxt_errors.DDoSProtection:
                status, retry_after = _STATUS.get() or (429, None)
                banned = status == 418
                (self.venue_limiter if banned else self.key_limiter).penalize(
                    418 if banned else 429, retry_after
                )
                self._count(name, "banned" if banned else "rate_limited")
                self._export_headroom()
                attempts += 1
                log.warning(
                    "%s %s %s: HTTP %s, Retry-After %s; waiting (attempt %d)",
                    self.venue,
                    self.account,
                    name,
                    status,
                    retry_after,
                    attempts,
                )
                if attempts > self.config.max_rate_limit_retries:
                    raise _RefusedError(
                        f"{name}: still rate limited after {attempts} tries"
                    ) from None
                continue
            except (TimeoutError, ccxt_errors.RequestTimeout) as exc:
                self._count(name, "timeout")
                raise _UnknownOutcomeError(
                    f"{name} timed out: {self._redactor.text(exc)}"
                ) from None
            except ccxt_errors.OrderNotFound as exc:
                self._count(name, "rejected")
                raise _RefusedError(
                    f"{name}: order not found: {self._redactor.text(exc)}", not_found=True
                ) from None
            except ccxt_errors.NetworkError as exc:
                status = (_STATUS.get() or (0, None))[0]
                self._count(name, "unavailable")
                where = f"HTTP {status}" if status else "no response"
                raise _UnknownOutcomeError(
                    f"{name} failed ({where}): {self._redactor.text(exc)}"
                ) from None
            except ccxt_errors.BaseError as exc:
                status = (_STATUS.get() or (0, None))[0]
                if status >= 500:  # ccxt may map the body's error code first: status wins
                    self._count(name, "unavailable")
                    text = self._redactor.text(exc)
                    raise _UnknownOutcomeError(f"{name} failed (HTTP {status}): {text}") from None
                self._count(name, "rejected")
                raise _RefusedError(f"{name} refused: {self._redactor.text(exc)}") from None
            self._count(name, "ok")
            return result

    async def _reconcile_one(self, order: _Live, reason: str) -> LiveReports:
        out = LiveReports()
        cid = order.req["client_order_id"]
        ex = self.exchange
        last = reason
        not_found = False
        for attempt in range(self.config.reconcile_attempts):
            if attempt:
                await asyncio.sleep(self.config.reconcile_delay_s)
            try:
                row = await self._call(
                    "fetch_order",
                    lambda: ex.fetch_order(
                        order.venue_order_id or "", order.symbol, {"clientOrderId": cid}
                    ),
                )
            except _RefusedError as exc:
                last = exc.text
                if not exc.not_found:
                    break
                row = await self._find_open(order)
                if row is None:
                    not_found = True
                    continue
            except _UnknownOutcomeError as exc:
                last = str(exc)
                not_found = False
                continue
            metrics.ccxt_venue_reconciliations.labels(self.venue, "found").inc()
            order.quarantined = order.rearm = False
            await self._apply(order, row, out, text=f"reconciled by client order id ({reason})")
            self._export_quarantine()
            return out
        if order.rearm and not_found:  # never triggered (or its send never arrived)
            order.rearm, order.armed, order.status = False, True, "NEW"
            self._watcher.add_request(cid, order.req)
            text = f"{emulation_note(order.req['order_type'])} re-armed locally ({reason})"
            out.events.append(self._event(order, "ORDER_STATUS", text=text))
            return out
        return self._quarantine(order, last, out)

    async def _find_open(self, order: _Live) -> Any:
        ex = self.exchange
        try:
            rows = await self._call("fetch_open_orders", lambda: ex.fetch_open_orders(order.symbol))
        except (_UnknownOutcomeError, _RefusedError):
            return None
        cid = order.req["client_order_id"]
        return next((r for r in rows if r.get("clientOrderId") == cid), None)

    def _quarantine(self, order: _Live, why: str, out: LiveReports) -> LiveReports:
        """Quarantine ``order``: an event and an alert the first time only (a retry or a
        restart that still does not find it changes nothing, so reports nothing)."""
        again = order.quarantined
        order.quarantined = True
        order.status = "UNKNOWN"
        metrics.ccxt_venue_reconciliations.labels(self.venue, "quarantined").inc()
        self._export_quarantine()
        cid = order.req["client_order_id"]
        if again:
            log.warning("%s %s: order %s still unknown (%s)", self.venue, self.account, cid, why)
            return out
        text = quarantine_text(why)
        out.events.append(self._event(order, "ORDER_STATUS", text=text))
        out.alerts.append(
            self._alert(
                QUARANTINE_ALERT,
                "CRITICAL",
                f"order {cid} on {self.venue}/{self.account}: {text}",
                {"instrument": order.req["instrument"], "client_order_id": cid},
            )
        )
        log.error("%s %s: order %s %s", self.venue, self.account, cid, text)
        return out

    async def _cancel_foreign(self, client_order_id: str, out: LiveReports) -> LiveReports:
        out.alerts.append(
            self._alert(
                "CANCEL_UNKNOWN_ORDER",
                "WARNING",
                f"cancel of {client_order_id}: not an order this venue sent",
                {"client_order_id": client_order_id},
            )
        )
        return out

    # ---- internals: records ---------------------------------------------------------------

    async def _apply(
        self,
        order: _Live,
        row: Mapping[str, Any],
        out: LiveReports,
        *,
        text: str,
        quiet: bool = False,
    ) -> None:
        """Turn a ccxt order into events (and fills) against what we knew; ``quiet``: no
        ``ORDER_STATUS`` event when nothing changed (websocket updates, polling)."""
        if row.get("id") is not None:
            order.venue_order_id = str(row["id"])
        status = _CCXT_STATUS.get(str(row.get("status")), "NEW")
        first = order.status in ("PENDING_NEW", "UNKNOWN")
        if first and status != "REJECTED":
            order.status = "NEW"
            out.events.append(self._event(order, "NEW", text=text))
        changed = await self._fills(order, row, out, final=status in _FINAL)
        if status in ("CANCELED", "EXPIRED", "REJECTED") and order.status != status:
            order.status = status
            out.events.append(self._event(order, status, text=text))
        elif not first and not changed and status == order.status and not quiet:
            out.events.append(self._event(order, "ORDER_STATUS", text=text))

    async def _fills(
        self, order: _Live, row: Mapping[str, Any], out: LiveReports, *, final: bool
    ) -> bool:
        """Report what the venue filled beyond what was reported: one ``TRADE`` event and
        one ``Fill`` per venue trade (its fee and liquidity; from the order's ``trades``,
        else ``fetch_my_trades`` of the order), the rest (no trades API, or a final order
        whose trades are not listed yet) as one fill derived from the order state (fee 0).
        Serialized per order: a websocket update and a REST answer may race."""
        if row.get("filled") is None:
            return False
        async with order.lock:
            venue_filled = to_decimal(row["filled"])
            total = add(order.base_cum, venue_filled)
            delta = sub(total, order.cum)
            if delta <= 0:
                return False
            trades = [t for t in row.get("trades") or [] if t.get("id") is not None]
            unseen = [t for t in trades if str(t["id"]) not in order.trade_ids]
            listed = sum((to_decimal(t["amount"]) for t in unseen), ZERO)
            if listed < delta and self.fetch_trades and order.venue_order_id:
                trades = [*trades, *await self._order_trades(order)]  # a push lists one trade
            covered = ZERO
            for terms in sorted(map(trade_terms, trades), key=lambda t: (t.ts_ns or 0, t.trade_id)):
                if terms.trade_id in order.trade_ids or add(covered, terms.quantity) > delta:
                    continue
                order.trade_ids.add(terms.trade_id)
                covered = add(covered, terms.quantity)
                self._book_fill(
                    order,
                    out,
                    terms.quantity,
                    terms.price,
                    exec_id=f"{order.venue_order_id}:t{terms.trade_id}",
                    fee=terms.fee,
                    fee_currency=terms.fee_currency,
                    liquidity=terms.liquidity,
                    venue_ts_ns=terms.ts_ns,
                    text=f"venue trade {terms.trade_id}",
                )
            rest = sub(delta, covered)
            if rest <= 0 or (self.fetch_trades and not final):
                return covered > 0  # the rest comes with its trades in a later report
            average = row.get("average")
            if average is not None:
                notional = add(order.base_notional, mul(venue_filled, to_decimal(average)))
                price = q18(div18(sub(notional, order.notional), rest))
            else:
                price = to_decimal(row.get("price") or 0)
            ts = row.get("lastTradeTimestamp") or row.get("timestamp")
            self._book_fill(
                order,
                out,
                rest,
                price,
                exec_id=f"{order.venue_order_id}:{total}",
                fee=ZERO,
                fee_currency=None,
                liquidity="UNKNOWN",
                venue_ts_ns=int(ts) * 1_000_000 if ts else None,
                text="fill derived from the venue's order state",
            )
            return True

    async def _order_trades(self, order: _Live) -> list[Mapping[str, Any]]:
        """``fetch_my_trades`` of the order (ccxt passes ``orderId`` to the exchange);
        [] when the call fails (the fills are reported with the next order update)."""
        ex, vid = self.exchange, order.venue_order_id
        try:
            rows = await self._call(
                "fetch_my_trades",
                lambda: ex.fetch_my_trades(order.symbol, None, None, {"orderId": vid}),
            )
        except (_UnknownOutcomeError, _RefusedError) as exc:
            log.warning("%s %s: trades of order %s: %s", self.venue, self.account, vid, exc)
            return []
        return [r for r in rows if str(r.get("order")) == vid]

    def _book_fill(
        self,
        order: _Live,
        out: LiveReports,
        qty: Decimal,
        price: Decimal,
        *,
        exec_id: str,
        fee: Decimal,
        fee_currency: str | None,
        liquidity: str,
        venue_ts_ns: int | None,
        text: str,
    ) -> None:
        order.cum = add(order.cum, qty)
        order.notional = add(order.notional, mul(qty, price))
        if order.status not in ("PENDING_REPLACE", "PENDING_CANCEL"):
            order.status = "FILLED" if order.cum >= order.req["quantity"] else "PARTIALLY_FILLED"
        out.events.append(
            self._event(order, "TRADE", last_qty=qty, last_price=price, exec_id=exec_id, text=text)
        )
        out.fills.append(
            reports.fill(
                order.req,
                venue=self.venue,
                account=self.account,
                exec_id=exec_id,
                venue_order_id=order.venue_order_id,
                price=price,
                quantity=qty,
                fee=fee,
                fee_currency=fee_currency,
                liquidity=liquidity,
                venue_ts_ns=venue_ts_ns,
                receive_ts_ns=self._clock_ns(),
            )
        )

    async def _apply_row(self, row: Mapping[str, Any], out: LiveReports, *, text: str) -> None:
        cid = str(row.get("clientOrderId") or "")
        if cid in self._retired:
            return
        order = self.orders.get(cid)
        if order is None:
            inst = self._instruments.get(str(row.get("symbol")), str(row.get("symbol")))
            order = _Live(req=self._request_from_row(row, inst), symbol=str(row.get("symbol")))
            order.status = "NEW"
            self.orders[order.req["client_order_id"]] = order
        await self._apply(order, row, out, text=text)

    def _note_row(
        self, row: Mapping[str, Any], out: LiveReports, exec_type: str, text: str
    ) -> None:
        cid = str(row.get("clientOrderId") or "")
        order = self.orders.get(cid)
        if order is not None:
            out.events.append(self._event(order, exec_type, text=text))

    def _request_from_row(self, row: Mapping[str, Any], inst: str) -> MutableRecord:
        kind = str(row.get("type") or "limit").upper()
        return {
            "client_order_id": str(row.get("clientOrderId") or f"venue:{row.get('id')}"),
            "account": self.account,
            "venue": self.venue,
            "instrument": inst,
            "side": str(row.get("side") or "buy").upper(),
            "order_type": kind if kind in ("MARKET", "LIMIT") else "UNKNOWN",
            "time_in_force": str(row.get("timeInForce") or "GTC").upper(),
            "quantity": to_decimal(row.get("amount") or 0),
            "limit_price": None if row.get("price") is None else to_decimal(row["price"]),
            "stop_price": None,
            "strategy_id": None,
        }

    def _event(
        self,
        order: _Live,
        exec_type: str,
        *,
        text: str | None = None,
        last_qty: Decimal | None = None,
        last_price: Decimal | None = None,
        exec_id: str | None = None,
        client_order_id: str | None = None,
        orig_client_order_id: str | None = None,
    ) -> OrderEvent:
        order.n_events += 1
        req = order.req
        status = order.status
        leaves = (
            ZERO if status in _FINAL or status == "UNKNOWN" else sub(req["quantity"], order.cum)
        )
        return reports.order_event(
            req,
            event_id=reports.venue_event_id(
                self.venue, self.account, req["client_order_id"], order.n_events
            ),
            venue=self.venue,
            account=self.account,
            status=status,
            exec_type=exec_type,
            cum_qty=q18(order.cum),
            leaves_qty=q18(leaves),
            event_ts_ns=self._clock_ns(),
            quantity=q18(req["quantity"]),
            venue_order_id=order.venue_order_id,
            avg_price=q18(div18(order.notional, order.cum)) if order.cum else None,
            last_qty=last_qty,
            last_price=last_price,
            exec_id=exec_id,
            text=None if text is None else self._redactor.text(text),
            client_order_id=client_order_id,
            orig_client_order_id=orig_client_order_id,
            emulated=order.emulated,
        )

    def _event_for_request(
        self, request: Record, exec_type: str, *, status: str, text: str
    ) -> OrderEvent:
        order = _Live(req=dict(request), symbol="", status=status)
        return self._event(order, exec_type, text=text)

    def _alert(self, code: str, severity: str, message: str, labels: Mapping[str, str]) -> Alert:
        return Alert(
            alert_id=str(uuid.uuid4()),
            severity=severity,
            source=f"venue:{self.venue}",
            code=code,
            message=self._redactor.text(message),
            labels={"venue": self.venue, "account": self.account, **labels},
            event_ts_ns=self._clock_ns(),
        )

    # ---- internals: misc ------------------------------------------------------------------

    def _open_instruments(self) -> list[str]:
        seen = {o.req["instrument"] for o in self.orders.values() if o.status not in _FINAL}
        return sorted(seen) or sorted(self.rules)

    def _count(self, call: str, outcome: str) -> None:
        metrics.ccxt_venue_requests.labels(self.venue, call, outcome).inc()

    def _export_headroom(self) -> None:
        gauge = metrics.ccxt_venue_rate_limit_headroom_seconds
        gauge.labels(self.venue, "venue").set(-self.venue_limiter.remaining())
        gauge.labels(self.venue, "key").set(-self.key_limiter.remaining())

    def _export_quarantine(self) -> None:
        metrics.ccxt_venue_orders_quarantined.labels(self.venue).set(len(self.quarantined))


def _amendable(request: Record) -> MutableRecord:
    """The fields a REPLACE may change (the paper venue's list)."""
    keys = (
        "quantity",
        "limit_price",
        "stop_price",
        "trailing_offset",
        "time_in_force",
        "expire_ts_ns",
    )
    return {k: request.get(k) for k in keys if k in request}
