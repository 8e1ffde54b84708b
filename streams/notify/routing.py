"""Routing: which users' channels an alert goes to, by severity and the users' filters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tapewire.records.risk import Alert
from tapewire.streams.notify.config import EmailChannel, UserPreferences, WebhookChannel


@dataclass(frozen=True)
class Route:
    """One delivery to make: ``user``'s channel ``channel_name``."""

    user: str
    channel_name: str
    channel: WebhookChannel | EmailChannel

    @property
    def label(self) -> str:
        """``user/channel`` (never the URL or address)."""
        return f"{self.user}/{self.channel_name}"


def wants(prefs: UserPreferences, alert: Alert) -> bool:
    """Whether a user's ``accounts`` and ``codes`` filters let ``alert`` through."""
    if prefs.codes and alert.code not in prefs.codes:
        return False
    account = alert.labels.get("account")
    return not (prefs.accounts and account is not None and account not in prefs.accounts)


def route(alert: Alert, users: Mapping[str, UserPreferences]) -> list[Route]:
    """Every (user, channel) that should receive ``alert``, users in name order, each
    channel once per user even if listed twice."""
    routes: list[Route] = []
    for user in sorted(users):
        prefs = users[user]
        if not wants(prefs, alert):
            continue
        names = next((n for sev, n in prefs.route.items() if sev == alert.severity), ())
        for name in dict.fromkeys(names):
            routes.append(Route(user, name, prefs.channels[name]))
    return routes
