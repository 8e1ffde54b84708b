"""One way into ClickHouse: a clickhouse-connect client built from one Tapewire URL.

Two URL forms, both served by clickhouse-connect:

* ``chdb:///absolute/dir`` (or ``chdb://memory``): the embedded engine in this process,
  through clickhouse-connect's chDB backend. The directory is created if missing.
* ``http(s)://user:password@host:8123/database``: a ClickHouse server over HTTP(S).

chDB rules this module enforces with clear errors (verified against chdb 4.4 / engine
26.9; details and the raw error texts are in ``docs/clickhouse.md``):

* One engine per process, bound to one directory. Any number of clients may share that
  directory; opening a *different* directory while any client is open fails
  (:class:`ChdbPathConflictError`). When the last client closes, the engine stops and
  another directory can be opened.
* One process per directory: the engine holds ``flock`` on ``<dir>/status``; a second
  process fails (:class:`ChdbDirectoryLockedError`, naming the holder's PID).
* Each :func:`connect` call returns an independent client with its own chDB handle (its
  own ``USE``/``SET`` state). A client is thread-safe (clickhouse-connect serialises calls
  on it with a lock); open one client per thread for parallel queries. Engine start is
  cheap (~0.35 s first, ~0.03 s after), so no per-process cache is needed: close clients
  you open (they are context managers; ``close()`` is idempotent).

HTTP clients are created without a session id, so one client can be shared by threads
(ClickHouse rejects concurrent queries in one session).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import clickhouse_connect
from clickhouse_connect.driver.binding import quote_identifier
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError as DriverError
from pydantic import SecretStr

from tapewire.core.errors import ClickHouseError

__all__ = [
    "DEFAULT_DATABASE",
    "EXPECTED_URL_FORMS",
    "ChdbDirectoryLockedError",
    "ChdbPathConflictError",
    "ClickHouseURL",
    "ClickHouseURLError",
    "check_database_name",
    "connect",
    "mask_url",
    "parse_url",
    "target_database",
]

DEFAULT_DATABASE = "tapewire"
EXPECTED_URL_FORMS = "chdb:///absolute/dir, chdb://memory or http(s)://user:password@host:8123/db"

_DATABASE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MASK = "***"
_CHDB_OPTIONS = frozenset({"database"})
_HTTP_OPTIONS: Mapping[str, Literal["float", "bool", "str"]] = {
    "connect_timeout": "float",
    "send_receive_timeout": "float",
    "verify": "bool",
    "compress": "str",
    "ca_cert": "str",
    "client_name": "str",
}
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_PATH_CONFLICT_RE = re.compile(
    r"already initialized with path '(?P<open>[^']*)', cannot connect with different path"
)
_AUTH_FAILED_CODES = frozenset({192, 193, 194, 516})  # unknown user, wrong password, ...


class ClickHouseURLError(ClickHouseError):
    """A ClickHouse URL is malformed; ``part`` names the offending part, ``url`` is masked."""

    def __init__(self, message: str, *, url: str, part: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint or f"expected {EXPECTED_URL_FORMS}")
        self.url = url
        self.part = part


class ChdbPathConflictError(ClickHouseError):
    """This process already hosts a chDB engine on another directory."""

    def __init__(self, message: str, *, open_path: str, requested_path: str, hint: str) -> None:
        super().__init__(message, hint=hint)
        self.open_path = open_path
        self.requested_path = requested_path


class ChdbDirectoryLockedError(ClickHouseError):
    """Another OS process holds the chDB directory; ``pid`` is read from ``<dir>/status``."""

    def __init__(self, message: str, *, path: str, pid: int | None, hint: str) -> None:
        super().__init__(message, hint=hint)
        self.path = path
        self.pid = pid


@dataclass(frozen=True)
class ClickHouseURL:
    """A parsed ClickHouse URL. ``str()`` and ``repr()`` never show the password."""

    scheme: Literal["chdb", "http", "https"]
    path: Path | None = None
    host: str | None = None
    port: int | None = None
    username: str | None = None
    password: SecretStr | None = field(default=None, repr=False)
    database: str | None = None
    options: tuple[tuple[str, str], ...] = ()

    @property
    def is_chdb(self) -> bool:
        """True for the embedded engine (``chdb://``)."""
        return self.scheme == "chdb"

    def masked(self) -> str:
        """The URL with the password replaced by ``***``: safe to print and log."""
        query = "&".join(f"{k}={quote(v, safe='')}" for k, v in self.options)
        if self.is_chdb:
            base = "chdb://memory" if self.path is None else f"chdb://{quote(str(self.path))}"
            return f"{base}?{query}" if query else base
        userinfo = ""
        if self.username is not None:
            userinfo = quote(self.username, safe="")
            if self.password is not None:
                userinfo += f":{_MASK}"
            userinfo += "@"
        host = f"[{self.host}]" if self.host and ":" in self.host else self.host
        path = f"/{self.database}" if self.database else ""
        base = f"{self.scheme}://{userinfo}{host}:{self.port}{path}"
        return f"{base}?{query}" if query else base

    def __str__(self) -> str:
        return self.masked()

    def __repr__(self) -> str:
        return f"ClickHouseURL({self.masked()!r})"


def mask_url(url: str) -> str:
    """Mask the password of any URL-like string, even one that does not parse."""
    try:
        return parse_url(url).masked()
    except ClickHouseURLError:
        return _mask_raw(url)


def _mask_raw(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    at = rest.rfind("@")
    if at < 0:
        return url
    user, colon, _ = rest[:at].partition(":")
    return f"{scheme}://{user}{':' + _MASK if colon else ''}@{rest[at + 1 :]}"


def check_database_name(name: str) -> str:
    """Return ``name`` if it is a plain ClickHouse identifier, else raise ClickHouseError."""
    if not _DATABASE_RE.match(name):
        raise ClickHouseError(
            f"database name {name!r} is not allowed",
            hint="use letters, digits and underscores, starting with a letter or underscore",
        )
    return name


def parse_url(url: str) -> ClickHouseURL:
    """Parse and validate a ClickHouse URL; errors say which part is wrong and what is expected."""
    if not isinstance(url, str) or not url.strip():
        raise ClickHouseURLError("ClickHouse URL is empty", url="", part="url")
    url = url.strip()
    shown = _mask_raw(url)
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ClickHouseURLError(
            f"ClickHouse URL {shown!r} does not parse: {exc}", url=shown, part="host"
        ) from None
    scheme = parts.scheme.lower()
    if "://" not in url or scheme not in ("chdb", "http", "https"):
        raise ClickHouseURLError(
            f"ClickHouse URL {shown!r} has scheme {parts.scheme or '(none)'!r}; "
            "expected chdb://, http:// or https://",
            url=shown,
            part="scheme",
        )
    if parts.fragment:
        raise ClickHouseURLError(
            f"ClickHouse URL {shown!r} has a '#' fragment, which means nothing here",
            url=shown,
            part="fragment",
        )
    try:
        options = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise ClickHouseURLError(
            f"ClickHouse URL {shown!r} has a malformed query string {parts.query!r}",
            url=shown,
            part="query",
            hint="expected ?name=value&name=value",
        ) from None
    if scheme == "chdb":
        return _parse_chdb(parts.netloc, parts.path, options, shown)
    return _parse_http("https" if scheme == "https" else "http", url, parts.path, options, shown)


def _parse_chdb(
    netloc: str, raw_path: str, options: list[tuple[str, str]], shown: str
) -> ClickHouseURL:
    if "@" in netloc:
        raise ClickHouseURLError(
            f"chDB URL {shown!r} has a user or password; the embedded engine has neither",
            url=shown,
            part="credentials",
            hint="use chdb:///absolute/dir",
        )
    database: str | None = None
    for key, value in options:
        if key not in _CHDB_OPTIONS:
            raise ClickHouseURLError(
                f"chDB URL {shown!r} has unknown option {key!r}",
                url=shown,
                part="query",
                hint="the only chDB option is ?database=<name>",
            )
        database = _checked_database(value, shown)
    if netloc in ("memory", ":memory:") and raw_path in ("", "/"):
        return ClickHouseURL("chdb", database=database, options=tuple(options))
    if netloc:
        raise ClickHouseURLError(
            f"chDB URL {shown!r} names {netloc!r} where an absolute directory is expected",
            url=shown,
            part="path",
            hint=f"write chdb:///absolute/dir (three slashes), e.g. chdb:///{netloc}{raw_path}",
        )
    path = unquote(raw_path)
    if not path or path == "/":
        raise ClickHouseURLError(
            f"chDB URL {shown!r} has no directory",
            url=shown,
            part="path",
            hint="write chdb:///absolute/dir, e.g. chdb:///var/lib/tapewire/chdb",
        )
    return ClickHouseURL(
        "chdb", path=Path(os.path.normpath(path)), database=database, options=tuple(options)
    )


def _parse_http(
    scheme: Literal["http", "https"],
    url: str,
    raw_path: str,
    options: list[tuple[str, str]],
    shown: str,
) -> ClickHouseURL:
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        raise ClickHouseURLError(
            f"ClickHouse URL {shown!r} has no host",
            url=shown,
            part="host",
            hint="expected http(s)://user:password@host:8123/db",
        )
    try:
        port = parts.port
    except ValueError:
        raw_port = parts.netloc.rpartition("@")[2].rpartition(":")[2]
        raise ClickHouseURLError(
            f"ClickHouse URL {shown!r} has port {raw_port!r}; expected a number 1-65535",
            url=shown,
            part="port",
            hint="the HTTP port is usually 8123 (8443 for https)",
        ) from None
    if port == 0:
        raise ClickHouseURLError(
            f"ClickHouse URL {shown!r} has port 0; expected a number 1-65535",
            url=shown,
            part="port",
        )
    if port is None:
        port = 8443 if scheme == "https" else 8123
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and not username:
        username = "default"
    segments = [s for s in raw_path.split("/") if s]
    if len(segments) > 1:
        raise ClickHouseURLError(
            f"ClickHouse URL {shown!r} has path {raw_path!r}; expected /<database> or nothing",
            url=shown,
            part="database",
        )
    database = _checked_database(unquote(segments[0]), shown) if segments else None
    for key, value in options:
        kind = _HTTP_OPTIONS.get(key)
        if kind is None:
            raise ClickHouseURLError(
                f"ClickHouse URL {shown!r} has unknown option {key!r}",
                url=shown,
                part="query",
                hint="known options: " + ", ".join(sorted(_HTTP_OPTIONS)),
            )
        if kind == "float":
            with contextlib.suppress(ValueError):
                if float(value) > 0:
                    continue
            raise ClickHouseURLError(
                f"ClickHouse URL {shown!r}: option {key}={value!r} is not a positive number",
                url=shown,
                part="query",
            )
        if kind == "bool" and value.lower() not in _TRUE | _FALSE:
            raise ClickHouseURLError(
                f"ClickHouse URL {shown!r}: option {key}={value!r} is not true/false",
                url=shown,
                part="query",
            )
    return ClickHouseURL(
        scheme,
        host=host,
        port=port,
        username=username,
        password=SecretStr(password) if password is not None else None,
        database=database,
        options=tuple(options),
    )


def _checked_database(name: str, shown: str) -> str:
    if not _DATABASE_RE.match(name):
        raise ClickHouseURLError(
            f"ClickHouse URL {shown!r} names database {name!r}; expected letters, digits "
            "and underscores, starting with a letter or underscore",
            url=shown,
            part="database",
        )
    return name


def target_database(url: str | ClickHouseURL, database: str | None = None) -> str:
    """The database Tapewire works in: ``database``, else the URL's, else ``tapewire``."""
    parsed = url if isinstance(url, ClickHouseURL) else parse_url(url)
    return check_database_name(database or parsed.database or DEFAULT_DATABASE)


def connect(
    url: str | ClickHouseURL,
    *,
    database: str | None = None,
    missing_database: Literal["error", "create", "ignore"] = "error",
    connect_timeout: float = 10.0,
    settings: Mapping[str, Any] | None = None,
) -> Client:
    """Open a clickhouse-connect client for ``url`` and check that it answers.

    The client's default database is ``database``, else the URL's database, else the
    server default. If that database is missing, ``missing_database`` decides: raise
    (``"error"``), create it (``"create"``), or stay on the server default (``"ignore"``).
    The caller closes the client (``with connect(url) as client:``). Failures raise
    :class:`ClickHouseError` (or a subclass) that show the URL with its password masked.
    """
    parsed = url if isinstance(url, ClickHouseURL) else parse_url(url)
    wanted = database or parsed.database
    if wanted is not None:
        check_database_name(wanted)
    if parsed.is_chdb:
        client = _open_chdb(parsed, settings)
    else:
        client = _open_http(parsed, connect_timeout, settings)
    if wanted is None:
        return client
    try:
        if missing_database == "create":
            client.command(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(wanted)}")
        exists = int(
            str(
                client.command(
                    "SELECT count() FROM system.databases WHERE name = {name:String}",
                    parameters={"name": wanted},
                )
            )
        )
    except DriverError as exc:
        client.close()
        raise ClickHouseError(
            f"ClickHouse at {parsed} failed preparing database {wanted!r}: "
            f"{_reason(_scrub(str(exc), parsed))}",
            hint="check that the user may create and read databases",
        ) from None
    if exists:
        client.database = wanted
    elif missing_database != "ignore":
        client.close()
        raise ClickHouseError(
            f"database {wanted!r} does not exist on ClickHouse at {parsed}",
            hint="Tapewire creates it when it applies migrations at start; "
            "or fix the database in the URL",
        )
    return client


def _open_chdb(parsed: ClickHouseURL, settings: Mapping[str, Any] | None) -> Client:
    location = ":memory:"
    if parsed.path is not None:
        try:
            parsed.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ClickHouseError(
                f"cannot create the chDB directory {str(parsed.path)!r}: {exc.strerror or exc}",
                hint="point CLICKHOUSE_URL (or TAPEWIRE_DATA_DIR) at a writable directory",
            ) from None
        location = os.path.realpath(parsed.path)
    try:
        return clickhouse_connect.get_client(
            interface="chdb", path=location, settings=dict(settings or {})
        )
    except DriverError as exc:
        raise _chdb_open_error(location, str(exc)) from None


def _chdb_open_error(location: str, text: str) -> ClickHouseError:
    conflict = _PATH_CONFLICT_RE.search(text)
    if conflict:
        open_path = conflict.group("open")
        return ChdbPathConflictError(
            f"this process already runs the chDB engine on {open_path!r}; "
            f"chDB hosts one data directory per process, so {location!r} cannot be opened",
            open_path=open_path,
            requested_path=location,
            hint=f"close every client on {open_path!r} first, or use one CLICKHOUSE_URL "
            "for the whole process",
        )
    if location != ":memory:":
        locked, pid = _status_lock(Path(location))
        if locked:
            holder = f"process {pid}" if pid is not None else "another process"
            return ChdbDirectoryLockedError(
                f"the chDB directory {location!r} is in use by {holder}; "
                "chDB allows one process per data directory",
                path=location,
                pid=pid,
                hint="stop that process, run the query inside it, or point CLICKHOUSE_URL "
                "at a ClickHouse server (http://user:password@host:8123/db)",
            )
    return ClickHouseError(
        f"cannot open the chDB engine at {location!r}: {text}",
        hint="check that the directory holds chDB/ClickHouse data of a compatible version",
    )


def _status_lock(directory: Path) -> tuple[bool, int | None]:
    """Whether another process holds the engine's ``flock`` on ``<dir>/status``, and its PID.

    Only called after chDB refused the directory: probing the lock from a process that
    already hosts the engine on it would see its own lock as a foreign one.
    """
    status = directory / "status"
    try:
        fd = os.open(status, os.O_RDONLY)
    except OSError:
        return False, None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            locked = True
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            locked = False
        content = os.read(fd, 4096).decode(errors="replace")
    finally:
        os.close(fd)
    match = re.search(r"^PID:\s*(\d+)", content, re.MULTILINE)
    return locked, int(match.group(1)) if match else None


def _open_http(
    parsed: ClickHouseURL, connect_timeout: float, settings: Mapping[str, Any] | None
) -> Client:
    kwargs: dict[str, Any] = {"connect_timeout": connect_timeout}
    for key, value in parsed.options:
        kind = _HTTP_OPTIONS[key]
        if kind == "float":
            kwargs[key] = float(value)
        elif kind == "bool" or (key == "compress" and value.lower() in _TRUE | _FALSE):
            kwargs[key] = value.lower() in _TRUE
        else:
            kwargs[key] = value
    try:
        return clickhouse_connect.get_client(
            interface=parsed.scheme,
            host=parsed.host,
            port=parsed.port,
            username=parsed.username or "default",
            password=parsed.password.get_secret_value() if parsed.password else "",
            settings=dict(settings or {}),
            autogenerate_session_id=False,
            **kwargs,
        )
    except DriverError as exc:
        code = getattr(exc, "code", None)
        if code in _AUTH_FAILED_CODES or "AUTHENTICATION_FAILED" in str(exc):
            raise ClickHouseError(
                f"ClickHouse at {parsed} refused user {parsed.username or 'default'!r}: "
                f"{_reason(_scrub(str(exc), parsed))}",
                hint="check the user and password in CLICKHOUSE_URL",
            ) from None
        raise ClickHouseError(
            f"cannot connect to ClickHouse at {parsed}: {_reason(_scrub(str(exc), parsed))}",
            hint="check that the server runs and the host and HTTP port (8123, or 8443 for "
            "https) are right; unset CLICKHOUSE_URL to use the embedded chDB engine",
        ) from None


def _scrub(text: str, parsed: ClickHouseURL) -> str:
    """Remove the password (plain and percent-encoded) from a driver message."""
    if parsed.password is None:
        return text
    secret = parsed.password.get_secret_value()
    for form in {secret, quote(secret, safe="")}:
        if form:
            text = text.replace(form, _MASK)
    return text


def _reason(text: str) -> str:
    """The useful core of a driver message: the OS error if there is one, else the text."""
    errno = re.search(r"\[Errno -?\d+\] [^\"'()]+", text)
    if errno:
        return errno.group(0).strip()
    flat = " ".join(text.split())
    return flat if len(flat) <= 400 else flat[:397] + "..."
