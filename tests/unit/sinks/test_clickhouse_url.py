"""ClickHouse URL parsing, validation and password masking."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tapewire.core.errors import ClickHouseError
from tapewire.sinks.clickhouse.client import (
    DEFAULT_DATABASE,
    ClickHouseURLError,
    check_database_name,
    connect,
    mask_url,
    parse_url,
    target_database,
)

SECRET = "s3cr3t-Pw"


def test_chdb_directory_url() -> None:
    url = parse_url("chdb:///var/lib/tapewire/chdb")
    assert url.is_chdb
    assert url.path == Path("/var/lib/tapewire/chdb")
    assert url.database is None
    assert str(url) == "chdb:///var/lib/tapewire/chdb"


def test_chdb_url_with_database_and_spaces() -> None:
    url = parse_url("chdb:///tmp/my%20data/?database=ticks")
    assert url.path == Path("/tmp/my data")
    assert url.database == "ticks"
    assert target_database(url) == "ticks"


def test_chdb_in_memory() -> None:
    url = parse_url("chdb://memory")
    assert url.is_chdb
    assert url.path is None
    assert url.masked() == "chdb://memory"


def test_http_url_parts() -> None:
    url = parse_url(f"http://alice:{SECRET}@ch.example.com:8123/analytics")
    assert (url.scheme, url.host, url.port, url.username, url.database) == (
        "http",
        "ch.example.com",
        8123,
        "alice",
        "analytics",
    )
    assert url.password is not None
    assert url.password.get_secret_value() == SECRET


def test_percent_encoded_password_is_decoded() -> None:
    url = parse_url("https://bob:p%40ss%2Fword@db.local/")
    assert url.password is not None
    assert url.password.get_secret_value() == "p@ss/word"
    assert url.port == 8443
    assert url.database is None


def test_default_port_and_user() -> None:
    assert parse_url("http://localhost").port == 8123
    assert parse_url("https://localhost").port == 8443
    assert parse_url(f"http://:{SECRET}@localhost").username == "default"


def test_ipv6_host() -> None:
    url = parse_url("http://[::1]:8123/db")
    assert url.host == "::1"
    assert url.masked() == "http://[::1]:8123/db"


def test_http_options_are_checked() -> None:
    url = parse_url("https://h/db?verify=false&connect_timeout=2.5")
    assert dict(url.options) == {"verify": "false", "connect_timeout": "2.5"}


@pytest.mark.parametrize(
    ("url", "part", "says"),
    [
        ("", "url", "empty"),
        ("localhost:8123", "scheme", "expected chdb://, http:// or https://"),
        ("ftp://host/db", "scheme", "'ftp'"),
        ("clickhouse://host:9000/db", "scheme", "'clickhouse'"),
        ("chdb://data/chdb", "path", "absolute directory"),
        ("chdb://", "path", "no directory"),
        (f"chdb://user:{SECRET}@/tmp/x", "credentials", "has a user or password"),
        ("chdb:///tmp/x?mode=ro", "query", "unknown option 'mode'"),
        ("chdb:///tmp/x?database=bad-name", "database", "'bad-name'"),
        ("http:///db", "host", "no host"),
        (f"http://u:{SECRET}@:8123/db", "host", "no host"),
        (f"http://u:{SECRET}@host:abc/db", "port", "port 'abc'"),
        ("http://host:0/db", "port", "port 0"),
        ("http://host:99999/db", "port", "port '99999'"),
        ("http://host:8123/db/extra", "database", "expected /<database>"),
        ("http://host:8123/my-db", "database", "'my-db'"),
        (f"http://u:{SECRET}@host:8123/db?foo=1", "query", "unknown option 'foo'"),
        ("http://host:8123/db?connect_timeout=soon", "query", "not a positive number"),
        ("http://host:8123/db?verify=maybe", "query", "not true/false"),
        ("http://host:8123/db#top", "fragment", "fragment"),
        ("http://[::1/db", "host", "does not parse"),
    ],
)
def test_bad_urls_name_the_part(url: str, part: str, says: str) -> None:
    with pytest.raises(ClickHouseURLError) as caught:
        parse_url(url)
    err = caught.value
    assert err.part == part
    assert says in err.message
    assert err.hint
    assert isinstance(err, ClickHouseError)
    for text in (str(err), repr(err), err.url):
        assert SECRET not in text


def test_relative_chdb_url_hint_shows_the_fix() -> None:
    with pytest.raises(ClickHouseURLError) as caught:
        parse_url("chdb://data/chdb")
    assert caught.value.hint is not None
    assert "chdb:///data/chdb" in caught.value.hint


def test_password_never_in_str_or_repr() -> None:
    url = parse_url(f"http://alice:{SECRET}@host:8123/db")
    assert SECRET not in str(url)
    assert SECRET not in repr(url)
    assert str(url) == "http://alice:***@host:8123/db"
    assert repr(url) == "ClickHouseURL('http://alice:***@host:8123/db')"


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        (f"http://alice:{SECRET}@host:8123/db", "http://alice:***@host:8123/db"),
        (f"http://alice:{SECRET}@host:notaport/db", "http://alice:***@host:notaport/db"),
        (f"gopher://alice:{SECRET}@host/x", "gopher://alice:***@host/x"),
        ("http://host:8123/db", "http://host:8123/db"),
        ("chdb:///tmp/x", "chdb:///tmp/x"),
        ("not a url", "not a url"),
    ],
)
def test_mask_url(raw: str, masked: str) -> None:
    assert mask_url(raw) == masked


def test_target_database_default_and_override() -> None:
    assert target_database("chdb:///tmp/x") == DEFAULT_DATABASE == "tapewire"
    assert target_database("http://h/prod") == "prod"
    assert target_database("http://h/prod", "other") == "other"
    with pytest.raises(ClickHouseError, match="not allowed"):
        target_database("http://h/prod", "drop table")


def test_check_database_name() -> None:
    assert check_database_name("tapewire_2") == "tapewire_2"
    with pytest.raises(ClickHouseError, match="'1abc' is not allowed"):
        check_database_name("1abc")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused_is_clear_and_masked() -> None:
    port = _free_port()
    with pytest.raises(ClickHouseError) as caught:
        connect(f"http://alice:{SECRET}@127.0.0.1:{port}/db", connect_timeout=2)
    text = str(caught.value)
    assert f"cannot connect to ClickHouse at http://alice:***@127.0.0.1:{port}/db" in text
    assert "Connection refused" in text
    assert SECRET not in text
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_unwritable_chdb_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ClickHouseError, match="cannot create the chDB directory"):
        connect(f"chdb://{blocker}/chdb")
