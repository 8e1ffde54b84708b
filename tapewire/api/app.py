"""The API's routes: a FastAPI shell over :mod:`tapewire.api`'s parts.

Every route authenticates with a bearer token (``POST /v1/auth/token`` issues one), is
rate limited per token, checks the role and the account, and is audited. Input is
validated by pydantic (422 names the field); reads are parameterised queries; orders go
to ``oms.requests``, parent orders to ``oms.parent_requests``. ``docs/api.md`` lists
the routes with examples.
"""

import asyncio
import contextlib
import logging
import math
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Path, Query, Request, Response, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.websockets import WebSocketDisconnect

from tapewire.api import queries
from tapewire.api.audit import AuditEntry, AuditSink
from tapewire.api.csv_export import to_csv
from tapewire.api.errors import (
    ApiError,
    AuthenticationError,
    NotFoundError,
    RateLimitedError,
    UnavailableError,
)
from tapewire.api.events import (
    KINDS,
    MARKET_KINDS,
    ORDER_KINDS,
    SLOW_CLIENT_CODE,
    EventHub,
    Subscription,
    kinds,
)
from tapewire.api.models import (
    AcceptedOut,
    BarOut,
    BookOut,
    ErrorOut,
    FillOut,
    LevelOut,
    MeOut,
    NbboOut,
    OrderOut,
    OrderStatusOut,
    ParentAcceptedOut,
    ParentOut,
    ParentStatusOut,
    PositionOut,
    TokenOut,
    TokenRequest,
    TradeOut,
    VenueBookOut,
)
from tapewire.api.notifications import NotificationPreferences, PreferencesBody, PreferencesOut
from tapewire.api.orders import (
    Accepted,
    CancelAll,
    Identifier,
    InstrumentId,
    KillSwitch,
    OrderGateway,
    PlaceOrder,
    ReplaceOrder,
    cancel_all_request,
    cancel_request,
    current_terms,
    kill_switch_request,
    place_request,
    replace_request,
)
from tapewire.api.parents import PlaceParent, cancel_parent_request, place_parent_request
from tapewire.api.parquet_export import MEDIA_TYPE as PARQUET
from tapewire.api.parquet_export import to_parquet
from tapewire.api.permissions import Principal
from tapewire.api.ratelimit import RateLimiter
from tapewire.api.reader import Reader
from tapewire.api.risk import (
    AccountLimitsBody,
    RiskOut,
    TradingStateBody,
    limits_of,
    limits_request,
    risk_views,
    state_request,
)
from tapewire.api.tokens import TokenIssuer
from tapewire.api.users import Role, UserStore
from tapewire.core import metrics
from tapewire.records.orders import ParentRequest as ParentRequestRecord
from tapewire.sinks.clickhouse.query import QueryResult
from tapewire.streams.risk import RiskConfig

log = logging.getLogger("tapewire.api.stream")
API_VERSION = "1"
MAX_STREAM_INSTRUMENTS = 100
_INSTRUMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{2,95}$")
MAX_NS = 2**63 - 1


@dataclass
class ApiServices:
    """What the routes use; built and closed by :mod:`tapewire.api.server` (or a test)."""

    users: UserStore
    tokens: TokenIssuer
    token_limiter: RateLimiter
    login_limiter: RateLimiter
    reader: Reader
    audit: AuditSink
    gateway: OrderGateway | None = None
    events: EventHub | None = None
    risk: RiskConfig | None = None
    """The deployment's configured limits (``[trading]``), if the file has them."""
    notifications: NotificationPreferences | None = None
    """Users' notification preferences (``[notifier]`` with a ``preferences_file``)."""
    max_rows: int = 10_000
    stream_queue_size: int = 1000
    clock_ns: Callable[[], int] = field(default=time.time_ns)


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 422, 429, 503)
}
_bearer = HTTPBearer(auto_error=False, description="a token from POST /v1/auth/token")

Account = Annotated[Identifier | None, Query(description="one of your accounts; all if omitted")]
Since = Annotated[int | None, Query(ge=0, le=MAX_NS, description="from, UTC ns (inclusive)")]
Until = Annotated[int | None, Query(ge=0, le=MAX_NS, description="to, UTC ns (exclusive)")]
Limit = Annotated[int, Query(ge=1, le=10_000)]
Venue = Annotated[Identifier | None, Query()]
Instrument = Annotated[InstrumentId | None, Query()]
ClientOrderId = Annotated[Identifier, Path(description="the order's client_order_id")]
ParentId = Annotated[Identifier, Path(description="the parent order's parent_id")]
AccountPath = Annotated[Identifier, Path(description="one of your accounts")]
UserPath = Annotated[Identifier, Path(description="a user name (risk admins: any user)")]
AccountOrAll = Annotated[
    str,
    Path(
        max_length=64,
        pattern=r"^(\*|[A-Za-z0-9][A-Za-z0-9_.:\-]*)$",
        description="one of your accounts, or * (every account: the global state)",
    ),
]
ExportKind = Literal["orders", "fills", "positions"]
StatusName = Literal[
    "PENDING_NEW",
    "NEW",
    "PARTIALLY_FILLED",
    "FILLED",
    "PENDING_CANCEL",
    "CANCELED",
    "REJECTED",
    "EXPIRED",
    "PENDING_REPLACE",
]
"""FIX OrdStatus values (``tapewire.streams.oms.OrdStatus`` without UNKNOWN)."""


def _principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    services: ApiServices = request.app.state.services
    if credentials is None:
        raise AuthenticationError(
            "no bearer token", hint="send Authorization: Bearer <token from /v1/auth/token>"
        )
    who = _authenticate(services, credentials.credentials)
    request.state.principal = who
    retry = services.token_limiter.acquire(who.token_id)
    if retry is not None:
        raise RateLimitedError(
            f"rate limit of token {who.token_id[:8]}... exceeded", retry_after_s=retry
        )
    return who


Caller = Annotated[Principal, Depends(_principal)]


def _trader(who: Caller) -> Principal:
    who.require(Role.TRADER)
    return who


def _admin(who: Caller) -> Principal:
    who.require(Role.RISK_ADMIN)
    return who


Trader = Annotated[Principal, Depends(_trader)]
Admin = Annotated[Principal, Depends(_admin)]


def create_app(services: ApiServices) -> FastAPI:
    """The FastAPI application over ``services``."""
    app = FastAPI(
        title="Tapewire API",
        version=API_VERSION,
        summary="Orders, positions, market data and history of a Tapewire deployment.",
        responses=_ERRORS,
    )
    app.state.services = services
    _install_audit(app, services)
    _install_errors(app)

    # ---------------------------------------------------------------- auth

    @app.post("/v1/auth/token", tags=["auth"])
    def issue_token(body: TokenRequest, request: Request) -> TokenOut:
        """Exchange a user name and password for a bearer token (rate limited per user
        name and per client address)."""
        client = request.client.host if request.client else "unknown"
        for key in (f"user:{body.username}", f"client:{client}"):
            retry = services.login_limiter.acquire(key)
            if retry is not None:
                raise RateLimitedError("too many login attempts", retry_after_s=retry)
        user = services.users.authenticate(body.username, body.password)
        if user is None:
            raise AuthenticationError("wrong user name or password")
        issued = services.tokens.issue(user.name, user.role)
        request.state.audit_detail = f"token {issued.claims.token_id} for {user.name}"
        return TokenOut(
            access_token=issued.token,
            expires_at_s=issued.claims.expires_at_s,
            token_id=issued.claims.token_id,
        )

    @app.get("/v1/me", tags=["auth"])
    def me(who: Caller) -> MeOut:
        """Who the token belongs to: user, role, accounts (``*`` = all)."""
        return MeOut(
            user=who.user.name,
            role=who.user.role.value,
            accounts=sorted(who.user.accounts),
            token_id=who.token_id,
        )

    # ---------------------------------------------------------------- orders

    def send(request: Request, order: Any) -> AcceptedOut:
        if services.gateway is None:
            raise UnavailableError("this API runs without Kafka: orders cannot be sent")
        accepted: Accepted = services.gateway.send(order)
        request.state.audit_detail = f"sent {accepted.action} {accepted.client_order_id}"
        return AcceptedOut(**accepted.__dict__)

    @app.post("/v1/orders", status_code=202, tags=["orders"])
    def place_order(body: PlaceOrder, who: Trader, request: Request) -> AcceptedOut:
        """Send a new order to ``oms.requests``; the risk gate approves or denies it
        (follow it with GET /v1/orders/{id} or the WebSocket)."""
        who.check_account(body.account)
        order = place_request(body, user=who.user.name, now_ns=services.clock_ns())
        return send(request, order)

    @app.post("/v1/orders/cancel-all", status_code=202, tags=["orders"])
    def cancel_all(body: CancelAll, who: Trader, request: Request) -> AcceptedOut:
        """Cancel every open order of an account (optionally one venue / instrument)."""
        who.check_account(body.account)
        order = cancel_all_request(
            account=body.account,
            venue=body.venue,
            instrument=body.instrument,
            user=who.user.name,
            now_ns=services.clock_ns(),
        )
        return send(request, order)

    @app.delete("/v1/orders/{client_order_id}", status_code=202, tags=["orders"])
    def cancel_order(
        client_order_id: ClientOrderId,
        account: Annotated[Identifier, Query()],
        who: Trader,
        request: Request,
    ) -> AcceptedOut:
        """Cancel one order of ``account``."""
        who.check_account(account)
        rows = services.reader.rows(queries.order_location(account, client_order_id))
        if not rows:
            raise NotFoundError(f"no order {client_order_id!r} in account {account!r}")
        order = cancel_request(
            account=account,
            orig_client_order_id=client_order_id,
            venue=rows[0]["venue"],
            instrument=rows[0]["instrument"],
            user=who.user.name,
            now_ns=services.clock_ns(),
        )
        return send(request, order)

    @app.patch("/v1/orders/{client_order_id}", status_code=202, tags=["orders"])
    def replace_order(
        client_order_id: ClientOrderId,
        account: Annotated[Identifier, Query()],
        body: ReplaceOrder,
        who: Trader,
        request: Request,
    ) -> AcceptedOut:
        """Replace (amend) an open order of ``account``: quantity, prices, time in force.
        The order continues under the new ``client_order_id`` of the answer; the risk
        gate and the venue accept (REPLACED) or refuse (REPLACE_REJECTED) it."""
        who.check_account(account)
        rows = services.reader.rows(queries.order_terms(account, client_order_id))
        if not rows:
            raise NotFoundError(
                f"no order {client_order_id!r} in account {account!r}",
                hint="a replaced order continues under the id its replace returned",
            )
        order = replace_request(
            current_terms(rows[0]), body, user=who.user.name, now_ns=services.clock_ns()
        )
        return send(request, order)

    @app.get("/v1/orders/{client_order_id}", tags=["orders"])
    def order_status(
        client_order_id: ClientOrderId, account: Annotated[Identifier, Query()], who: Caller
    ) -> OrderStatusOut:
        """The order's latest state: its execution report, else its risk decision, else
        the request itself."""
        who.check_account(account)
        rows = services.reader.rows(queries.order_status(account, client_order_id))
        if rows:
            order = OrderOut(**rows[0])
            return OrderStatusOut(
                client_order_id=order.client_order_id,
                account=order.account,
                venue=order.venue,
                instrument=order.instrument,
                step="venue",
                status=order.status,
                detail=order.text,
                order=order,
                ts_ns=order.event_ts_ns,
            )
        rows = services.reader.rows(queries.order_decision(account, client_order_id))
        if not rows:
            raise NotFoundError(f"no order {client_order_id!r} in account {account!r}")
        return OrderStatusOut(**rows[0])

    @app.get("/v1/orders", tags=["orders"])
    def order_history(
        who: Caller,
        account: Account = None,
        venue: Venue = None,
        instrument: Instrument = None,
        status: Annotated[StatusName | None, Query()] = None,
        since_ns: Since = None,
        until_ns: Until = None,
        limit: Limit = 100,
    ) -> list[OrderOut]:
        """Orders (latest execution report of each), newest first."""
        r = queries.Range(venue, instrument, since_ns, until_ns)
        q = queries.orders(who.account_filter(account), r, status=status, limit=limit)
        return [OrderOut(**row) for row in services.reader.rows(q)]

    # ---------------------------------------------------------------- parent orders

    def send_parent(request: Request, record: ParentRequestRecord) -> ParentAcceptedOut:
        if services.gateway is None:
            raise UnavailableError("this API runs without Kafka: orders cannot be sent")
        accepted = services.gateway.send_parent(record)
        request.state.audit_detail = (
            f"sent {accepted.action} {accepted.algo} parent {accepted.parent_id}"
        )
        return ParentAcceptedOut(**accepted.__dict__)

    @app.post("/v1/parents", status_code=202, tags=["parents"])
    def place_parent(body: PlaceParent, who: Trader, request: Request) -> ParentAcceptedOut:
        """Send a parent order to ``oms.parent_requests``: the smart order router (SOR) or
        an execution algorithm (``params``) works it in child orders through the risk
        gate (follow it with GET /v1/parents/{parent_id})."""
        who.check_account(body.account)
        record = place_parent_request(body, user=who.user.name, now_ns=services.clock_ns())
        return send_parent(request, record)

    @app.delete("/v1/parents/{parent_id}", status_code=202, tags=["parents"])
    def cancel_parent(
        parent_id: ParentId,
        account: Annotated[Identifier, Query()],
        who: Trader,
        request: Request,
    ) -> ParentAcceptedOut:
        """Cancel a parent order of ``account``: no new children, open children canceled."""
        who.check_account(account)
        rows = services.reader.rows(queries.parent_request(account, parent_id))
        if not rows:
            raise NotFoundError(f"no parent order {parent_id!r} in account {account!r}")
        record = cancel_parent_request(
            account=account,
            parent_id=parent_id,
            algo=rows[0]["algo"],
            user=who.user.name,
            now_ns=services.clock_ns(),
        )
        return send_parent(request, record)

    @app.get("/v1/parents/{parent_id}", tags=["parents"])
    def parent_status(
        parent_id: ParentId, account: Annotated[Identifier, Query()], who: Caller
    ) -> ParentStatusOut:
        """The parent's latest state: its newest parent event, else its newest request."""
        who.check_account(account)
        rows = services.reader.rows(queries.parent_status(account, parent_id))
        if rows:
            row = rows[0]
            return ParentStatusOut(
                **{k: row[k] for k in ("parent_id", "account", "algo", "instrument", "side")},
                step="algo",
                status=row["status"],
                detail=row["event_type"],
                parent=ParentOut(**row),
                ts_ns=row["event_ts_ns"],
            )
        rows = services.reader.rows(queries.parent_request(account, parent_id))
        if not rows:
            raise NotFoundError(f"no parent order {parent_id!r} in account {account!r}")
        row = rows[0]
        return ParentStatusOut(
            **{k: row[k] for k in ("parent_id", "account", "algo", "instrument", "side")},
            step="request",
            detail=f"{row['action']} by {row['requested_by']} (no parent event yet)",
            ts_ns=row["ts_ns"],
        )

    @app.post("/v1/kill-switch", status_code=202, tags=["risk"])
    def kill_switch(body: KillSwitch, who: Admin, request: Request) -> AcceptedOut:
        """Halt (``on``: and cancel everything) or resume (``off``) trading; risk admins."""
        order = kill_switch_request(body, user=who.user.name, now_ns=services.clock_ns())
        return send(request, order)

    @app.get("/v1/risk", tags=["risk"])
    def risk(who: Caller, account: Account = None) -> list[RiskOut]:
        """Trading state and risk limits of your accounts, as the risk gate applies them
        (the configured limits, or the latest change it confirmed)."""
        accounts = who.account_filter(account)
        rows = services.reader.rows(queries.risk_alerts(accounts))
        return risk_views(rows, services.risk, accounts)

    @app.put("/v1/risk/{account}/limits", status_code=202, tags=["risk"])
    def change_limits(
        account: AccountPath, body: AccountLimitsBody, who: Admin, request: Request
    ) -> AcceptedOut:
        """Replace all limits of an account (risk admins). The risk gate applies them
        when it reads the command; GET /v1/risk shows them once it has."""
        who.check_account(account)
        limits = limits_of(body)
        order = limits_request(account, limits, user=who.user.name, now_ns=services.clock_ns())
        return send(request, order)

    @app.put("/v1/risk/{account}/trading-state", status_code=202, tags=["risk"])
    def change_state(
        account: AccountOrAll, body: TradingStateBody, who: Admin, request: Request
    ) -> AcceptedOut:
        """Set the trading state of an account, or the global one (``*``): ACTIVE,
        REDUCING (only risk-reducing orders) or HALTED (which also cancels every open
        order); risk admins."""
        who.check_account(account)
        order = state_request(account, body.state, user=who.user.name, now_ns=services.clock_ns())
        return send(request, order)

    # ---------------------------------------------------------------- portfolio

    @app.get("/v1/fills", tags=["portfolio"])
    def fills(
        who: Caller,
        account: Account = None,
        venue: Venue = None,
        instrument: Instrument = None,
        since_ns: Since = None,
        until_ns: Until = None,
        limit: Limit = 100,
    ) -> list[FillOut]:
        """Fills, newest first."""
        r = queries.Range(venue, instrument, since_ns, until_ns)
        q = queries.fills(who.account_filter(account), r, limit=limit)
        return [FillOut(**row) for row in services.reader.rows(q)]

    @app.get("/v1/positions", tags=["portfolio"])
    def positions(
        who: Caller,
        account: Account = None,
        venue: Venue = None,
        instrument: Instrument = None,
        limit: Limit = 1000,
    ) -> list[PositionOut]:
        """The latest position and PnL per account, venue and instrument."""
        q = queries.positions(
            who.account_filter(account), queries.Range(venue, instrument), limit=limit
        )
        return [PositionOut(**row) for row in services.reader.rows(q)]

    # ---------------------------------------------------------------- market data

    @app.get("/v1/market/nbbo/{instrument}", tags=["market data"])
    def nbbo(instrument: Annotated[InstrumentId, Path()], who: Caller) -> NbboOut:
        """The latest NBBO of an instrument."""
        rows = services.reader.rows(queries.nbbo(instrument))
        if not rows:
            raise NotFoundError(f"no NBBO stored for {instrument!r}")
        return NbboOut(**rows[0])

    @app.get("/v1/market/book/{instrument}", tags=["market data"])
    def book(
        instrument: Annotated[InstrumentId, Path()],
        who: Caller,
        venue: Venue = None,
        levels: Annotated[int, Query(ge=1, le=1000, description="levels per side")] = 10,
    ) -> BookOut:
        """The latest book of an instrument per venue (top ``levels`` per side), rebuilt
        from the stored snapshots and deltas."""
        times = {
            r["venue"]: r["update_ts_ns"]
            for r in services.reader.rows(queries.book_times(instrument, venue))
        }
        if not times:
            raise NotFoundError(f"no book stored for {instrument!r}")
        sides: dict[str, dict[str, list[LevelOut]]] = {v: {"bid": [], "ask": []} for v in times}
        for row in services.reader.rows(queries.book(instrument, venue, levels=levels)):
            level = LevelOut(price=row["price"], size=row["size"])
            sides.setdefault(row["venue"], {"bid": [], "ask": []})[row["side"]].append(level)
        return BookOut(
            instrument=instrument,
            venues=[
                VenueBookOut(venue=v, bids=s["bid"], asks=s["ask"], update_ts_ns=times.get(v, 0))
                for v, s in sorted(sides.items())
            ],
        )

    @app.get("/v1/market/bars/{instrument}", tags=["market data"])
    def bars(
        instrument: Annotated[InstrumentId, Path()],
        who: Caller,
        interval: Annotated[str, Query(pattern=r"^[0-9]{1,6}(ms|s|m|h|d)$")] = "1m",
        venue: Venue = None,
        limit: Limit = 100,
    ) -> list[BarOut]:
        """The latest bars of an instrument, newest first."""
        q = queries.bars(instrument, venue, interval, limit=limit)
        return [BarOut(**row) for row in services.reader.rows(q)]

    @app.get("/v1/market/trades/{instrument}", tags=["market data"])
    def trades(
        instrument: Annotated[InstrumentId, Path()],
        who: Caller,
        venue: Venue = None,
        limit: Limit = 100,
    ) -> list[TradeOut]:
        """The latest trades of an instrument, newest first."""
        q = queries.trades(instrument, venue, limit=limit)
        return [TradeOut(**row) for row in services.reader.rows(q)]

    # ---------------------------------------------------------------- export

    def history(
        kind: ExportKind, who: Principal, account: str | None, since: int | None, until: int | None
    ) -> QueryResult:
        accounts = who.account_filter(account)
        r = queries.Range(since_ns=since, until_ns=until)
        limit = services.max_rows
        q = (
            queries.orders(accounts, r, status=None, limit=limit)
            if kind == "orders"
            else queries.fills(accounts, r, limit=limit)
            if kind == "fills"
            else queries.positions(accounts, r, limit=limit)
        )
        return services.reader.result(q)

    @app.get(
        "/v1/export/{kind}.csv",
        tags=["export"],
        response_class=PlainTextResponse,
        responses={200: {"content": {"text/csv": {}}, "description": "CSV with a header"}},
    )
    def export_csv(
        kind: ExportKind,
        who: Caller,
        account: Account = None,
        since_ns: Since = None,
        until_ns: Until = None,
    ) -> Response:
        """History as CSV (up to ``max_rows`` rows): exact decimals, UTC ns times."""
        return Response(
            to_csv(history(kind, who, account, since_ns, until_ns)),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{kind}.csv"'},
        )

    @app.get(
        "/v1/export/{kind}.parquet",
        tags=["export"],
        response_class=Response,
        responses={
            200: {
                "content": {PARQUET: {"schema": {"type": "string", "format": "binary"}}},
                "description": "a Parquet file",
            }
        },
    )
    def export_parquet(
        kind: ExportKind,
        who: Caller,
        account: Account = None,
        since_ns: Since = None,
        until_ns: Until = None,
    ) -> Response:
        """History as Parquet (up to ``max_rows`` rows): decimal128(38, 18) prices and
        sizes, int64 UTC ns times, the same columns as the CSV."""
        return Response(
            to_parquet(history(kind, who, account, since_ns, until_ns)),
            media_type=PARQUET,
            headers={"Content-Disposition": f'attachment; filename="{kind}.parquet"'},
        )

    # ---------------------------------------------------------------- notifications

    def notifications() -> NotificationPreferences:
        if services.notifications is None:
            raise NotFoundError(
                "notification preferences are not enabled in this deployment",
                hint="configure [notifier] with a preferences_file",
            )
        return services.notifications

    def preferences_of(user: str, who: Principal) -> NotificationPreferences:
        if user != who.user.name:
            who.require(Role.RISK_ADMIN)  # before any lookup: no probing of user names
        return notifications()

    def change(
        user: str, body: PreferencesBody, who: Principal, request: Request
    ) -> PreferencesOut:
        out = preferences_of(user, who).put(
            user, body, by=who.user.name, now_ns=services.clock_ns()
        )
        routes = ", ".join(f"{s}={'+'.join(n) or '-'}" for s, n in out.route.items())
        request.state.audit_detail = (
            f"notification preferences of {user}: {routes or 'nothing'}; muted={out.muted}"
        )
        return out

    @app.get("/v1/notifications/preferences", tags=["notifications"])
    def my_preferences(who: Caller) -> PreferencesOut:
        """Your notification preferences: your configured channels (name and kind) and
        which of them carry each severity."""
        return preferences_of(who.user.name, who).get(who.user.name)

    @app.put("/v1/notifications/preferences", tags=["notifications"])
    def change_my_preferences(
        body: PreferencesBody, who: Caller, request: Request
    ) -> PreferencesOut:
        """Choose, among your configured channels, the ones that carry each severity (a
        severity left out is not sent), or mute; the notifier applies it at its next alert."""
        return change(who.user.name, body, who, request)

    @app.get("/v1/notifications/preferences/{user}", tags=["notifications"])
    def user_preferences(user: UserPath, who: Caller) -> PreferencesOut:
        """A user's notification preferences (your own, or any user's for risk admins)."""
        return preferences_of(user, who).get(user)

    @app.put("/v1/notifications/preferences/{user}", tags=["notifications"])
    def change_user_preferences(
        user: UserPath, body: PreferencesBody, who: Caller, request: Request
    ) -> PreferencesOut:
        """Change a user's notification preferences (your own, or any user's for risk
        admins), among the channels configured for that user."""
        return change(user, body, who, request)

    # ---------------------------------------------------------------- stream

    @app.websocket("/v1/stream")
    async def stream(websocket: WebSocket) -> None:
        """Order events and fills of your accounts, quotes, NBBO and bars of the
        instruments you name, as they happen (JSON messages)."""
        await _stream(services, websocket)

    return app


def _authenticate(services: ApiServices, token: str) -> Principal:
    claims = services.tokens.verify(token)
    user = services.users.get(claims.user)
    if user is None or user.role is not claims.role:
        raise AuthenticationError(
            f"token of {claims.user!r} no longer valid (user removed or role changed)",
            hint="get a new one from POST /v1/auth/token",
        )
    return Principal(user, claims.token_id)


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        # one string naming every bad field, as the document's ErrorOut says
        assert isinstance(exc, RequestValidationError)
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']} (got {_short(e.get('input'))})"
            for e in exc.errors()
        )
        request.state.audit_detail = detail
        return JSONResponse({"detail": detail[:2000]}, status_code=422)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        request.state.audit_detail = exc.detail
        headers = {}
        if isinstance(exc, AuthenticationError):
            headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, RateLimitedError):
            headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_s)))
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=headers)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _install_audit(app: FastAPI, services: ApiServices) -> None:
    @app.middleware("http")
    async def audit(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started, ts_ns, request_id = time.monotonic(), time.time_ns(), uuid.uuid4().hex
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            response.headers["X-Request-ID"] = request_id
            return response
        finally:
            entry = _entry(request, request_id, ts_ns, "", status, started)
            services.audit.record(entry)
            route = entry.route or "unmatched"  # never the raw path: bounded cardinality
            metrics.api_requests.labels(entry.method, route, str(status)).inc()
            metrics.api_request_seconds.labels(route).observe(entry.duration_us / 1e6)


def _entry(
    request: Request | WebSocket,
    request_id: str,
    ts_ns: int,
    method: str,
    status: int,
    started: float,
) -> AuditEntry:
    state = request.scope.get("state") or {}
    who: Principal | None = state.get("principal")
    route = request.scope.get("route")
    return AuditEntry(
        request_id=request_id,
        ts_ns=ts_ns,
        user=who.user.name if who else "",
        role=who.user.role.value if who else "",
        token_id=who.token_id if who else "",
        client=request.client.host if request.client else "",
        method=method or request.scope.get("method", "WS"),
        path=request.url.path,
        route=getattr(route, "path", ""),
        status=status,
        duration_us=int((time.monotonic() - started) * 1e6),
        detail=str(state.get("audit_detail", ""))[:1000],
    )


async def _stream(services: ApiServices, websocket: WebSocket) -> None:
    started, ts_ns, request_id = time.monotonic(), time.time_ns(), uuid.uuid4().hex
    status = 101
    try:
        sub = _subscription(services, websocket)
    except ApiError as exc:
        websocket.scope.setdefault("state", {})["audit_detail"] = exc.detail
        status = exc.status
        await websocket.close(code=4000 + exc.status, reason=exc.detail[:120])
        services.audit.record(_entry(websocket, request_id, ts_ns, "WS", status, started))
        return
    assert services.events is not None
    await websocket.accept()
    services.events.subscribe(sub)
    metrics.api_stream_connections.inc()
    services.audit.record(_entry(websocket, request_id, ts_ns, "WS", status, started))
    try:
        await websocket.send_json(
            {
                "type": "subscribed",
                "accounts": "*" if sub.accounts is None else sorted(sub.accounts),
                "instruments": sorted(sub.instruments),
                "types": sorted(sub.types),
            }
        )
        tasks = {
            asyncio.ensure_future(_forward(sub, websocket)),
            asyncio.ensure_future(_until_disconnect(websocket)),
            dropped := asyncio.ensure_future(sub.dropped.wait()),
        }
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()  # not awaited: this handler may itself be being cancelled
        for task in done:
            error = None if task.cancelled() else task.exception()
            if error is not None and not isinstance(error, WebSocketDisconnect):
                log.warning("stream: %s: %s", type(error).__name__, error)
        if dropped in done:
            metrics.api_stream_dropped.inc()
            detail = f"dropped: more than {sub.queue_size} messages behind"
            websocket.scope.setdefault("state", {})["audit_detail"] = detail
            services.audit.record(
                _entry(websocket, uuid.uuid4().hex, time.time_ns(), "WS", 429, started)
            )
            with contextlib.suppress(Exception):  # the socket may be gone already
                await asyncio.wait_for(
                    websocket.close(
                        code=SLOW_CLIENT_CODE,
                        reason=f"too slow: more than {sub.queue_size} messages behind",
                    ),
                    timeout=5,
                )
    except WebSocketDisconnect:
        pass
    finally:
        services.events.unsubscribe(sub)
        metrics.api_stream_connections.dec()


async def _until_disconnect(websocket: WebSocket) -> None:
    while True:  # the client's messages are ignored; this notices the disconnect
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


async def _forward(sub: Subscription, websocket: WebSocket) -> None:
    while True:
        await websocket.send_json(await sub.queue.get())


def _subscription(services: ApiServices, websocket: WebSocket) -> Subscription:
    if services.events is None:
        raise UnavailableError("this API runs without Kafka: no stream")
    params = websocket.query_params
    header = websocket.headers.get("authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else params.get("token")
    if not token:
        raise AuthenticationError(
            "no token", hint="send Authorization: Bearer <token> or ?token=<token>"
        )
    who = _authenticate(services, token)
    websocket.scope.setdefault("state", {})["principal"] = who
    retry = services.token_limiter.acquire(who.token_id)
    if retry is not None:
        raise RateLimitedError("rate limit exceeded", retry_after_s=retry)
    wanted = params.get("accounts")
    accounts: frozenset[str] | None
    if wanted:
        accounts = frozenset(who.check_account(a.strip()) for a in wanted.split(",") if a.strip())
    else:
        filt = who.account_filter(None)
        accounts = None if filt is None else frozenset(filt)
    names = params.get("types")
    types = kinds(names.split(",")) if names else ORDER_KINDS
    if not types or (names and len(types) != len(set(names.split(",")))):
        raise ApiError(f"types={names!r}: expected some of {', '.join(sorted(KINDS))}")
    instruments = frozenset(i.strip() for i in params.get("instruments", "").split(",") if i)
    bad = sorted(i for i in instruments if not _INSTRUMENT.match(i))
    if bad or len(instruments) > MAX_STREAM_INSTRUMENTS:
        raise ApiError(
            f"instruments={params.get('instruments')!r}: "
            + (f"{bad[0]!r} is not an instrument id" if bad else "too many"),
            hint=f"up to {MAX_STREAM_INSTRUMENTS} canonical ids, e.g. BTC-USDT-SPOT",
        )
    if types & MARKET_KINDS and not instruments:
        raise ApiError(
            f"types {', '.join(sorted(types & MARKET_KINDS))} need instruments=",
            hint="name them: instruments=BTC-USDT-SPOT,ETH-USDT-SPOT",
        )
    return Subscription(
        accounts,
        types,
        asyncio.get_running_loop(),
        instruments=instruments,
        queue_size=services.stream_queue_size,
    )
