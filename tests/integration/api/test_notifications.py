"""Notification preferences over the API, on chDB and a real preferences file: users read
and change their own (only among the channels configured for them), risk admins anyone's,
every change is audited, and the notifier, delivering to a real local HTTP receiver,
follows a change made over the API at its next alert."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from fastapi.testclient import TestClient

from tapewire.api.app import create_app
from tapewire.api.config import ApiConfig
from tapewire.api.server import api_services
from tapewire.records.risk import Alert
from tapewire.schemas.codec import Codec
from tapewire.sinks.notify.dispatch import Notifier
from tapewire.streams.notify import NotifierConfig
from tests.integration.api.conftest import login, wait_for
from tests.integration.sinks.notify_servers import Post, webhook_receiver

PREFS = "/v1/notifications/preferences"


def notifier_config(url: str, preferences: Path) -> NotifierConfig:
    """Trader: webhooks ``desk`` and ``ops`` (CRITICAL to both by default); viewer: one."""
    return NotifierConfig.model_validate(
        {
            "preferences_file": preferences,
            "retry": {"attempts": 1, "timeout_s": 5},
            "users": {
                "trader": {
                    "channels": {
                        "desk": {"kind": "webhook", "url": f"{url}/desk", "format": "json"},
                        "ops": {"kind": "webhook", "url": f"{url}/ops", "format": "json"},
                    },
                    "route": {"CRITICAL": ["desk", "ops"], "WARNING": ["desk"]},
                },
                "viewer": {
                    "channels": {"hook": {"kind": "webhook", "url": f"{url}/viewer"}},
                    "route": {"CRITICAL": ["hook"]},
                },
            },
        }
    )


@pytest.fixture
def prefs_api(
    api_config: ApiConfig, api_db_url: str, tmp_path: Path
) -> Iterator[tuple[TestClient, NotifierConfig]]:
    notifier = notifier_config("http://127.0.0.1:9", tmp_path / "prefs" / "preferences.json")
    with (
        api_services(
            api_config, clickhouse_url=api_db_url, bootstrap=None, codec=Codec(), notifier=notifier
        ) as services,
        TestClient(create_app(services)) as client,
    ):
        yield client, notifier


def test_own_preferences_read_and_changed_among_configured_channels(
    prefs_api: tuple[TestClient, NotifierConfig],
) -> None:
    client, notifier = prefs_api
    trader = login(client, "trader")
    first = client.get(PREFS, headers=trader)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "user": "trader",
        "channels": [{"name": "desk", "kind": "webhook"}, {"name": "ops", "kind": "webhook"}],
        "route": {"WARNING": ["desk"], "CRITICAL": ["desk", "ops"]},
        "muted": False,
        "source": "config",
        "updated_ts_ns": None,
        "updated_by": None,
    }
    assert "127.0.0.1" not in first.text  # never a URL or an address

    body = {"route": {"CRITICAL": ["ops"], "ERROR": ["desk", "ops"]}, "muted": False}
    changed = client.put(PREFS, headers=trader, json=body)
    assert changed.status_code == 200, changed.text
    assert changed.json()["route"] == {"ERROR": ["desk", "ops"], "CRITICAL": ["ops"]}
    assert changed.json()["source"] == "user"
    assert changed.json()["updated_by"] == "trader"
    again = client.get(f"{PREFS}/trader", headers=trader)  # one's own by name: allowed
    assert again.json() == changed.json()

    path = notifier.preferences_file
    assert path is not None
    stored = json.loads(path.read_text())
    assert stored["users"]["trader"]["route"] == {"CRITICAL": ["ops"], "ERROR": ["desk", "ops"]}
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "preferences.json",
        "preferences.json.lock",
    ]  # the temporary file was renamed over the old one

    muted = client.put(PREFS, headers=trader, json={"route": {}, "muted": True})
    assert muted.status_code == 200, muted.text
    assert muted.json()["muted"] is True


def test_other_users_preferences_only_for_risk_admins(
    prefs_api: tuple[TestClient, NotifierConfig],
) -> None:
    client, notifier = prefs_api
    viewer, admin = login(client, "viewer"), login(client, "admin")
    body = {"route": {"CRITICAL": ["desk"]}}
    read = client.get(f"{PREFS}/trader", headers=viewer)
    assert read.status_code == 403
    assert "risk_admin" in read.json()["detail"]
    assert client.put(f"{PREFS}/trader", headers=viewer, json=body).status_code == 403
    assert client.get(f"{PREFS}/nobody", headers=viewer).status_code == 403  # no probing
    assert notifier.preferences_file is not None
    assert not notifier.preferences_file.exists()  # nothing was written

    changed = client.put(f"{PREFS}/trader", headers=admin, json=body)
    assert changed.status_code == 200, changed.text
    assert changed.json()["updated_by"] == "admin"
    trader = login(client, "trader")
    assert client.get(PREFS, headers=trader).json()["route"] == {"CRITICAL": ["desk"]}
    missing = client.get(f"{PREFS}/nobody", headers=admin)
    assert missing.status_code == 404
    assert "no notification channels are configured for user 'nobody'" in missing.text
    assert client.get(PREFS, headers=admin).status_code == 404  # admin has no channels


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"route": {"CRITICAL": ["hook"]}}, ["route.CRITICAL", "'hook'", "desk, ops"]),
        (
            {"route": {"CRITICAL": ["https://evil.example/hook"]}},
            ["route.CRITICAL", "not a channel configured for user 'trader'"],
        ),
        ({"route": {"PANIC": ["desk"]}}, ["body.route.PANIC.[key]"]),
        ({"route": {}, "url": "https://evil.example"}, ["body.url", "Extra inputs"]),
        ({"route": {"CRITICAL": [""]}}, ["body.route.CRITICAL.0"]),
    ],
)
def test_a_channel_not_configured_for_the_user_is_a_422_naming_the_field(
    prefs_api: tuple[TestClient, NotifierConfig], body: dict[str, Any], names: list[str]
) -> None:
    client, notifier = prefs_api
    trader = login(client, "trader")
    answer = client.put(PREFS, headers=trader, json=body)
    assert answer.status_code == 422, answer.text
    for name in names:
        assert name in answer.json()["detail"]
    assert notifier.preferences_file is not None
    assert not notifier.preferences_file.exists()


def test_every_change_is_audited(
    api_config: ApiConfig, api_db_url: str, tmp_path: Path, clickhouse: Client
) -> None:
    notifier = notifier_config("http://127.0.0.1:9", tmp_path / "preferences.json")
    with (
        api_services(
            api_config, clickhouse_url=api_db_url, bootstrap=None, codec=Codec(), notifier=notifier
        ) as services,
        TestClient(create_app(services)) as client,
    ):
        admin, viewer = login(client, "admin"), login(client, "viewer")
        body = {"route": {"CRITICAL": ["desk"], "ERROR": []}, "muted": False}
        assert client.put(f"{PREFS}/trader", headers=admin, json=body).status_code == 200
        assert client.put(f"{PREFS}/trader", headers=viewer, json=body).status_code == 403
        bad = {"route": {"CRITICAL": ["pager"]}}
        assert client.put(PREFS, headers=viewer, json=bad).status_code == 422

    def rows() -> list[Sequence[Any]]:
        return list(
            clickhouse.query(
                "SELECT user, method, route, status, detail FROM api_audit "
                "WHERE route LIKE '/v1/notifications/%' ORDER BY ts"
            ).result_rows
        )

    wait_for(lambda: len(rows()) == 3)
    changed, denied, invalid = rows()
    assert changed[:4] == ("admin", "PUT", f"{PREFS}/{{user}}", 200)
    assert changed[4] == "notification preferences of trader: ERROR=-, CRITICAL=desk; muted=False"
    assert denied[:4] == ("viewer", "PUT", f"{PREFS}/{{user}}", 403)
    assert invalid[:4] == ("viewer", "PUT", PREFS, 422)
    assert "route.CRITICAL: 'pager' is not a channel configured for user 'viewer'" in invalid[4]


def _alert(alert_id: str) -> Alert:
    return Alert(
        alert_id=alert_id,
        severity="CRITICAL",
        source="positions",
        code="LOSS_LIMIT",
        message="account desk PnL -1200.50 at or below -1000",
        labels={"account": "desk", "n": alert_id},  # distinct: not folded as duplicates
        event_ts_ns=time.time_ns(),
    )


def trader_posts(posts: Sequence[Post]) -> list[Post]:
    """The posts to the trader's channels (the viewer gets CRITICAL alerts too)."""
    return [p for p in posts if p.path != "/viewer"]


def test_a_change_over_the_api_reaches_the_running_notifier(
    api_config: ApiConfig, api_db_url: str, tmp_path: Path
) -> None:
    with webhook_receiver({}) as hooks:
        notifier_cfg = notifier_config(hooks.url, tmp_path / "preferences.json")
        notifier = Notifier(notifier_cfg)
        assert notifier.notify(_alert("a1")) == []  # the configured route: desk and ops
        assert [p.path for p in trader_posts(hooks.posts)] == ["/desk", "/ops"]

        with (
            api_services(
                api_config,
                clickhouse_url=api_db_url,
                bootstrap=None,
                codec=Codec(),
                notifier=notifier_cfg,
            ) as services,
            TestClient(create_app(services)) as client,
        ):
            trader = login(client, "trader")
            body: dict[str, Any] = {"route": {"CRITICAL": ["ops"]}}
            assert client.put(PREFS, headers=trader, json=body).status_code == 200
            assert notifier.notify(_alert("a2")) == []  # reloaded: ops only
            assert [p.path for p in trader_posts(hooks.posts)[2:]] == ["/ops"]
            muted = {"route": {"CRITICAL": ["desk"]}, "muted": True}
            assert client.put(PREFS, headers=trader, json=muted).status_code == 200
            assert notifier.notify(_alert("a3")) == []
            assert len(trader_posts(hooks.posts)) == 3  # muted: nothing more sent
            body = {"route": {"CRITICAL": ["desk"]}, "muted": False}
            assert client.put(PREFS, headers=trader, json=body).status_code == 200
        assert notifier.notify(_alert("a4")) == []
        assert [p.path for p in trader_posts(hooks.posts)[3:]] == ["/desk"]
        assert [p.body["alert"]["alert_id"] for p in trader_posts(hooks.posts)] == [
            "a1",
            "a1",
            "a2",
            "a4",
        ]
        assert len(hooks.bodies("/viewer")) == 4  # another user's choices change nothing here
