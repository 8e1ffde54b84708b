"""The API over real parts: chDB (a fresh migrated database per test), the session's
Kafka broker where a test asks for it, users with real argon2 hashes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient

from tapewire.api.app import create_app
from tapewire.api.config import ApiConfig
from tapewire.api.server import api_services
from tapewire.schemas.codec import Codec

SECRET = "s" * 40
PASSWORDS = {"viewer": "viewer-password-1", "trader": "trader-password-1", "admin": "admin-pw-1"}
ClientFor = Callable[[str], TestClient]


def database_url(clickhouse_url: str, database: str) -> str:
    """``clickhouse_url`` pointed at ``database``."""
    if clickhouse_url.startswith("chdb://"):
        return f"{clickhouse_url}?database={database}"
    parts = urlsplit(clickhouse_url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def write_users(folder: Path) -> Path:
    """A users file: viewer and trader of account ``desk``, admin of every account."""
    from tapewire.api.users import hash_password

    path = folder / "users.toml"
    path.write_text(
        "\n".join(
            [
                "[users.viewer]",
                f'password_hash = "{hash_password(PASSWORDS["viewer"])}"',
                'role = "viewer"',
                'accounts = ["desk"]',
                "[users.trader]",
                f'password_hash = "{hash_password(PASSWORDS["trader"])}"',
                'role = "trader"',
                'accounts = ["desk"]',
                "[users.admin]",
                f'password_hash = "{hash_password(PASSWORDS["admin"])}"',
                'role = "risk_admin"',
                'accounts = ["*"]',
            ]
        )
    )
    return path


@pytest.fixture
def api_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ApiConfig:
    """An ``[api]`` section with a users file and the secret in the environment."""
    monkeypatch.setenv("TAPEWIRE_API_JWT_SECRET", SECRET)
    return ApiConfig(users_file=write_users(tmp_path), rate_limit_per_s=0.01, rate_limit_burst=50)


@pytest.fixture
def api_db_url(clickhouse: Client, clickhouse_url: str) -> str:
    """The URL of this test's fresh, migrated database."""
    assert clickhouse.database is not None
    return database_url(clickhouse_url, clickhouse.database)


def login(client: TestClient, user: str) -> dict[str, str]:
    """Authorization headers for ``user`` (one of :data:`PASSWORDS`)."""
    response = client.post("/v1/auth/token", json={"username": user, "password": PASSWORDS[user]})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def read_only_api(api_config: ApiConfig, api_db_url: str) -> Iterator[TestClient]:
    """The API without Kafka (reads only) over this test's database."""
    with (
        api_services(api_config, clickhouse_url=api_db_url, bootstrap=None, codec=Codec()) as s,
        TestClient(create_app(s)) as client,
    ):
        yield client


def wait_for(check: Callable[[], bool], timeout_s: float = 20.0) -> None:
    """Poll ``check`` until true (bounded)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)
