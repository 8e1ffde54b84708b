"""Expand a panel query as Grafana and its datasource plugins do, to run it without Grafana.

Two passes, in Grafana's order:

1. **Template variables** (Grafana's ``templateSrv.replace``): ``$name``, ``${name}`` and
   ``${name:singlequote}``, plus the built-ins ``$__interval``, ``$__interval_ms``,
   ``$__rate_interval`` and ``$__range`` (PromQL). A multi-value variable without a format
   becomes ``'a','b'`` in ClickHouse SQL (the plugin's own formatter, ``CHDatasource.format``)
   and ``a|b`` in PromQL (Grafana's regex formatter for Prometheus).
2. **ClickHouse macros** of ``grafana-clickhouse-datasource`` (``pkg/macros/macros.go``,
   unchanged from v4.0 to v4.20): ``$__timeFilter(c)`` → ``c >= toDateTime(from) AND c <=
   toDateTime(to)`` (Unix seconds, truncated), ``$__timeFilter_ms(c)`` with
   ``fromUnixTimestamp64Milli(ms)``, ``$__fromTime``/``$__toTime`` (and ``_ms``),
   ``$__dateFilter(c)``, ``$__timeInterval(c)`` → ``toStartOfInterval(toDateTime(c),
   INTERVAL n second)`` and ``$__timeInterval_ms(c)``, ``$__interval_s`` (at least 1).

An unknown variable or macro is an error here (Grafana would leave it in the SQL, and
ClickHouse would then fail): the dashboards must use only what Grafana expands.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tapewire.core.errors import TapewireError

Value = str | Sequence[str]


class MacroError(TapewireError):
    """A query uses a variable or macro that cannot be expanded; ``name`` says which."""

    def __init__(self, message: str, *, name: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.name = name


_VARIABLE = re.compile(r"\$\{(\w+)(?::(\w+))?\}|\$(\w+)")
_MACRO = re.compile(r"\$__(\w+)")


@dataclass(frozen=True, slots=True)
class QueryContext:
    """What Grafana knows when it runs a query: the time range, interval and variables."""

    start: datetime
    end: datetime
    interval_ms: int
    variables: Mapping[str, Value] = field(default_factory=dict)
    rate_interval: str = "1m"
    """``$__rate_interval``: Grafana's max(interval + scrape interval, 4 * scrape interval)."""

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise MacroError(
                "QueryContext start and end must be timezone-aware",
                name="start/end",
                hint="pass datetime(..., tzinfo=UTC)",
            )
        if self.end < self.start:
            raise MacroError(f"time range end {self.end} is before start {self.start}", name="end")


def _quote(value: str) -> str:
    return "'" + value.replace("'", "\\'") + "'"


def _duration(ms: int) -> str:
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def _variables(text: str, ctx: QueryContext, multi: Callable[[Sequence[str]], str]) -> str:
    builtins = {
        "__interval": _duration(ctx.interval_ms),
        "__interval_ms": str(ctx.interval_ms),
        "__rate_interval": ctx.rate_interval,
        "__range": _duration(int((ctx.end - ctx.start).total_seconds() * 1000)),
    }

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        fmt = match.group(2)
        if name in builtins:
            return builtins[name]
        if name.startswith("__"):
            return match.group(0)  # a datasource macro: the second pass
        if name not in ctx.variables:
            raise MacroError(
                f"query uses the template variable ${name}, which has no value",
                name=name,
                hint="declare it in the dashboard's variables and give it a value",
            )
        value = ctx.variables[name]
        values = [value] if isinstance(value, str) else list(value)
        if fmt == "singlequote":
            return ",".join(_quote(v) for v in values)
        if fmt is not None:
            raise MacroError(
                f"variable format {fmt!r} of ${name} is not supported here",
                name=name,
                hint="use ${name} or ${name:singlequote}",
            )
        return value if isinstance(value, str) else multi(values)

    return _VARIABLE.sub(replace, text)


def _args(text: str, open_at: int) -> tuple[list[str], int]:
    """Split ``(a, f(b, c))`` at ``open_at`` into top-level arguments; index after ``)``."""
    depth, start, args = 0, open_at + 1, []
    for i in range(open_at, len(text)):
        char = text[i]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                args.append(text[start:i].strip())
                return [a for a in args if a], i + 1
        elif char == "," and depth == 1:
            args.append(text[start:i].strip())
            start = i + 1
    raise MacroError(
        f"unbalanced parentheses after a macro: {text[open_at : open_at + 60]!r}", name="("
    )


def _clickhouse_macro(name: str, args: list[str], ctx: QueryContext) -> str:
    start, end = ctx.start.astimezone(UTC), ctx.end.astimezone(UTC)
    millis = (_unix_ms(start), _unix_ms(end))
    seconds = (millis[0] // 1000, millis[1] // 1000)  # Go's time.Unix: floor
    interval_s = max(ctx.interval_ms // 1000, 1)

    def one() -> str:
        if len(args) != 1:
            raise MacroError(f"$__{name} expects 1 argument, received {len(args)}", name=name)
        return args[0]

    match name:
        case "fromTime":
            return f"toDateTime({seconds[0]})"
        case "toTime":
            return f"toDateTime({seconds[1]})"
        case "fromTime_ms":
            return f"fromUnixTimestamp64Milli({millis[0]})"
        case "toTime_ms":
            return f"fromUnixTimestamp64Milli({millis[1]})"
        case "timeFilter":
            c = one()
            return f"{c} >= toDateTime({seconds[0]}) AND {c} <= toDateTime({seconds[1]})"
        case "timeFilter_ms":
            c = one()
            return (
                f"{c} >= fromUnixTimestamp64Milli({millis[0]}) AND "
                f"{c} <= fromUnixTimestamp64Milli({millis[1]})"
            )
        case "dateFilter":
            c = one()
            return f"{c} >= toDate('{start:%Y-%m-%d}') AND {c} <= toDate('{end:%Y-%m-%d}')"
        case "timeInterval":
            return f"toStartOfInterval(toDateTime({one()}), INTERVAL {interval_s} second)"
        case "timeInterval_ms":
            ms = max(ctx.interval_ms, 1)
            return f"toStartOfInterval(toDateTime64({one()}, 3), INTERVAL {ms} millisecond)"
        case "interval_s":
            return str(interval_s)
    raise MacroError(
        f"$__{name} is not a macro of the ClickHouse Grafana plugin",
        name=name,
        hint="use $__timeFilter, $__timeFilter_ms, $__fromTime, $__toTime, $__dateFilter, "
        "$__timeInterval, $__timeInterval_ms or $__interval_s",
    )


def _unix_ms(moment: datetime) -> int:
    """Go's ``time.UnixMilli``: floor of the epoch milliseconds."""
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def expand_sql(sql: str, ctx: QueryContext) -> str:
    """A ClickHouse panel's SQL as the plugin sends it to ClickHouse."""
    text = _variables(sql, ctx, lambda values: ",".join(_quote(v) for v in values))
    out, pos = [], 0
    while (match := _MACRO.search(text, pos)) is not None:
        out.append(text[pos : match.start()])
        end = match.end()
        args: list[str] = []
        if end < len(text) and text[end] == "(":
            args, end = _args(text, end)
        out.append(_clickhouse_macro(match.group(1), args, ctx))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def expand_promql(expr: str, ctx: QueryContext) -> str:
    """A PromQL expression as Grafana sends it to Prometheus."""
    text = _variables(expr, ctx, lambda values: "|".join(re.escape(v) for v in values))
    if (left := _MACRO.search(text)) is not None:
        raise MacroError(
            f"PromQL uses {left.group(0)}, which Grafana does not expand", name=left.group(1)
        )
    return text
