"""``[notifier]``: who gets which alerts, on which channels, and how they are delivered.

Users name their channels (a webhook or an e-mail address) and, per severity, the
channels that carry it. Secrets are never written in the file: a webhook URL that holds
a token (Slack, Telegram) is read from the environment variable ``url_env`` names, the
SMTP password from ``password_env``. Every model is frozen and rejects unknown keys; the
deployment file's loader turns a validation error into a ``ConfigError`` naming the key
(``notifier.users.alice.route.CRITICAL``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from tapewire.core.errors import ConfigError

Severity = Literal["INFO", "WARNING", "ERROR", "CRITICAL"]
SEVERITIES: tuple[Severity, ...] = ("INFO", "WARNING", "ERROR", "CRITICAL")
Derived = Literal["fills", "feed_health", "daily_pnl"]
"""Alerts the notifier derives itself: from ``oms.fills``, ``md.coverage``, ``positions``."""

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ADDRESS = re.compile(r"^[^@\s<>,]+@[^@\s<>,]+$")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _env_name(value: str | None) -> str | None:
    if value is not None and not _ENV_NAME.match(value):
        raise ValueError(f"{value!r} is not an environment variable name (letters, digits, _)")
    return value


def _from_env(variable: str, key: str, environ: Mapping[str, str] | None) -> SecretStr:
    value = (os.environ if environ is None else environ).get(variable, "")
    if not value:
        raise ConfigError(
            f"{key}: environment variable {variable} is not set",
            field=key,
            value=variable,
            hint=f"export {variable} before starting the notifier",
        )
    return SecretStr(value)


class WebhookChannel(_Model):
    """An HTTP(S) endpoint that receives a JSON POST per alert.

    ``format``: ``slack`` (``{"text": ...}``, Slack/Mattermost/Discord-compatible incoming
    webhooks), ``telegram`` (``{"chat_id", "text"}`` for the Bot API's ``sendMessage``),
    ``json`` (every field of the alert). The URL is given as ``url`` or, when it holds a
    token, as the name of the environment variable holding it (``url_env``).
    """

    kind: Literal["webhook"]
    url: SecretStr | None = None
    url_env: str | None = None
    format: Literal["slack", "telegram", "json"] = "slack"
    chat_id: str | None = Field(default=None, description="telegram: the chat to post to")

    @field_validator("url_env")
    @classmethod
    def _url_env(cls, value: str | None) -> str | None:
        return _env_name(value)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _check_url(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _one_url(self) -> WebhookChannel:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of url and url_env")
        if self.format == "telegram" and not self.chat_id:
            raise ValueError("format telegram needs chat_id")
        return self

    def resolved_url(self, where: str, environ: Mapping[str, str] | None = None) -> SecretStr:
        """The URL: ``url``, or read now from ``url_env`` (``ConfigError`` if unset or bad)."""
        if self.url is not None:
            return self.url
        assert self.url_env is not None
        url = _from_env(self.url_env, f"{where}.url_env", environ)
        try:
            _check_url(url.get_secret_value())
        except ValueError as exc:
            raise ConfigError(
                f"{where}.url_env: ${self.url_env} {exc}",
                field=f"{where}.url_env",
                value=self.url_env,
                hint="set the variable to the webhook's http(s) URL",
            ) from None
        return url


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # never echo the URL: it may carry a token
        raise ValueError("is not an http:// or https:// URL with a host")


class EmailChannel(_Model):
    """E-mail to one or more addresses, sent through ``[notifier.smtp]``."""

    kind: Literal["email"]
    to: tuple[str, ...] = Field(min_length=1)

    @field_validator("to", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for address in value:
            if not _ADDRESS.match(address):
                raise ValueError(f"{address!r} is not an e-mail address (name@domain)")
        return value


Channel = Annotated[WebhookChannel | EmailChannel, Field(discriminator="kind")]


class UserPreferences(_Model):
    """``[notifier.users.<name>]``: a user's channels and which severities each carries.

    ``route`` maps a severity to channel names (``CRITICAL = ["slack", "mail"]``); a
    severity not listed is not sent to this user. ``accounts``: only alerts about these
    accounts (alerts without an ``account`` label, like feed health, always pass); empty:
    every account. ``codes``: only alerts with these codes; empty: every code.
    """

    channels: dict[str, Channel] = Field(min_length=1)
    route: dict[Severity, tuple[str, ...]] = Field(min_length=1)
    accounts: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _known_channels(self) -> UserPreferences:
        for severity, names in self.route.items():
            unknown = [n for n in names if n not in self.channels]
            if unknown:
                raise ValueError(
                    f"route.{severity}: unknown channel {unknown[0]!r}; "
                    f"channels are {', '.join(sorted(self.channels))}"
                )
        return self


class SmtpSection(_Model):
    """``[notifier.smtp]``: the mail server. ``security``: ``starttls`` (port 587),
    ``ssl`` (implicit TLS, port 465) or ``none`` (a relay on a trusted network)."""

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password_env: str | None = None
    sender: str = Field(description="the From address")
    timeout_s: float = Field(default=10.0, gt=0)

    @field_validator("password_env")
    @classmethod
    def _password_env(cls, value: str | None) -> str | None:
        return _env_name(value)

    @model_validator(mode="before")
    @classmethod
    def _no_password_in_file(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "password" in data:
            raise ValueError(
                "password: a password is never written in the file; name the environment "
                "variable that holds it with password_env"
            )
        return data

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        if not _ADDRESS.match(value):
            raise ValueError(f"{value!r} is not an e-mail address (name@domain)")
        return value

    @model_validator(mode="after")
    def _login(self) -> SmtpSection:
        if (self.username is None) != (self.password_env is None):
            raise ValueError("username and password_env go together (both or neither)")
        return self

    def password(self, environ: Mapping[str, str] | None = None) -> SecretStr | None:
        """The SMTP password read now from ``password_env`` (None: no login)."""
        if self.password_env is None:
            return None
        return _from_env(self.password_env, "notifier.smtp.password_env", environ)


class RetrySection(_Model):
    """``[notifier.retry]``: at most ``attempts`` tries per delivery, waiting
    ``backoff_s`` x ``multiplier``^n (at most ``backoff_max_s``) in between; each try
    gives up after ``timeout_s``. A delivery still failing then becomes a dead letter."""

    attempts: int = Field(default=4, ge=1, le=20)
    backoff_s: float = Field(default=0.5, ge=0)
    multiplier: float = Field(default=2.0, ge=1)
    backoff_max_s: float = Field(default=10.0, ge=0)
    timeout_s: float = Field(default=5.0, gt=0)


class NotifierConfig(_Model):
    """``[notifier]``: the notifier role (``docs/notifications.md``).

    ``dedup_window_s``: alerts with the same key (source, code, severity, labels) within this
    many seconds of event time are sent once. ``max_age_s``: alerts older than this (event
    time against the clock) are not sent (a new consumer group starts at the beginning
    of the topics). ``derive``: the alerts the notifier makes itself from other topics.
    ``preferences_file``: the users' own choices among their channels
    (:mod:`.preferences`), written by the API and reloaded by the notifier.
    """

    users: dict[str, UserPreferences] = Field(min_length=1)
    smtp: SmtpSection | None = None
    retry: RetrySection = Field(default_factory=RetrySection)
    dedup_window_s: float = Field(default=300.0, ge=0)
    max_age_s: float | None = Field(default=3600.0, gt=0)
    derive: tuple[Derived, ...] = ("fills", "feed_health", "daily_pnl")
    preferences_file: Path | None = Field(
        default=None,
        description="JSON file of the users' own choices (written by the API, reloaded when "
        "it changes); relative to the deployment file",
    )

    @model_validator(mode="after")
    def _smtp_for_email(self) -> NotifierConfig:
        if self.smtp is None:
            for user, prefs in self.users.items():
                for name, channel in prefs.channels.items():
                    if isinstance(channel, EmailChannel):
                        raise ValueError(
                            f"users.{user}.channels.{name} is an e-mail channel: "
                            "add [notifier.smtp] (host, port, security, sender)"
                        )
        return self
