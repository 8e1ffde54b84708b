"""Users' own notification preferences, layered over ``[notifier]`` (pure, no file I/O).

An administrator configures each user's channels (webhooks, e-mail addresses) and a
default ``route`` in ``[notifier.users.<name>]``. A user may then choose, among those
channels only, which ones carry each severity, and mute everything: a :class:`UserChoice`.
The choices of every user form one :class:`PreferencesDocument` (the preferences file,
JSON); :func:`effective` applies it to the configured users. A choice naming a channel
that is not (or no longer) configured for its user is refused when made
(:func:`check_route`) and ignored with a reason when applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from tapewire.core.errors import TapewireError
from tapewire.streams.notify.config import SEVERITIES, Severity, UserPreferences

ChannelName = Annotated[str, Field(min_length=1, max_length=64)]


class PreferenceError(TapewireError):
    """A choice is not allowed: ``field`` (``route.CRITICAL``) and ``value`` name it."""

    def __init__(self, message: str, *, field: str, value: object, hint: str) -> None:
        super().__init__(message, hint=hint)
        self.field = field
        self.value = value


class UserChoice(BaseModel):
    """One user's choice: channels per severity (a severity not listed is not sent) and
    ``muted`` (nothing is sent). ``updated_*``: who made it, when (UTC ns)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    route: dict[Severity, tuple[ChannelName, ...]]
    muted: bool = False
    updated_ts_ns: int = Field(default=0, ge=0)
    updated_by: str = ""


class PreferencesDocument(BaseModel):
    """The preferences file: every user's :class:`UserChoice` by user name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    users: dict[str, UserChoice] = Field(default_factory=dict)


def check_route(
    user: str, prefs: UserPreferences, route: Mapping[Severity, tuple[str, ...]]
) -> None:
    """:class:`PreferenceError` unless every channel of ``route`` is one configured for
    ``user`` (never an address or URL of the user's own)."""
    for severity in SEVERITIES:
        for name in route.get(severity, ()):
            if name not in prefs.channels:
                raise PreferenceError(
                    f"route.{severity}: {name!r} is not a channel configured for user {user!r}",
                    field=f"route.{severity}",
                    value=name,
                    hint=f"choose among {', '.join(sorted(prefs.channels))}; an administrator "
                    "adds channels in [notifier.users]",
                )


def apply_choice(prefs: UserPreferences, choice: UserChoice | None) -> UserPreferences:
    """``prefs`` with ``choice``'s route (an empty one when muted); unchanged if None."""
    if choice is None:
        return prefs
    route = {} if choice.muted else {s: tuple(dict.fromkeys(n)) for s, n in choice.route.items()}
    # model_copy does not validate: an empty route (muted) is allowed here on purpose
    return prefs.model_copy(update={"route": route})


def effective(
    users: Mapping[str, UserPreferences], document: PreferencesDocument
) -> tuple[dict[str, UserPreferences], list[str]]:
    """The users' preferences after their choices, and why any choice was ignored (a
    user or channel no longer configured: that user keeps the configured route)."""
    result = dict(users)
    ignored: list[str] = []
    for user, choice in document.users.items():
        prefs = users.get(user)
        if prefs is None:
            ignored.append(f"users.{user}: not a user of [notifier.users]; choice ignored")
            continue
        try:
            check_route(user, prefs, choice.route)
        except PreferenceError as exc:
            ignored.append(f"users.{user}.{exc.field}: {exc.message}; configured route kept")
            continue
        result[user] = apply_choice(prefs, choice)
    return result, ignored
