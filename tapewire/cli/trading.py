"""What ``tapewire order|positions|kill-switch`` do (the CLI in :mod:`tapewire.cli` is a shell).

Commands that act publish one ``OrderRequest`` to ``oms.requests`` (the risk gate decides;
nothing here talks to a venue). Commands that read ask ClickHouse: the process serving
queries for the embedded chDB (``tapewire demo``) if there is one, else ClickHouse directly.
See ``docs/trading.md``.
"""

from __future__ import annotations

import getpass
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from tapewire.core.errors import KafkaRuntimeError, TapewireError
from tapewire.core.records import Record
from tapewire.core.settings import Settings
from tapewire.schemas.codec import Codec
from tapewire.sinks.clickhouse.query_server import TextResult, find_query_server, remote_sql, render
from tapewire.streams.oms import (
    OrderAction,
    OrderRequest,
    OrderType,
    Side,
    TimeInForce,
    TrailingOffsetType,
    validate_request,
)
from tapewire.streams.trading.config import ALL_ACCOUNTS, KILL_SWITCH_TAG

REQUESTS_TOPIC = "oms.requests"

OPTION_OF_FIELD = {
    "client_order_id": "--client-order-id",
    "account": "--account",
    "venue": "--venue",
    "instrument": "--instrument",
    "side": "--side",
    "order_type": "--type",
    "time_in_force": "--tif",
    "quantity": "--qty",
    "limit_price": "--price",
    "stop_price": "--stop-price",
    "trailing_offset": "--trailing-offset",
    "trailing_offset_type": "--offset-type",
    "expire_ts_ns": "--expire",
    "orig_client_order_id": "--client-order-id",
    "requested_by": "requested_by",
}
"""Which CLI option sets each ``OrderRequest`` field (errors name the option)."""

_SIDES = {"buy": Side.BUY, "sell": Side.SELL}
_TYPES = {
    "market": OrderType.MARKET,
    "limit": OrderType.LIMIT,
    "stop": OrderType.STOP,
    "stop-limit": OrderType.STOP_LIMIT,
    "trailing": OrderType.TRAILING_STOP,
}
_TIFS = {t.value.lower(): t for t in TimeInForce if t is not TimeInForce.UNKNOWN}
_OFFSET_TYPES = {"price": TrailingOffsetType.PRICE, "bps": TrailingOffsetType.BASIS_POINTS}
_UNIT_NS = {"s": 10**9, "m": 60 * 10**9, "h": 3_600 * 10**9, "d": 86_400 * 10**9}
_RELATIVE = re.compile(r"\+(\d+)([smhd])")
_EXPIRE_FORMS = "ISO 8601 with a zone (2026-12-04T18:00:00Z), +N s/m/h/d (+30m), or ns since epoch"
KILL_STATES = {"on": "HALTED", "off": "ACTIVE"}


@dataclass(frozen=True)
class Sent:
    """Where a published request landed."""

    request: OrderRequest
    topic: str
    partition: int
    offset: int
    bootstrap: str

    def line(self) -> str:
        """One line saying what was sent and where."""
        r = self.request
        if r.action is OrderAction.NEW:
            price = f" @ {r.limit_price:f}" if r.limit_price is not None else ""
            stop = f" stop {r.stop_price:f}" if r.stop_price is not None else ""
            trail = ""
            if r.trailing_offset is not None:
                unit = " bps" if r.trailing_offset_type is TrailingOffsetType.BASIS_POINTS else ""
                trail = f" trailing {r.trailing_offset:f}{unit}"
            expire = f" until {r.expire_ts_ns} ns" if r.expire_ts_ns is not None else ""
            what = (
                f"NEW {r.side} {r.quantity:f} {r.instrument}{price}{stop}{trail} "
                f"{r.order_type} {r.time_in_force}{expire} on {r.venue}"
            )
        elif r.action is OrderAction.CANCEL:
            what = f"CANCEL of {r.orig_client_order_id} on {r.venue}"
        elif KILL_SWITCH_TAG in r.tags:
            what = f"kill switch: trading_state={r.tags[KILL_SWITCH_TAG]} (CANCEL_ALL)"
        else:
            what = f"CANCEL_ALL on {r.venue or 'every venue'}"
        return (
            f"sent {what} for account {r.account}: client order id {r.client_order_id} -> "
            f"{self.topic} partition {self.partition} offset {self.offset}"
        )


# ------------------------------------------------------------------ parsing


class OptionError(TapewireError):
    """A bad command-line option value (``option`` names it); the CLI prints it as one
    line followed by a working example of the command."""

    def __init__(self, message: str, *, option: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.option = option


def parse_choice(option: str, text: str, choices: Mapping[str, Any]) -> Any:
    """The value ``text`` names in ``choices`` (case-insensitive); OptionError otherwise."""
    value = choices.get(text.strip().lower())
    if value is None:
        raise OptionError(f"{option}={text!r}: expected one of {', '.join(choices)}", option=option)
    return value


def parse_decimal(option: str, text: str | None) -> Decimal | None:
    """``text`` as an exact finite decimal (None stays None); OptionError otherwise."""
    if text is None:
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise OptionError(
            f"{option}={text!r}: not a decimal number (e.g. 0.01)", option=option
        ) from None
    if not value.is_finite():
        raise OptionError(f"{option}={text!r}: must be a finite number", option=option)
    return value


def expire_ns(text: str | None, now_ns: int) -> int | None:
    """``--expire`` (GTD) as UTC ns: ISO 8601 with a zone, ``+N`` s/m/h/d from ``now_ns``,
    or integer ns since the epoch; it must be after ``now_ns``."""
    if text is None:
        return None
    raw = text.strip()
    relative = _RELATIVE.fullmatch(raw)
    if relative:
        value = now_ns + int(relative.group(1)) * _UNIT_NS[relative.group(2)]
    elif raw.isdigit():
        value = int(raw)
    else:
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            raise OptionError(
                f"--expire={text!r}: not a time (expected {_EXPIRE_FORMS})", option="--expire"
            ) from None
        if moment.tzinfo is None:
            raise OptionError(
                f"--expire={text!r}: no time zone (write UTC as {raw}Z)", option="--expire"
            )
        seconds = int(moment.timestamp())
        value = seconds * 10**9 + moment.microsecond * 1_000
    if value <= now_ns:
        raise OptionError(
            f"--expire={text!r}: is not in the future (now is {now_ns} ns)",
            option="--expire",
            hint="GTD needs an expiry after now, e.g. --expire +1h",
        )
    return value


def _check(request: OrderRequest) -> OrderRequest:
    problems = validate_request(request)
    if problems:
        p = problems[0]
        option = OPTION_OF_FIELD.get(p.field, p.field)
        if p.value is None:
            raise OptionError(f"{option} {p.message}", option=option, hint=f"pass {option}")
        value = f"{p.value:f}" if isinstance(p.value, Decimal) else str(p.value)
        raise OptionError(f"{option}={value!r}: {p.message} ({p.hint})", option=option)
    return request


def requester() -> str:
    """``cli:<user>``: who sent a request from this shell."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers) and no USER/LOGNAME
        user = "unknown"
    return f"cli:{user.strip() or 'unknown'}"


def new_client_order_id(prefix: str = "cli") -> str:
    """A fresh client order id; reuse it (``--client-order-id``) to retry idempotently."""
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


def _base(account: str, client_order_id: str | None, now_ns: int | None) -> dict[str, Any]:
    return {
        "client_order_id": client_order_id
        if client_order_id is not None
        else new_client_order_id(),
        "account": account,
        "requested_by": requester(),
        "request_ts_ns": now_ns if now_ns is not None else time.time_ns(),
    }


def new_order_request(
    *,
    account: str,
    venue: str,
    instrument: str,
    side: str,
    order_type: str,
    quantity: str,
    price: str | None = None,
    stop_price: str | None = None,
    tif: str = "GTC",
    client_order_id: str | None = None,
    post_only: bool = False,
    reduce_only: bool = False,
    trailing_offset: str | None = None,
    offset_type: str | None = None,
    expire: str | None = None,
    now_ns: int | None = None,
) -> OrderRequest:
    """A validated NEW request from CLI text; :class:`TapewireError` names the bad option.

    ``--type trailing`` needs ``--trailing-offset`` and ``--offset-type`` (``price``: in
    quote currency, ``bps``: basis points of the best price seen); ``--tif GTD`` needs
    ``--expire`` (:func:`expire_ns`)."""
    base = _base(account, client_order_id, now_ns)
    gtd = parse_choice("--tif", tif, _TIFS) is TimeInForce.GTD
    if expire is not None and not gtd:
        raise OptionError(
            f"--expire={expire!r}: only a GTD order expires (--tif {tif})",
            option="--expire",
            hint="pass --tif GTD, or drop --expire",
        )
    request = OrderRequest(
        **base,
        venue=venue,
        instrument=instrument,
        side=parse_choice("--side", side, _SIDES),
        order_type=parse_choice("--type", order_type, _TYPES),
        time_in_force=parse_choice("--tif", tif, _TIFS),
        quantity=parse_decimal("--qty", quantity) or Decimal(0),
        limit_price=parse_decimal("--price", price),
        stop_price=parse_decimal("--stop-price", stop_price),
        trailing_offset=parse_decimal("--trailing-offset", trailing_offset),
        trailing_offset_type=(
            None
            if offset_type is None
            else parse_choice("--offset-type", offset_type, _OFFSET_TYPES)
        ),
        expire_ts_ns=expire_ns(expire, base["request_ts_ns"]),
        post_only=post_only,
        reduce_only=reduce_only,
        action=OrderAction.NEW,
    )
    return _check(request)


def cancel_request(
    *,
    account: str,
    orig_client_order_id: str,
    venue: str,
    instrument: str,
    client_order_id: str | None = None,
    now_ns: int | None = None,
) -> OrderRequest:
    """A validated CANCEL of ``orig_client_order_id`` (a new id of its own)."""
    request = OrderRequest(
        **_base(account, client_order_id or new_client_order_id("cli-cancel"), now_ns),
        venue=venue,
        instrument=instrument,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        time_in_force=TimeInForce.GTC,
        quantity=Decimal(0),
        action=OrderAction.CANCEL,
        orig_client_order_id=orig_client_order_id,
    )
    return _check(request)


def cancel_all_request(
    *,
    account: str,
    venue: str = "",
    instrument: str = "",
    tags: Mapping[str, str] | None = None,
    client_order_id: str | None = None,
    now_ns: int | None = None,
) -> OrderRequest:
    """A validated CANCEL_ALL (empty venue / instrument = every one)."""
    request = OrderRequest(
        **_base(account, client_order_id or new_client_order_id("cli-cancel-all"), now_ns),
        venue=venue,
        instrument=instrument,
        side=Side.BUY,
        order_type=OrderType.MARKET,
        time_in_force=TimeInForce.GTC,
        quantity=Decimal(0),
        action=OrderAction.CANCEL_ALL,
        tags=dict(tags or {}),
    )
    return _check(request)


def kill_switch_request(state: str, *, account: str = ALL_ACCOUNTS) -> OrderRequest:
    """The trading-state command: ``on`` = HALTED (and cancel everything), ``off`` = ACTIVE."""
    trading_state = parse_choice("STATE", state, KILL_STATES)
    return cancel_all_request(
        account=account,
        tags={KILL_SWITCH_TAG: trading_state},
        client_order_id=new_client_order_id(f"kill-{trading_state.lower()}"),
    )


# ------------------------------------------------------------------ Kafka


def publish_bootstrap(settings: Settings) -> str:
    """Where requests go: ``KAFKA_BOOTSTRAP_SERVERS``, else the running local broker.

    Nothing is started here: a one-shot command must not start (and stop) a broker.
    """
    if settings.kafka_bootstrap_servers:
        return settings.kafka_bootstrap_servers
    from tapewire.runtime.kafka_local import local_status

    status = local_status(settings)
    if status.running and status.bootstrap_servers:
        return status.bootstrap_servers
    raise KafkaRuntimeError(
        "no Kafka to send to: KAFKA_BOOTSTRAP_SERVERS is not set and the local broker is "
        "not running",
        hint="start it with: tapewire kafka start; or set KAFKA_BOOTSTRAP_SERVERS",
    )


def publish(settings: Settings, request: OrderRequest, *, bootstrap: str | None = None) -> Sent:
    """Encode ``request`` and produce it to ``oms.requests`` (idempotent, acks=all)."""
    partition, offset, servers = produce_record(
        settings, REQUESTS_TOPIC, request.to_record(), bootstrap=bootstrap
    )
    return Sent(request, REQUESTS_TOPIC, partition, offset, servers)


def produce_record(
    settings: Settings, topic: str, record: Record, *, bootstrap: str | None = None
) -> tuple[int, int, str]:
    """Encode ``record`` for canonical ``topic`` and produce it (idempotent, acks=all);
    (partition, offset, bootstrap servers) where it landed."""
    from tapewire.runtime.kafka_io import create_topic, produce_all
    from tapewire.runtime.kafka_resolve import kafka_brokers
    from tapewire.streams.stages.config import StreamsConfig

    servers = bootstrap or publish_bootstrap(settings)
    kafka_brokers(servers, timeout_s=10)  # a clear error if nothing answers
    create_topic(servers, topic, partitions=StreamsConfig().partitions, exist_ok=True)
    codec = Codec.from_settings(settings)
    value = codec.encode(topic, record)
    # produce_all partitions as the Faust agents do: one account's requests (CLI and
    # strategies alike) land on one partition, in order.
    (landed,) = produce_all(servers, topic, [(codec.key(topic, record), value)], timeout_s=30)
    return landed.partition, landed.offset, servers


# ------------------------------------------------------------------ ClickHouse


def sql_literal(text: str) -> str:
    """``text`` as a ClickHouse string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def query(settings: Settings, sql: str) -> tuple[TextResult, str]:
    """Run ``sql`` where ``tapewire sql`` would; the result as exact text and who answered."""
    url = settings.resolved_clickhouse_url
    endpoint = find_query_server(settings.data_dir) if url.startswith("chdb://") else None
    if endpoint is not None:
        return remote_sql(endpoint, sql), f"answered by pid {endpoint.pid}"
    from tapewire.sinks.clickhouse.migrations import migrate_url
    from tapewire.sinks.clickhouse.query import run_sql

    migrate_url(url)
    return render(run_sql(url, sql)), "answered directly"


def positions_sql(account: str | None = None) -> str:
    """Latest position per (account, venue, instrument), exact, NULLs kept."""
    where = f"WHERE account = {sql_literal(account)}\n" if account else ""
    return (
        "SELECT account, venue, instrument, quantity, avg_price, realized_pnl, unrealized_pnl,\n"
        "       fees, mark_price, pnl_currency, update_ts\n"
        f"FROM positions FINAL\n{where}"
        "ORDER BY account, venue, instrument, update_ts DESC, kafka_topic DESC,\n"
        "         kafka_partition DESC, kafka_offset DESC\n"
        "LIMIT 1 BY account, venue, instrument"
    )


def status_sql(client_order_id: str, account: str | None = None) -> str:
    """Latest venue event of the order (by local event time, then cumulative quantity)."""
    acct = f" AND account = {sql_literal(account)}" if account else ""
    return (
        "SELECT client_order_id, account, venue, instrument, side, order_type, time_in_force,\n"
        "       status, exec_type, quantity, limit_price, cum_qty, leaves_qty, avg_price, text,\n"
        "       event_ts\n"
        "FROM order_events FINAL\n"
        f"WHERE client_order_id = {sql_literal(client_order_id)}{acct}\n"
        "ORDER BY event_ts DESC, cum_qty DESC, event_id DESC\n"
        "LIMIT 1"
    )


def decision_sql(client_order_id: str, account: str | None = None) -> str:
    """The risk decision, else the bare request, of an order with no venue event yet."""
    acct = f" AND account = {sql_literal(account)}" if account else ""
    cid = sql_literal(client_order_id)
    return (
        "SELECT client_order_id, account, venue, instrument, step, detail, ts FROM (\n"
        "    SELECT client_order_id, account, venue, instrument, 1 AS ord, 'risk' AS step,\n"
        "           concat(decision, if(rule IS NULL, '',\n"
        "                  concat(' ', rule, ': ', ifNull(reason, '')))) AS detail,\n"
        "           decision_ts AS ts\n"
        f"    FROM risk_decisions FINAL WHERE client_order_id = {cid}{acct}\n"
        "    UNION ALL\n"
        "    SELECT client_order_id, account, venue, instrument, 0, 'request',\n"
        "           concat(action, ' by ', requested_by, ' (no risk decision yet)'),\n"
        "           request_ts\n"
        f"    FROM order_requests FINAL WHERE client_order_id = {cid}{acct}\n"
        ")\nORDER BY ord DESC, ts DESC\nLIMIT 1"
    )


def order_status(
    settings: Settings, client_order_id: str, account: str | None = None
) -> tuple[TextResult, str]:
    """The latest state of an order: venue event, else risk decision, else request."""
    result, source = query(settings, status_sql(client_order_id, account))
    if result.rows:
        return result, source
    result, source = query(settings, decision_sql(client_order_id, account))
    if result.rows:
        return result, source
    raise TapewireError(
        f"--client-order-id={client_order_id!r}: no such order in ClickHouse "
        "(order_events, risk_decisions, order_requests)",
        hint="check the id and --account; the sink stores orders a moment after they are sent",
    )


def order_location(
    settings: Settings, client_order_id: str, account: str
) -> tuple[str, str] | None:
    """Venue and instrument of an order from its request (or events), if stored."""
    cid, acct = sql_literal(client_order_id), sql_literal(account)
    result, _ = query(
        settings,
        "SELECT venue, instrument FROM (\n"
        f"    SELECT venue, instrument, 0 AS o FROM order_requests FINAL\n"
        f"    WHERE client_order_id = {cid} AND account = {acct} AND action != 'CANCEL'\n"
        "    UNION ALL\n"
        f"    SELECT venue, instrument, 1 FROM order_events FINAL\n"
        f"    WHERE client_order_id = {cid} AND account = {acct}\n"
        ") ORDER BY o LIMIT 1",
    )
    if not result.rows:
        return None
    venue, instrument = result.rows[0]
    return venue, instrument
