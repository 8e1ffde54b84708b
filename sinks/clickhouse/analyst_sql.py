"""Analysts' SQL (``tapewire sql``): read-only unless asked, never reaching outside ClickHouse.

Two layers, both ClickHouse's own:

1. The connection runs with ClickHouse's ``readonly = 2`` setting: writes, DDL and
   changing ``readonly`` are refused; other settings (``SETTINGS join_use_nulls = 1``, as
   the worked queries use) stay allowed, which ``readonly = 1`` would refuse.
2. Before running, ClickHouse parses the statement (``formatQuery`` proves it is one
   statement, ``EXPLAIN AST`` gives its tree) and the tree is checked for what
   ``readonly`` lets through. Refused: the table functions and engines ClickHouse itself
   marks as not allowed in read-only mode (``system.table_functions.allow_readonly = 0``:
   ``file``, ``url``, ``remote``, ``s3``, ``mysql``, ``executable``, ...; ``readonly = 1``
   would refuse them at run time, ``readonly = 2`` does not), ``eval`` (it runs SQL built
   at run time), and what even ``readonly = 1`` lets through, verified on chDB 4.4 (engine
   26.9): the scalar ``file('/etc/hostname')`` reads any file of the host; ``INTO
   OUTFILE`` writes one; ``DESCRIBE file(...)`` / ``DESCRIBE url(...)`` read the file or
   call the URL to infer a schema; and chDB runs every statement of a ``;``-separated
   list, so only single statements are accepted.

With :attr:`SqlAccess.WRITE` the statements of :data:`WRITE_STATEMENTS` (INSERT, ALTER,
DELETE, TRUNCATE, DROP, OPTIMIZE, UNDROP, KILL) run with ``readonly = 0``; every other
statement still runs read-only (schema belongs to migrations), and the tree check still
applies: the write flag lets an analyst fix Tapewire's data, never read or write the host's
files or reach another server from the process that holds the data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError as DriverError

from tapewire.core.errors import ClickHouseError
from tapewire.sinks.clickhouse.client import ClickHouseURL, connect, parse_url, target_database
from tapewire.sinks.clickhouse.query import (
    QueryError,
    QueryResult,
    check_not_empty,
    execute,
    query_error,
)

__all__ = [
    "WRITE_STATEMENTS",
    "SqlAccess",
    "SqlRefusedError",
    "Statement",
    "inspect_statement",
    "run_analyst_sql",
]

WRITE_STATEMENTS: Mapping[str, str] = {
    "InsertQuery": "INSERT",
    "AlterQuery": "ALTER",
    "DeleteQuery": "DELETE",
    "TruncateQuery": "TRUNCATE",
    "DropQuery": "DROP",
    "OptimizeQuery": "OPTIMIZE",
    "UndropQuery": "UNDROP",
    "KillQueryQuery": "KILL",
}
"""``EXPLAIN AST`` root node → statement only the write flag allows (it changes data or,
for KILL, stops other work such as the sink's inserts)."""

READONLY_CODE = 164  # ClickHouse's READONLY error
_FILE_READING_FUNCTIONS = frozenset({"file"})  # scalar functions reading host files
# Table functions that run SQL built from strings at run time, which no parse can check.
_RUNS_SQL_TEXT = frozenset({"eval"})
# Nodes under which a function is a table function, a table engine or a backup target.
_TABLE_POSITIONS = frozenset(
    {"TableExpression", "InsertQuery", "Storage", "BackupQuery", "RestoreQuery"}
)
_PREFLIGHT = """
SELECT
    formatQuery({sql:String}),
    (SELECT groupArray(name) FROM system.table_functions WHERE allow_readonly = 0),
    (SELECT groupArray(name) FROM system.functions WHERE lower(name) IN
        (SELECT lower(name) FROM system.table_functions WHERE allow_readonly = 0))
"""
_WRITE_HINT = (
    "add --write to change data (INSERT, ALTER, DELETE, TRUNCATE, DROP, OPTIMIZE, UNDROP, KILL)"
)
_OUTSIDE_HINT = (
    "refused with --write too: analyst SQL reads and changes Tapewire's tables only; "
    "bring outside data in through a connector or the sink"
)


class SqlAccess(StrEnum):
    """What an analyst's statement may do: read (the default) or also change data."""

    READ = "read"
    WRITE = "write"


class SqlRefusedError(ClickHouseError):
    """Tapewire refused an analyst's statement before running it; ``reason`` names what."""

    def __init__(self, message: str, *, reason: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.reason = reason


@dataclass(frozen=True)
class Statement:
    """One parsed statement: its ``EXPLAIN AST`` root node and ClickHouse's formatting."""

    kind: str
    formatted: str

    @property
    def changes_data(self) -> bool:
        """True for the statements only the write flag allows."""
        return self.kind in WRITE_STATEMENTS


def inspect_statement(client: Client, sql: str, *, target: str) -> Statement:
    """Parse ``sql`` with ClickHouse; raise :class:`SqlRefusedError` if it reaches outside.

    Refused: more than one statement; any table function or engine ClickHouse marks
    ``allow_readonly = 0`` (and ``eval``); the scalar ``file()``; ``INTO OUTFILE`` and
    ``FROM INFILE``. Syntax errors raise ClickHouse's :class:`QueryError`.
    """
    try:
        formatted, external, scalar = client.query(_PREFLIGHT, parameters={"sql": sql}).result_rows[
            0
        ]
        tree = str(client.command(f"EXPLAIN AST\n{formatted}"))
    except DriverError as exc:
        if "Multi-statements are not allowed" in str(exc):
            raise SqlRefusedError(
                "tapewire sql runs one statement at a time, and this text holds several",
                reason="multiple statements",
                hint="run each statement with its own tapewire sql",
            ) from None
        raise query_error(exc, target, client.database) from None
    outside = {str(name).lower() for name in external}
    _check_tree(tree.split("\n"), outside, frozenset(str(name) for name in scalar), formatted)
    root = tree.split(maxsplit=1)[0] if tree.strip() else ""
    return Statement(root, str(formatted))


def _check_tree(
    lines: list[str], outside: set[str], scalar: frozenset[str], formatted: str
) -> None:
    parents: list[str] = []
    for line in lines:
        tokens = line.split()
        if not tokens:
            continue
        depth = len(line) - len(line.lstrip(" "))
        del parents[depth:]
        parent = parents[-1] if parents else ""
        kind = tokens[0]
        if kind.startswith("Function") and len(tokens) > 1:
            _check_function(tokens[1], parent, outside, scalar)
        if kind == "Literal" and depth == 1 and _names_a_host_file(formatted):
            raise SqlRefusedError(
                "INTO OUTFILE and FROM INFILE read or write files on the host that runs the "
                "query, which analyst SQL may not do",
                reason="INTO OUTFILE / FROM INFILE",
                hint="redirect tapewire sql's output instead; " + _OUTSIDE_HINT,
            )
        parents.append(kind)


def _check_function(name: str, parent: str, outside: set[str], scalar: frozenset[str]) -> None:
    as_table = parent in _TABLE_POSITIONS or name not in scalar
    if name.lower() in _RUNS_SQL_TEXT and as_table:
        raise SqlRefusedError(
            f"{name}(...) runs SQL built while the query runs, which no check can see",
            reason=f"table function {name}",
            hint="write the statement out; " + _OUTSIDE_HINT,
        )
    if name.lower() in outside and as_table:
        raise SqlRefusedError(
            f"{name}(...) is a table function or engine ClickHouse does not allow in "
            "read-only mode (the mark of those reaching host files, URLs, other servers or "
            "programs), and analyst SQL may not use it",
            reason=f"table function or engine {name}",
            hint=_OUTSIDE_HINT,
        )
    if name.lower() in _FILE_READING_FUNCTIONS:
        raise SqlRefusedError(
            f"{name}(...) reads a file of the host that runs the query, which analyst SQL may "
            "not do",
            reason=f"function {name}",
            hint=_OUTSIDE_HINT,
        )


def _names_a_host_file(formatted: str) -> bool:
    return "INTO OUTFILE " in formatted or " FROM INFILE " in formatted


def run_analyst_sql(
    url: str | ClickHouseURL,
    sql: str,
    *,
    access: SqlAccess = SqlAccess.READ,
    database: str | None = None,
) -> QueryResult:
    """Run one analyst statement against ``url`` under ``access``; exact result.

    Raises :class:`SqlRefusedError` for what Tapewire refuses before running and
    :class:`QueryError` (``code == 164`` for ClickHouse's read-only refusals, with a hint
    naming the write flag) for the rest.
    """
    parsed = url if isinstance(url, ClickHouseURL) else parse_url(url)
    target = target_database(parsed, database)
    check_not_empty(sql)
    try:
        with connect(
            parsed, database=target, missing_database="ignore", settings={"readonly": 2}
        ) as reader:
            statement = inspect_statement(reader, sql, target=target)
            if not statement.changes_data:
                return execute(reader, sql, target=target)
    except QueryError as exc:
        if exc.code != READONLY_CODE:
            raise
        raise QueryError(
            f"refused by ClickHouse's read-only mode (readonly = 2): {exc.message}",
            code=exc.code,
            hint=_readonly_hint(access),
        ) from None
    verb = WRITE_STATEMENTS[statement.kind]
    if access is not SqlAccess.WRITE:
        raise SqlRefusedError(
            f"{verb} changes data, and tapewire sql is read-only unless asked",
            reason=f"{verb} without the write flag",
            hint=_WRITE_HINT,
        )
    with connect(parsed, database=target, missing_database="ignore") as writer:
        return execute(writer, sql, target=target)


def _readonly_hint(access: SqlAccess) -> str:
    if access is SqlAccess.WRITE:
        return (
            "--write allows INSERT, ALTER, DELETE, TRUNCATE, DROP, OPTIMIZE, UNDROP and KILL "
            "only; schema changes go through migrations (tapewire migrate), and the readonly "
            "setting itself cannot be changed"
        )
    return (
        "without --write, SELECT, SHOW, DESCRIBE, EXPLAIN and EXISTS run (SETTINGS clauses "
        "too, except readonly); " + _WRITE_HINT
    )
