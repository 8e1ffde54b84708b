"""Answer ``tapewire sql`` from the process that holds the embedded ClickHouse (chDB).

chDB allows one OS process per data directory, so while ``tapewire demo`` (or any
long-running Tapewire process) holds ``chdb://<dir>``, a second process cannot open it.
That process therefore serves queries on loopback: it writes
``<data_dir>/query-server.json`` (url, pid, a random token; mode 0600) and answers
``POST /sql`` with the exact result as JSON (and ``GET /stats`` with the number of
statements it answered). ``tapewire sql`` looks for that file first
and falls back to opening the database itself.

Statements run as analyst SQL (:mod:`analyst_sql`): read-only unless the request says
``POST /sql?access=write``, and never reaching host files, URLs or other servers. A request
whose ``Content-Length`` is missing, not a number, negative, too large, or longer than the
body that arrives within ``read_timeout_s`` gets a 4xx answer; the server keeps serving.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tapewire.core.errors import TapewireError
from tapewire.sinks.clickhouse.analyst_sql import (
    READONLY_CODE,
    SqlAccess,
    SqlRefusedError,
    run_analyst_sql,
)
from tapewire.sinks.clickhouse.query import QueryError, QueryResult, format_value

STATE_FILE = "query-server.json"
_MAX_SQL_BYTES = 1 << 20
_ACCESS_VALUES = ", ".join(a.value for a in SqlAccess)


class BadRequestError(Exception):
    """A request the server answers with ``status`` and ``message`` instead of running it."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class QueryEndpoint:
    """Where a running process answers queries."""

    url: str
    token: str
    pid: int


@dataclass(frozen=True)
class TextResult:
    """A query result rendered as ClickHouse's ``toString`` would (exact text)."""

    column_names: list[str]
    column_types: list[str]
    rows: list[list[str]]


def render(result: QueryResult) -> TextResult:
    """Render every value of ``result`` as exact text."""
    return TextResult(
        list(result.column_names),
        list(result.column_types),
        [[format_value(v) for v in row] for row in result.rows],
    )


class QueryServer:
    """Serves ``POST /sql`` for ``clickhouse_url`` on 127.0.0.1 until :meth:`stop`.

    ``read_timeout_s`` bounds how long a request's headers and body may take to arrive.
    """

    def __init__(
        self,
        clickhouse_url: str,
        data_dir: Path,
        *,
        port: int = 0,
        read_timeout_s: float = 10.0,
    ) -> None:
        self._url = clickhouse_url
        self._read_timeout_s = read_timeout_s
        self._state = data_dir / STATE_FILE
        self._token = secrets.token_urlsafe(24)
        self._http = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._http.daemon_threads = True
        self._thread = threading.Thread(
            target=self._http.serve_forever, name="tapewire-query-server", daemon=True
        )
        self.queries_answered = 0

    @property
    def endpoint(self) -> QueryEndpoint:
        """The URL, token and pid written to the state file."""
        host, port = self._http.server_address[:2]
        return QueryEndpoint(f"http://{host!s}:{port}/sql", self._token, os.getpid())

    def start(self) -> QueryServer:
        """Start serving and publish the endpoint in ``<data_dir>/query-server.json``."""
        self._thread.start()
        self._state.parent.mkdir(parents=True, exist_ok=True)
        endpoint = self.endpoint
        tmp = self._state.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump({"url": endpoint.url, "token": endpoint.token, "pid": endpoint.pid}, out)
        tmp.replace(self._state)
        return self

    def stop(self) -> None:
        """Stop serving and remove the state file."""
        with contextlib.suppress(FileNotFoundError):
            self._state.unlink()
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> QueryServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            timeout = server._read_timeout_s  # socket timeout: no handler waits forever

            def do_GET(self) -> None:
                if urlsplit(self.path).path != "/stats":
                    self._reply(HTTPStatus.NOT_FOUND, {"error": "GET /stats only"})
                elif not self._authorized():
                    self._reply(HTTPStatus.UNAUTHORIZED, {"error": "bad or missing token"})
                else:
                    self._reply(HTTPStatus.OK, {"queries_answered": server.queries_answered})

            def _authorized(self) -> bool:
                return secrets.compare_digest(
                    self.headers.get("Authorization", ""), f"Bearer {server._token}"
                )

            def do_POST(self) -> None:
                try:
                    access = _access(self.path)
                    if not self._authorized():
                        raise BadRequestError(HTTPStatus.UNAUTHORIZED, "bad or missing token")
                    sql = self._body()
                except BadRequestError as exc:
                    self.close_connection = True
                    self._reply(exc.status, {"error": exc.message})
                    return
                try:
                    text = render(run_analyst_sql(server._url, sql, access=access))
                except TapewireError as exc:
                    self._reply(_error_status(exc), {"error": str(exc)})
                    return
                server.queries_answered += 1
                self._reply(
                    HTTPStatus.OK,
                    {"columns": text.column_names, "types": text.column_types, "rows": text.rows},
                )

            def _body(self) -> str:
                length = _content_length(self.headers.get("Content-Length"))
                data = bytearray()
                deadline = time.monotonic() + server._read_timeout_s
                with contextlib.suppress(TimeoutError):
                    while len(data) < length and (left := deadline - time.monotonic()) > 0:
                        self.connection.settimeout(left)  # the whole body, not each chunk
                        chunk = self.rfile.read1(length - len(data))
                        if not chunk:
                            break
                        data += chunk
                if len(data) != length:
                    raise BadRequestError(
                        HTTPStatus.BAD_REQUEST,
                        f"the body ended after {len(data)} of the {length} bytes Content-Length "
                        f"announced (waited up to {server._read_timeout_s:g} s)",
                    )
                return bytes(data).decode("utf-8", errors="replace")

            def _reply(self, status: HTTPStatus, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return  # queries are not logged to stderr (they may be noisy)

        return Handler


def _access(path: str) -> SqlAccess:
    """The access a request path asks for: ``/sql`` reads, ``/sql?access=write`` writes."""
    parts = urlsplit(path)
    if parts.path != "/sql":
        raise BadRequestError(HTTPStatus.NOT_FOUND, "POST /sql only")
    values = parse_qs(parts.query, keep_blank_values=True).get("access", [SqlAccess.READ.value])
    try:
        (value,) = values
        return SqlAccess(value)
    except ValueError:
        raise BadRequestError(
            HTTPStatus.BAD_REQUEST, f"access={values!r} is not one of: {_ACCESS_VALUES}"
        ) from None


def _error_status(exc: TapewireError) -> HTTPStatus:
    """403 for statements refused by Tapewire or ClickHouse's read-only mode, else 400."""
    refused = isinstance(exc, SqlRefusedError) or (
        isinstance(exc, QueryError) and exc.code == READONLY_CODE
    )
    return HTTPStatus.FORBIDDEN if refused else HTTPStatus.BAD_REQUEST


def _content_length(header: str | None) -> int:
    """The body length a ``Content-Length`` header announces, checked."""
    if header is None:
        raise BadRequestError(HTTPStatus.LENGTH_REQUIRED, "Content-Length is required")
    text = header.strip()
    if not text.isascii() or not text.isdigit():
        raise BadRequestError(
            HTTPStatus.BAD_REQUEST,
            f"Content-Length {header!r} is not a non-negative whole number of bytes",
        )
    length = int(text)
    if length > _MAX_SQL_BYTES:
        raise BadRequestError(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            f"SQL of {length} bytes is larger than the {_MAX_SQL_BYTES} bytes allowed",
        )
    return length


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def find_query_server(data_dir: Path) -> QueryEndpoint | None:
    """The endpoint of a live process serving queries for ``data_dir``, if any."""
    try:
        state = json.loads((data_dir / STATE_FILE).read_text())
        endpoint = QueryEndpoint(str(state["url"]), str(state["token"]), int(state["pid"]))
    except (FileNotFoundError, ValueError, KeyError, TypeError):
        return None
    return endpoint if _pid_alive(endpoint.pid) else None


def remote_sql(
    endpoint: QueryEndpoint,
    sql: str,
    *,
    access: SqlAccess = SqlAccess.READ,
    timeout_s: float = 60.0,
) -> TextResult:
    """Run ``sql`` in the process behind ``endpoint``; errors come back as TapewireError."""
    query: Mapping[str, str] = {"access": access.value} if access is SqlAccess.WRITE else {}
    url = f"{endpoint.url}?{urlencode(query)}" if query else endpoint.url
    request = urllib.request.Request(  # noqa: S310 - loopback URL we wrote ourselves
        url,
        data=sql.encode(),
        headers={"Authorization": f"Bearer {endpoint.token}", "Content-Type": "text/plain"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        message = json.loads(exc.read() or b"{}").get("error", str(exc))
        raise TapewireError(message) from None
    except (urllib.error.URLError, TimeoutError) as exc:
        raise TapewireError(
            f"the process serving queries ({endpoint.url}, pid {endpoint.pid}) did not answer: "
            f"{exc}",
            hint="check that tapewire demo (or the sink role) still runs",
        ) from None
    return TextResult(list(body["columns"]), list(body["types"]), body["rows"])


def remote_queries_answered(endpoint: QueryEndpoint, *, timeout_s: float = 10.0) -> int:
    """How many statements the process behind ``endpoint`` has answered so far."""
    url = urlsplit(endpoint.url)._replace(path="/stats").geturl()
    request = urllib.request.Request(  # noqa: S310 - loopback URL we wrote ourselves
        url, headers={"Authorization": f"Bearer {endpoint.token}"}, method="GET"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            return int(json.loads(response.read())["queries_answered"])
    except (urllib.error.URLError, TimeoutError, ValueError, KeyError) as exc:
        raise TapewireError(
            f"the process serving queries ({endpoint.url}, pid {endpoint.pid}) did not answer: "
            f"{exc}"
        ) from None
