"""Property-based fuzzing of the whole OpenAPI document (schemathesis, in-process ASGI)
as a risk admin, over chDB with seeded rows and the real Kafka broker: no 5xx, and every
response conforms to the document."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tapewire.api.app import create_app
from tapewire.api.config import ApiConfig
from tapewire.api.server import api_services
from tapewire.schemas.codec import Codec
from tapewire.streams.notify import NotifierConfig
from tests.integration.api.conftest import login
from tests.integration.api.seed import seed_trading


def _notifier(preferences: Path) -> NotifierConfig:
    """Channels for the admin and the trader, so preference changes can succeed."""
    hook = {"kind": "webhook", "url": "http://127.0.0.1:9/hook", "format": "json"}
    user = {"channels": {"hook": hook, "ops": hook}, "route": {"CRITICAL": ["hook"]}}
    return NotifierConfig.model_validate(
        {"preferences_file": preferences, "users": {"admin": user, "trader": user}}
    )


@pytest.fixture
def fuzz_app(
    api_config: ApiConfig,
    api_db_url: str,
    clickhouse: Client,
    kafka_bootstrap: str,
    tmp_path: Path,
) -> Iterator[tuple[object, dict[str, str]]]:
    seed_trading(clickhouse)
    prefix = f"fuzz{uuid.uuid4().hex[:8]}."
    config = api_config.model_copy(update={"rate_limit_per_s": 1e6, "rate_limit_burst": 10**6})
    with api_services(
        config,
        clickhouse_url=api_db_url,
        bootstrap=kafka_bootstrap,
        codec=Codec(),
        topic_name=lambda t: prefix + t,
        partitions=1,
        notifier=_notifier(tmp_path / "preferences.json"),
    ) as services:
        app = create_app(services)
        with TestClient(app) as client:
            yield app, login(client, "admin")


MAX_EXAMPLES = 25
"""Examples per operation: about 350 calls in all, well under a minute."""
# Every other check runs. Not positive_data_acceptance: order terms are checked beyond what
# JSON Schema says (a canonical instrument id, the prices an order type needs), and a
# schema-valid order with bad terms is rightly a 422 naming the field.


def _fuzz(operation: Any, headers: dict[str, str]) -> int:
    """Run ``operation``'s examples; the number of calls made (raises on a failure)."""
    calls = 0

    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        nonlocal calls
        calls += 1
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

    check()
    return calls


def test_no_server_errors_and_responses_match_the_document(
    fuzz_app: tuple[object, dict[str, str]],
) -> None:
    app, admin = fuzz_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: dict[str, str] = {}
    calls: dict[str, int] = {}
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the document itself is valid
        operation = result.ok()
        try:
            calls[operation.label] = _fuzz(operation, admin)
        except Exception as exc:
            failures[operation.label] = f"{type(exc).__name__}: {exc}"[:3000]
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
    assert len(calls) == 27, calls  # every HTTP route of the document
    prefs = "/v1/notifications/preferences"
    for label in (f"GET {prefs}", f"PUT {prefs}", f"GET {prefs}/{{user}}", f"PUT {prefs}/{{user}}"):
        assert label in calls, sorted(calls)
    parent = "/v1/parents/{parent_id}"
    for label in ("POST /v1/parents", f"GET {parent}", f"DELETE {parent}"):
        assert label in calls, sorted(calls)
    assert all(n >= 5 for n in calls.values()), calls
