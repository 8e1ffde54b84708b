"""Notification preferences over the API: users choose among the channels an administrator
configured for them (``[notifier.users]``), per severity, or mute; never a new address.

The choices go to ``[notifier] preferences_file`` (written atomically,
:class:`~tapewire.sinks.notify.preferences.PreferencesFile`), which the notifier reloads
when it changes. Answers name channels and their kind only, never a URL or an address.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from tapewire.api.errors import ApiError, NotFoundError, UnavailableError
from tapewire.core.errors import ConfigError
from tapewire.sinks.notify.preferences import PreferencesFile
from tapewire.streams.notify.config import SEVERITIES, NotifierConfig, Severity, UserPreferences
from tapewire.streams.notify.preferences import (
    ChannelName,
    PreferenceError,
    UserChoice,
    check_route,
)

MAX_CHANNELS = 32


class PreferenceInvalidError(ApiError):
    """A choice names a channel not configured for the user (422, naming the field)."""

    status = 422


class PreferencesBody(BaseModel):
    """``PUT /v1/notifications/preferences``: the channels (by name, among yours) that
    carry each severity; a severity left out is not sent. ``muted``: nothing is sent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    route: dict[Severity, Annotated[list[ChannelName], Field(max_length=MAX_CHANNELS)]]
    muted: bool = False


class ChannelOut(BaseModel):
    """A channel configured for the user: its name and kind (never its URL or address)."""

    model_config = ConfigDict(frozen=True)

    name: str
    kind: Literal["webhook", "email"]


class PreferencesOut(BaseModel):
    """A user's notification preferences in force. ``source``: ``config`` (the
    administrator's route) or ``user`` (a choice made over the API); ``route`` is shown
    even when ``muted`` (then nothing is sent)."""

    model_config = ConfigDict(frozen=True)

    user: str
    channels: list[ChannelOut]
    route: dict[Severity, list[str]]
    muted: bool
    source: Literal["config", "user"]
    updated_ts_ns: int | None
    updated_by: str | None


class NotificationPreferences:
    """Read and change users' choices in ``config.preferences_file``."""

    def __init__(self, config: NotifierConfig, file: PreferencesFile) -> None:
        self._config = config
        self._file = file

    def get(self, user: str) -> PreferencesOut:
        """``user``'s preferences in force (404 if the notifier has no such user)."""
        prefs = self._configured(user)
        try:
            choice = self._file.read().users.get(user)
        except ConfigError as exc:
            raise UnavailableError(f"preferences file unreadable: {exc}") from None
        return _out(user, prefs, choice)

    def put(self, user: str, body: PreferencesBody, *, by: str, now_ns: int) -> PreferencesOut:
        """Replace ``user``'s choice (422 naming the field for an unknown channel)."""
        prefs = self._configured(user)
        route = {s: tuple(body.route[s]) for s in SEVERITIES if s in body.route}
        try:
            check_route(user, prefs, route)
        except PreferenceError as exc:
            raise PreferenceInvalidError(
                f"{exc.message} (got {exc.value!r})", hint=exc.hint
            ) from None
        choice = UserChoice(route=route, muted=body.muted, updated_ts_ns=now_ns, updated_by=by)
        try:
            self._file.update(user, choice)
        except (ConfigError, OSError) as exc:
            raise UnavailableError(f"preferences file not written: {exc}") from None
        return _out(user, prefs, choice)

    def _configured(self, user: str) -> UserPreferences:
        prefs = self._config.users.get(user)
        if prefs is None:
            raise NotFoundError(
                f"no notification channels are configured for user {user!r}",
                hint="an administrator adds them in [notifier.users]",
            )
        return prefs


def _out(user: str, prefs: UserPreferences, choice: UserChoice | None) -> PreferencesOut:
    # a stored choice naming a channel no longer configured is not in force (as in the notifier)
    in_force = choice
    if choice is not None:
        try:
            check_route(user, prefs, choice.route)
        except PreferenceError:
            in_force = None
    route = prefs.route if in_force is None else in_force.route  # shown even when muted
    return PreferencesOut(
        user=user,
        channels=[ChannelOut(name=n, kind=c.kind) for n, c in sorted(prefs.channels.items())],
        route={s: list(dict.fromkeys(route[s])) for s in SEVERITIES if s in route},
        muted=in_force.muted if in_force else False,
        source="user" if in_force else "config",
        updated_ts_ns=in_force.updated_ts_ns if in_force else None,
        updated_by=in_force.updated_by if in_force else None,
    )
