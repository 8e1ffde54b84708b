"""The notifier without Kafka: an alert in, deliveries out, the failures returned.

:class:`Notifier` applies the pure core in order: too old (``max_age_s``)? a duplicate
(:class:`~tapewire.streams.notify.Deduplicator`)? routed to whom
(:func:`~tapewire.streams.notify.route`)? Then each delivery is rendered and tried under
the retry policy; every delivery that still failed is returned as a :class:`Failure` for
the caller to dead-letter. Secrets (webhook URLs from the environment, the SMTP
password) are read once, when the notifier is built: a missing variable fails the start.
The users' own choices (``[notifier] preferences_file``) are read at start (an invalid file
fails it) and again before an alert whenever the file changed; an invalid file met later
is logged and the previous choices stay in force.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from pydantic import SecretStr

from tapewire.core import metrics
from tapewire.core.errors import ConfigError
from tapewire.records.risk import Alert
from tapewire.sinks.notify.preferences import PreferencesFile
from tapewire.sinks.notify.smtp import send_email
from tapewire.sinks.notify.webhook import post_json
from tapewire.streams.notify import (
    Deduplicator,
    DeliveryError,
    EmailChannel,
    NotifierConfig,
    Outcome,
    RetryPolicy,
    Route,
    alert_key,
    deliver_with_retry,
    email_message,
    route,
    webhook_body,
)
from tapewire.streams.notify.config import UserPreferences
from tapewire.streams.notify.preferences import PreferencesDocument, effective

log = logging.getLogger(__name__)

NS = 1_000_000_000


@dataclass(frozen=True)
class Failure:
    """A delivery that did not happen: which alert, to whom, and why."""

    alert: Alert
    route: Route
    outcome: Outcome


@dataclass
class NotifierStats:
    """Counts of one notifier: alerts seen, not sent (and why), deliveries."""

    alerts: int = 0
    duplicates: int = 0
    stale: int = 0
    unrouted: int = 0
    delivered: int = 0
    failed: int = 0
    attempts: dict[str, int] = field(default_factory=dict)


class Notifier:
    """De-duplicate, route, render and deliver alerts (see the module doc).

    ``sleep(seconds)`` waits between retries and returns True to give up (a stopping
    process: ``threading.Event.wait``); ``clock`` gives UTC ns for ``max_age_s``.
    """

    def __init__(
        self,
        config: NotifierConfig,
        *,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], int] = time.time_ns,
        sleep: Callable[[float], Any] = time.sleep,
    ) -> None:
        self.config = config
        self.stats = NotifierStats()
        self._clock = clock
        self._sleep = sleep
        self._dedup = Deduplicator(round(config.dedup_window_s * NS))
        retry = config.retry
        self._policy = RetryPolicy(
            retry.attempts, retry.backoff_s, retry.multiplier, retry.backoff_max_s
        )
        self._urls: dict[tuple[str, str], SecretStr] = {}
        for user, prefs in config.users.items():
            for name, channel in prefs.channels.items():
                if not isinstance(channel, EmailChannel):
                    where = f"notifier.users.{user}.channels.{name}"
                    self._urls[user, name] = channel.resolved_url(where, environ)
        self._smtp_password = None if config.smtp is None else config.smtp.password(environ)
        self.users: dict[str, UserPreferences] = dict(config.users)
        """The users' preferences in force: ``[notifier.users]`` with their own choices."""
        path = config.preferences_file
        self._preferences = None if path is None else PreferencesFile(path)
        if self._preferences is not None:
            document = self._preferences.reload()
            assert document is not None  # the first reload always reads
            self._apply(document)

    def _reload_preferences(self) -> None:
        if self._preferences is None:
            return
        try:
            document = self._preferences.reload()
        except ConfigError as exc:
            log.error("notifier: preferences not reloaded, previous ones kept: %s", exc)
            return
        if document is not None:
            self._apply(document)

    def _apply(self, document: PreferencesDocument) -> None:
        self.users, ignored = effective(self.config.users, document)
        for reason in ignored:
            log.warning("notifier: preferences: %s", reason)
        log.info("notifier: preferences of %d user(s) applied", len(document.users))

    def notify(self, alert: Alert) -> list[Failure]:
        """Deliver ``alert`` to every channel it is routed to; the deliveries that failed."""
        stats = self.stats
        stats.alerts += 1
        max_age = self.config.max_age_s
        if max_age is not None and self._clock() - alert.event_ts_ns > max_age * NS:
            stats.stale += 1
            metrics.alerts_not_notified.labels("stale").inc()
            return []
        if not self._dedup.admit(alert_key(alert), alert.event_ts_ns):
            stats.duplicates += 1
            metrics.alerts_not_notified.labels("duplicate").inc()
            return []
        self._reload_preferences()
        routes = route(alert, self.users)
        if not routes:
            stats.unrouted += 1
            metrics.alerts_not_notified.labels("unrouted").inc()
            return []
        failures = []
        for target in routes:
            kind = target.channel.kind
            outcome = deliver_with_retry(
                partial(self._attempt, target, alert), self._policy, self._sleep
            )
            if outcome.delivered:
                stats.delivered += 1
                metrics.notifications.labels(kind, "delivered").inc()
                continue
            if not outcome.stopped:
                stats.failed += 1
                metrics.notifications.labels(kind, "failed").inc()
                log.warning("notifier: %s not delivered: %s", target.label, outcome.reason)
            failures.append(Failure(alert, target, outcome))
        return failures

    def _attempt(self, target: Route, alert: Alert) -> None:
        kind = target.channel.kind
        self.stats.attempts[kind] = self.stats.attempts.get(kind, 0) + 1
        try:
            self._send(target, alert)
        except DeliveryError as exc:
            result = "retryable" if exc.retryable else "refused"
            metrics.notification_attempts.labels(kind, result).inc()
            raise
        metrics.notification_attempts.labels(kind, "ok").inc()

    def _send(self, target: Route, alert: Alert) -> None:
        channel = target.channel
        if isinstance(channel, EmailChannel):
            smtp = self.config.smtp
            assert smtp is not None  # NotifierConfig requires it for e-mail channels
            message = email_message(alert, sender=smtp.sender, to=channel.to, user=target.user)
            send_email(smtp, self._smtp_password, message, label=target.label)
            return
        body = webhook_body(alert, channel.format, user=target.user, chat_id=channel.chat_id)
        url = self._urls[target.user, target.channel_name].get_secret_value()
        post_json(url, body, timeout_s=self.config.retry.timeout_s, label=target.label)
