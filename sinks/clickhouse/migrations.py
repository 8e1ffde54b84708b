"""Versioned SQL migrations for Tapewire's ClickHouse database, applied idempotently at start.

Files live in ``sinks/clickhouse/migrations/`` (shipped as package data) and are named
``NNNN_<name>.sql``: a zero-padded version and a lowercase snake_case name. Each file may
hold several statements, separated by ``;`` (outside quotes and comments).

Every applied migration is recorded in ``<database>.tapewire_schema_migrations``, a plain
append-only MergeTree read with ``GROUP BY version`` / ``argMin`` so the first record of a
version is authoritative and a duplicate row (two processes migrating at once) is harmless.
:func:`migrate` then:

* creates the database if missing;
* refuses to run if an applied migration's file changed (checksum differs), was renamed,
  or is unknown to this code (applied by a newer Tapewire), naming the file;
* applies each pending migration in version order, statement by statement, and records
  it only after all its statements succeeded.

ClickHouse has no transactional DDL: a migration that fails half-way is not recorded and
runs again from its first statement next time, so write statements that can run twice
(``CREATE TABLE IF NOT EXISTS``, ``ADD COLUMN IF NOT EXISTS``, ``DROP ... IF EXISTS``).
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from clickhouse_connect.driver.binding import quote_identifier
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError as DriverError

from tapewire.core.errors import ClickHouseError
from tapewire.sinks.clickhouse.client import (
    ClickHouseURL,
    check_database_name,
    connect,
    target_database,
)

__all__ = [
    "MIGRATIONS_TABLE",
    "AppliedMigration",
    "Migration",
    "MigrationError",
    "applied_migrations",
    "load_migrations",
    "migrate",
    "migrate_url",
    "split_statements",
]

MIGRATIONS_TABLE = "tapewire_schema_migrations"
_FILE_RE = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9]+(?:_[a-z0-9]+)*)\.sql$")
_HOW_TO_CHANGE = (
    "never edit an applied migration: add a new file NNNN_<name>.sql with the change "
    "(see docs/clickhouse.md)"
)

_CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE}
(
    version UInt32 COMMENT 'NNNN of the file NNNN_<name>.sql',
    name String COMMENT '<name> of the file',
    checksum String COMMENT 'sha256 of the file text (line endings normalised to LF)',
    applied_at DateTime64(9, \'UTC\') COMMENT 'when the last statement of the file succeeded'
)
ENGINE = MergeTree
ORDER BY version
COMMENT 'Tapewire schema migrations; one row per applied file, read with GROUP BY version'
"""


class MigrationError(ClickHouseError):
    """A migration file is malformed, changed after being applied, or failed to apply."""

    def __init__(
        self, message: str, *, filename: str | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.filename = filename


@dataclass(frozen=True)
class Migration:
    """One migration file: version, name, SQL text and its checksum."""

    version: int
    name: str
    filename: str
    sql: str = field(repr=False)
    checksum: str

    def statements(self) -> list[str]:
        """The file's statements, comments removed, in order."""
        return split_statements(self.sql, source=self.filename)


@dataclass(frozen=True)
class AppliedMigration:
    """A row of the migrations table (the first record of its version)."""

    version: int
    name: str
    checksum: str
    applied_at_ns: int


def split_statements(sql: str, *, source: str = "<sql>") -> list[str]:
    """Split SQL text on ``;`` outside quotes and comments; drop comments and empty statements.

    Understands ``'strings'`` (with ``\\'`` and ``''`` escapes), ``"identifiers"``,
    ```identifiers```, ``-- line`` and ``# line`` comments and ``/* block */`` comments.
    An unterminated quote or block comment is an error naming ``source`` and the line.
    """
    statements: list[str] = []
    current: list[str] = []
    i, n, line = 0, len(sql), 1
    while i < n:
        ch = sql[i]
        if ch in "'\"`":
            start_line = line
            j = i + 1
            while j < n and sql[j] != ch:
                if sql[j] == "\\":
                    j += 1
                j += 1
            if j >= n:
                raise MigrationError(
                    f"{source}: line {start_line}: unterminated {ch} quote", filename=source
                )
            chunk = sql[i : j + 1]
            current.append(chunk)
            line += chunk.count("\n")
            i = j + 1
        elif sql.startswith("--", i) or ch == "#":
            end = sql.find("\n", i)
            i = n if end < 0 else end  # keep the newline itself
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end < 0:
                raise MigrationError(
                    f"{source}: line {line}: unterminated /* comment", filename=source
                )
            line += sql.count("\n", i, end)
            current.append(" ")
            i = end + 2
        elif ch == ";":
            statements.append("".join(current))
            current = []
            i += 1
        else:
            if ch == "\n":
                line += 1
            current.append(ch)
            i += 1
    statements.append("".join(current))
    return [_tidy(s) for s in statements if s.strip()]


def _tidy(statement: str) -> str:
    lines = [line.rstrip() for line in statement.strip().splitlines()]
    return "\n".join(line for line in lines if line)


def _default_directory() -> Traversable:
    return resources.files("tapewire.sinks.clickhouse").joinpath("migrations")


def load_migrations(directory: Path | Traversable | None = None) -> list[Migration]:
    """Read and validate the migration files (default: the packaged ones), by version.

    A ``.sql`` file not named ``NNNN_<name>.sql``, a duplicate version or a file without
    any statement is a :class:`MigrationError` naming the file.
    """
    folder = directory if directory is not None else _default_directory()
    found: dict[int, Migration] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".sql") or not entry.is_file():
            continue
        match = _FILE_RE.match(entry.name)
        if match is None:
            raise MigrationError(
                f"migration file {entry.name!r} is not named NNNN_<name>.sql",
                filename=entry.name,
                hint="use a 4-digit version and a lowercase snake_case name, "
                "e.g. 0002_add_quotes.sql",
            )
        version = int(match.group("version"))
        if version == 0:
            raise MigrationError(
                f"migration file {entry.name!r} has version 0; versions start at 0001",
                filename=entry.name,
            )
        if version in found:
            raise MigrationError(
                f"migration files {found[version].filename!r} and {entry.name!r} "
                f"share version {version:04d}",
                filename=entry.name,
                hint="give each migration its own version",
            )
        sql = entry.read_bytes().decode("utf-8").replace("\r\n", "\n")
        migration = Migration(
            version=version,
            name=match.group("name"),
            filename=entry.name,
            sql=sql,
            checksum=hashlib.sha256(sql.encode("utf-8")).hexdigest(),
        )
        if not migration.statements():
            raise MigrationError(
                f"migration file {entry.name!r} has no SQL statement", filename=entry.name
            )
        found[version] = migration
    return [found[v] for v in sorted(found)]


def applied_migrations(client: Client, database: str) -> list[AppliedMigration]:
    """The migrations recorded in ``database``, by version; empty if none were applied."""
    check_database_name(database)
    exists = client.command(
        "SELECT count() FROM system.tables WHERE database = {db:String} AND name = {t:String}",
        parameters={"db": database, "t": MIGRATIONS_TABLE},
    )
    if int(str(exists)) == 0:
        return []
    table = f"{quote_identifier(database)}.{MIGRATIONS_TABLE}"
    result = client.query(
        f"SELECT version, argMin(name, applied_at), argMin(checksum, applied_at), "
        f"toUnixTimestamp64Nano(min(applied_at)) FROM {table} GROUP BY version ORDER BY version"
    )
    return [
        AppliedMigration(int(v), str(name), str(checksum), int(at))
        for v, name, checksum, at in result.result_rows
    ]


def migrate(
    client: Client,
    database: str,
    *,
    migrations: list[Migration] | None = None,
) -> list[Migration]:
    """Bring ``database`` up to date; return the migrations applied now (empty = no-op).

    Creates the database if missing. On return the client's default database is
    ``database``. Raises :class:`MigrationError` naming the file for a changed, renamed,
    unknown or failing migration.
    """
    check_database_name(database)
    known = migrations if migrations is not None else load_migrations()
    try:
        client.command(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(database)}")
        client.database = database
        client.command(_CREATE_TABLE)
        done = {m.version: m for m in applied_migrations(client, database)}
    except DriverError as exc:
        raise MigrationError(
            f"cannot prepare the migrations table in database {database!r}: {exc}",
            hint="check that the ClickHouse user may create databases and tables",
        ) from exc
    _check_applied(done, known, database)
    applied_now: list[Migration] = []
    for migration in known:
        if migration.version in done:
            continue
        for number, statement in enumerate(migration.statements(), start=1):
            try:
                client.command(statement)
            except DriverError as exc:
                raise MigrationError(
                    f"migration {migration.filename} failed at statement {number} "
                    f"in database {database!r}: {exc}",
                    filename=migration.filename,
                    hint="fix the file (it was not recorded, so it runs again from its first "
                    "statement); keep statements re-runnable with IF [NOT] EXISTS",
                ) from exc
        client.insert(
            MIGRATIONS_TABLE,
            [[migration.version, migration.name, migration.checksum, time.time_ns()]],
            column_names=["version", "name", "checksum", "applied_at"],
            database=database,
        )
        applied_now.append(migration)
    return applied_now


def _check_applied(
    done: dict[int, AppliedMigration], known: list[Migration], database: str
) -> None:
    by_version = {m.version: m for m in known}
    for version, record in sorted(done.items()):
        migration = by_version.get(version)
        if migration is None:
            raise MigrationError(
                f"database {database!r} has migration {version:04d}_{record.name}.sql applied, "
                "which this Tapewire does not have",
                filename=f"{version:04d}_{record.name}.sql",
                hint="a newer Tapewire migrated this database: upgrade, or use another database",
            )
        if migration.name != record.name:
            raise MigrationError(
                f"migration {migration.filename} was applied to database {database!r} as "
                f"{version:04d}_{record.name}.sql; applied migrations must not be renamed",
                filename=migration.filename,
                hint=_HOW_TO_CHANGE,
            )
        if migration.checksum != record.checksum:
            raise MigrationError(
                f"migration {migration.filename} changed after it was applied to database "
                f"{database!r} (recorded sha256 {record.checksum[:12]}..., file now "
                f"{migration.checksum[:12]}...)",
                filename=migration.filename,
                hint=_HOW_TO_CHANGE,
            )


def migrate_url(url: str | ClickHouseURL, database: str | None = None) -> list[Migration]:
    """Connect to ``url``, migrate ``target_database(url, database)``, close; return applied."""
    target = target_database(url, database)
    with connect(url, database=target, missing_database="create") as client:
        return migrate(client, target)
