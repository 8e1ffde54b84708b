"""Ad-hoc SQL for ``tapewire sql`` and the health check for ``tapewire doctor``.

Results are exact and renderer-agnostic: decimals come back as :class:`decimal.Decimal`
(at the column's scale), ``DateTime64`` values as :class:`ExactDateTime` (integer ticks,
so nanoseconds survive; Python datetimes stop at microseconds), everything else as
clickhouse-connect returns it. :func:`format_value` renders any value the way
ClickHouse's ``toString`` does, for tables or CSV.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from clickhouse_connect.datatypes.base import ClickHouseType
from clickhouse_connect.datatypes.container import Array, Map, Tuple
from clickhouse_connect.datatypes.temporal import DateTime64
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError as DriverError

from tapewire.core.errors import ClickHouseError
from tapewire.sinks.clickhouse.client import ClickHouseURL, connect, parse_url, target_database

__all__ = [
    "ExactDateTime",
    "QueryError",
    "QueryResult",
    "check_not_empty",
    "execute",
    "format_value",
    "ping",
    "query_error",
    "run_sql",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MISSING_OBJECT_CODES = frozenset({60, 81})  # UNKNOWN_TABLE, UNKNOWN_DATABASE


@dataclass(frozen=True, order=True)
class ExactDateTime:
    """A ``DateTime64`` value kept exact: ``ticks`` units of 10**-``scale`` s since the epoch.

    ``str()`` gives ClickHouse's text form in ``timezone``, e.g.
    ``2023-11-14 22:13:20.123456789``.
    """

    ticks: int
    scale: int
    timezone: str = "UTC"

    @property
    def epoch_ns(self) -> int:
        """Nanoseconds since the Unix epoch (exact for any scale <= 9)."""
        return self.ticks * 10 ** (9 - self.scale) if self.scale <= 9 else self.ticks

    def to_datetime(self) -> datetime:
        """An aware datetime in ``timezone``; digits below microseconds are truncated."""
        seconds, fraction = divmod(self.ticks, 10**self.scale)
        micros = fraction * 10**6 // 10**self.scale
        moment = _EPOCH + timedelta(seconds=seconds, microseconds=micros)
        return moment.astimezone(ZoneInfo(self.timezone))

    def __str__(self) -> str:
        seconds, fraction = divmod(self.ticks, 10**self.scale)
        moment = (_EPOCH + timedelta(seconds=seconds)).astimezone(ZoneInfo(self.timezone))
        text = moment.strftime("%Y-%m-%d %H:%M:%S")
        return f"{text}.{fraction:0{self.scale}d}" if self.scale else text


@dataclass(frozen=True)
class QueryResult:
    """Column names, ClickHouse type names and rows of one statement.

    Unpacks as ``column_names, rows = run_sql(...)``. A statement without a result set
    (DDL, INSERT, SET) has no columns and no rows.
    """

    column_names: tuple[str, ...]
    column_types: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def __iter__(self) -> Iterator[Any]:
        return iter((self.column_names, self.rows))


def run_sql(
    url: str | ClickHouseURL,
    sql: str,
    *,
    database: str | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> QueryResult:
    """Run one SQL statement against ``url`` and return its exact result.

    Unqualified names resolve in ``target_database(url, database)`` (``tapewire`` by
    default) when it exists, else in the server's default database. Errors raise
    :class:`ClickHouseError` carrying ClickHouse's message. No restriction applies: this is
    for Tapewire's own SQL; analysts' SQL goes through ``analyst_sql.run_analyst_sql``.
    """
    parsed = url if isinstance(url, ClickHouseURL) else parse_url(url)
    target = target_database(parsed, database)
    check_not_empty(sql)
    with connect(parsed, database=target, missing_database="ignore") as client:
        return execute(client, sql, target=target, parameters=parameters)


def check_not_empty(sql: str) -> None:
    """Raise :class:`ClickHouseError` if ``sql`` is blank."""
    if not sql.strip():
        raise ClickHouseError("no SQL given", hint='pass one statement, e.g. "SELECT 1"')


def execute(
    client: Client,
    sql: str,
    *,
    target: str,
    parameters: Mapping[str, Any] | None = None,
) -> QueryResult:
    """Run ``sql`` on an open ``client`` (opened for database ``target``); exact result."""
    try:
        context = client.create_query_context(
            query=sql,
            parameters=dict(parameters) if parameters else None,
            query_formats={"DateTime64": "int"},
        )
        if context.is_command:
            client.command(sql, parameters=dict(parameters) if parameters else None)
            return QueryResult((), (), [])
        result = client.query(context=context)
    except DriverError as exc:
        raise query_error(exc, target, client.database) from None
    server_tz = getattr(client.server_tz, "key", None) or "UTC"
    types: Sequence[ClickHouseType] = result.column_types
    converters = [_converter(t, server_tz) for t in types]
    rows = [
        tuple(v if conv is None else conv(v) for v, conv in zip(row, converters, strict=True))
        for row in result.result_rows
    ]
    return QueryResult(
        column_names=tuple(result.column_names),
        column_types=tuple(t.name for t in types),
        rows=rows,
    )


class QueryError(ClickHouseError):
    """ClickHouse refused or failed a statement; ``code`` is ClickHouse's error code if known."""

    def __init__(self, message: str, *, code: int | None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code


def query_error(exc: DriverError, target: str, current: str | None) -> QueryError:
    """ClickHouse's message as a :class:`QueryError`, with a hint for a missing database."""
    message = " ".join(str(exc).split())
    code = getattr(exc, "code", None)
    hint = None
    if code in _MISSING_OBJECT_CODES and current != target:
        hint = (
            f"database {target!r} does not exist yet; Tapewire creates it and its tables "
            "when it applies migrations at start"
        )
    return QueryError(
        f"query failed: {message}", code=code if isinstance(code, int) else None, hint=hint
    )


_Converter = Callable[[Any], Any]


def _converter(ch_type: ClickHouseType, server_tz: str) -> _Converter | None:
    """A function turning raw values of ``ch_type`` into exact ones, or None if not needed."""
    if isinstance(ch_type, DateTime64):
        zone = getattr(ch_type.tzinfo, "key", None) or server_tz
        scale = int(ch_type.scale)
        return lambda v: None if v is None else ExactDateTime(int(v), scale, zone)
    if isinstance(ch_type, Array):
        inner = _converter(ch_type.element_type, server_tz)
        if inner is None:
            return None
        return lambda v: None if v is None else [inner(x) for x in v]
    if isinstance(ch_type, Tuple):
        parts = [_converter(t, server_tz) for t in ch_type.element_types]
        if all(p is None for p in parts):
            return None
        names = list(ch_type.element_names or ())

        def convert_tuple(v: Any) -> Any:
            if v is None:
                return None
            if isinstance(v, dict):
                return {
                    k: (x if p is None else p(x))
                    for (k, x), p in zip(((n, v[n]) for n in names), parts, strict=True)
                }
            return tuple(x if p is None else p(x) for x, p in zip(v, parts, strict=True))

        return convert_tuple
    if isinstance(ch_type, Map):
        key_conv = _converter(ch_type.key_type, server_tz)
        value_conv = _converter(ch_type.value_type, server_tz)
        if key_conv is None and value_conv is None:
            return None
        kc: _Converter = key_conv or (lambda x: x)
        vc: _Converter = value_conv or (lambda x: x)
        return lambda v: None if v is None else {kc(k): vc(x) for k, x in v.items()}
    return None


def format_value(value: Any, *, null: str = "NULL") -> str:
    """Render a value like ClickHouse's ``toString``: decimals without trailing zeros and
    never in exponent form, ``DateTime64`` with all its digits, NULL as ``null``."""
    if value is None:
        return null
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") + (
            f".{value.microsecond:06d}" if value.microsecond else ""
        )
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    if isinstance(value, list):
        return "[" + ",".join(_nested(x) for x in value) + "]"
    if isinstance(value, tuple):
        return "(" + ",".join(_nested(x) for x in value) + ")"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_nested(k)}:{_nested(x)}" for k, x in value.items()) + "}"
    return str(value)


def _nested(value: Any) -> str:
    if isinstance(value, str | ExactDateTime | datetime):
        text = format_value(value).replace("\\", "\\\\").replace("'", "\\'")
        return f"'{text}'"
    return format_value(value)


def _decimal_text(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def ping(url: str | ClickHouseURL) -> str:
    """Connect to ``url``, run ``SELECT version()`` and return the engine/server version.

    Raises :class:`ClickHouseError` with a clear reason if it does not answer.
    """
    parsed = url if isinstance(url, ClickHouseURL) else parse_url(url)
    with connect(parsed, missing_database="ignore", connect_timeout=5.0) as client:
        try:
            return str(client.command("SELECT version()"))
        except DriverError as exc:
            raise ClickHouseError(
                f"ClickHouse at {parsed} connected but does not answer: {exc}"
            ) from None
