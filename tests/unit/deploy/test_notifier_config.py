"""``[notifier]`` in the deployment file: checked at start, errors name the key."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tapewire.core.errors import ConfigError
from tapewire.deploy.acl import ROLE_ACCESS
from tapewire.deploy.config import load_config, parse_config
from tapewire.sinks.notify.dispatch import Notifier
from tapewire.sinks.notify.role import input_topics

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "notifier.toml"
ENV = {
    "TAPEWIRE_SLACK_URL_ALICE": "https://hooks.slack.test/T0/B0/x",
    "TAPEWIRE_SMTP_PASSWORD": "pw",
}


def _example() -> dict[str, Any]:
    return tomllib.loads(EXAMPLE.read_text())


def test_the_example_file_loads_and_its_secrets_come_from_the_environment() -> None:
    config = load_config(EXAMPLE)
    assert config.roles() == ("notifier",)
    section = config.notifier
    assert section is not None
    assert sorted(section.users) == ["alice", "risk-desk"]
    assert section.users["alice"].route["WARNING"] == ("slack",)
    assert section.preferences_file == EXAMPLE.parent / "notifier-preferences.json"
    Notifier(section, environ=ENV)  # every secret resolves
    with pytest.raises(ConfigError) as err:
        Notifier(section, environ={"TAPEWIRE_SMTP_PASSWORD": "pw"})
    assert err.value.field == "notifier.users.alice.channels.slack.url_env"
    assert "TAPEWIRE_SLACK_URL_ALICE is not set" in err.value.message
    with pytest.raises(ConfigError) as err:
        Notifier(section, environ={"TAPEWIRE_SLACK_URL_ALICE": "https://h.test/x"})
    assert err.value.field == "notifier.smtp.password_env"


def test_the_role_reads_what_its_acl_row_grants() -> None:
    config = load_config(EXAMPLE)
    assert config.notifier is not None
    assert set(input_topics(config.notifier)) <= set(ROLE_ACCESS["notifier"].reads)
    assert ROLE_ACCESS["notifier"].writes == ("dlq.notifier",)


def _alice(d: dict[str, Any]) -> dict[str, Any]:
    return d["notifier"]["users"]["alice"]  # type: ignore[no-any-return]


BAD: list[tuple[Callable[[dict[str, Any]], object], str, str]] = [
    (
        lambda d: _alice(d)["route"].update(CRITICAL=["slack", "pager"]),
        "notifier.users.alice",
        "route.CRITICAL: unknown channel 'pager'",
    ),
    (
        lambda d: _alice(d)["route"].update(FATAL=["slack"]),
        "notifier.users.alice.route.FATAL",
        "'INFO', 'WARNING', 'ERROR' or 'CRITICAL'",
    ),
    (
        lambda d: _alice(d)["channels"]["mail"].update(to=["alice"]),
        "notifier.users.alice.channels.mail.to",
        "'alice' is not an e-mail address",
    ),
    (
        lambda d: _alice(d)["channels"]["slack"].update(url="https://x.test/h"),
        "notifier.users.alice.channels.slack",
        "give exactly one of url and url_env",
    ),
    (
        lambda d: d["notifier"]["users"]["risk-desk"]["channels"]["hook"].update(
            url="ftp://secret-token@x.test/"
        ),
        "notifier.users.risk-desk.channels.hook.url",
        "is not an http:// or https:// URL",
    ),
    (
        lambda d: _alice(d)["channels"]["slack"].update(format="telegram"),
        "notifier.users.alice.channels.slack",
        "format telegram needs chat_id",
    ),
    (
        lambda d: _alice(d)["channels"].update(sms={"kind": "sms"}),
        "notifier.users.alice.channels.sms",
        "'webhook', 'email'",
    ),
    (
        lambda d: d["notifier"]["smtp"].update(password="hunter2"),
        "notifier.smtp",
        "a password is never written in the file",
    ),
    (lambda d: d["notifier"].pop("smtp"), "notifier", "add [notifier.smtp]"),
    (
        lambda d: d["notifier"]["retry"].update(attempts=0),
        "notifier.retry.attempts",
        "greater than or equal to 1",
    ),
    (lambda d: d["notifier"].update(derive=["pnl"]), "notifier.derive.0", "'fills'"),
    (lambda d: d["notifier"].update(users={}), "notifier.users", "at least 1 item"),
    (lambda d: d["notifier"].update(colour="red"), "notifier.colour", "Extra inputs"),
]


@pytest.mark.parametrize(("change", "path", "text"), BAD)
def test_a_bad_key_is_named(
    change: Callable[[dict[str, Any]], object], path: str, text: str
) -> None:
    data = copy.deepcopy(_example())
    change(data)
    with pytest.raises(ConfigError) as err:
        parse_config(data, "notifier.toml")
    assert err.value.field == path
    assert text in err.value.message
    assert "secret-token" not in str(err.value.message) + repr(err.value.value)
    assert "hunter2" not in str(err.value.message) + repr(err.value.value)
