"""Users' choices over ``[notifier.users]``: only configured channels, mute, stale choices
ignored with a reason; the preferences file written atomically and reloaded on change."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import pytest

from tapewire.core.errors import ConfigError
from tapewire.sinks.notify.dispatch import Notifier
from tapewire.sinks.notify.preferences import PreferencesFile
from tapewire.streams.notify import NotifierConfig, UserPreferences, route
from tapewire.streams.notify.preferences import (
    PreferenceError,
    PreferencesDocument,
    UserChoice,
    check_route,
    effective,
)
from tests.unit.streams.notify.test_core import alert

HOOK = {"kind": "webhook", "url": "https://hooks.example/a", "format": "json"}


def config(preferences: Path | None = None) -> NotifierConfig:
    return NotifierConfig.model_validate(
        {
            "preferences_file": preferences,
            "users": {
                "alice": {
                    "channels": {"slack": HOOK, "ops": HOOK},
                    "route": {"CRITICAL": ["slack", "ops"], "WARNING": ["slack"]},
                },
                "bob": {"channels": {"hook": HOOK}, "route": {"CRITICAL": ["hook"]}},
            },
        }
    )


def targets(users: Mapping[str, UserPreferences], severity: str = "CRITICAL") -> list[str]:
    return [r.label for r in route(alert(severity), users)]


def test_only_configured_channels_may_be_chosen() -> None:
    prefs = config().users["alice"]
    check_route("alice", prefs, {"CRITICAL": ("ops",)})
    with pytest.raises(PreferenceError) as caught:
        check_route("alice", prefs, {"WARNING": ("slack",), "ERROR": ("mailto:me@evil.example",)})
    assert caught.value.field == "route.ERROR"
    assert caught.value.value == "mailto:me@evil.example"
    assert "choose among ops, slack" in str(caught.value)


def test_choices_replace_the_route_mute_silences_stale_ones_are_ignored() -> None:
    document = PreferencesDocument(
        users={
            "alice": UserChoice(route={"CRITICAL": ("ops", "ops"), "INFO": ("slack",)}),
            "bob": UserChoice(route={"CRITICAL": ("gone",)}),  # channel removed by the admin
            "carol": UserChoice(route={}, muted=True),  # no longer a notifier user
        }
    )
    users, ignored = effective(config().users, document)
    assert targets(users) == ["alice/ops", "bob/hook"]  # bob keeps the configured route
    assert targets(users, "INFO") == ["alice/slack"]
    assert targets(users, "WARNING") == []
    assert ignored == [
        "users.bob.route.CRITICAL: route.CRITICAL: 'gone' is not a channel configured for "
        "user 'bob'; configured route kept",
        "users.carol: not a user of [notifier.users]; choice ignored",
    ]
    muted = PreferencesDocument(
        users={"alice": UserChoice(route={"CRITICAL": ("ops",)}, muted=True)}
    )
    users, ignored = effective(config().users, muted)
    assert (targets(users), ignored) == (["bob/hook"], [])


def test_file_written_atomically_and_reloaded_only_when_changed(tmp_path: Path) -> None:
    path = tmp_path / "preferences.json"
    reader, writer = PreferencesFile(path), PreferencesFile(path)
    assert reader.reload() == PreferencesDocument()  # missing: no choices
    assert reader.reload() is None
    writer.update("alice", UserChoice(route={"CRITICAL": ("ops",)}))
    first = reader.reload()
    assert first is not None
    assert first.users["alice"].route == {"CRITICAL": ("ops",)}
    assert reader.reload() is None
    writer.update("bob", UserChoice(route={}, muted=True))  # same second, same size or not
    second = reader.reload()
    assert second is not None
    assert sorted(second.users) == ["alice", "bob"]
    writer.update("alice", None)
    third = reader.reload()
    assert third is not None
    assert sorted(third.users) == ["bob"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name, f"{path.name}.lock"]


def test_notifier_follows_the_file_and_keeps_the_last_good_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "preferences.json"
    notifier = Notifier(config(path))
    assert targets(notifier.users) == ["alice/slack", "alice/ops", "bob/hook"]
    PreferencesFile(path).update("alice", UserChoice(route={"CRITICAL": ("slack",)}))
    notifier._reload_preferences()
    assert targets(notifier.users) == ["alice/slack", "bob/hook"]

    path.write_text('{"version": 1, "users": {"alice": {"route": {"PANIC": []}}}}')
    with caplog.at_level(logging.ERROR, logger="tapewire.sinks.notify.dispatch"):
        notifier._reload_preferences()
    assert "users.alice.route.PANIC.[key]" in caplog.text
    assert targets(notifier.users) == ["alice/slack", "bob/hook"]  # the last good choices

    with pytest.raises(ConfigError) as caught:  # an invalid file at start stops the start
        Notifier(config(path))
    assert caught.value.field == "users.alice.route.PANIC.[key]"
