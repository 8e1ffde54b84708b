"""Notifications: Tapewire's own alerts delivered to people (pure core, no network).

An :class:`~tapewire.records.risk.Alert` (topic ``alerts``, or derived here from fills,
feed coverage and positions: :mod:`.derive`) is de-duplicated (:mod:`.dedup`), routed to
the channels each user chose for its severity (:mod:`.routing`, configured by
:mod:`.config`), rendered as a webhook body or an e-mail (:mod:`.render`) and delivered
with bounded retries (:mod:`.retry`). The network shell is :mod:`tapewire.sinks.notify`;
the design is in ``docs/notifications.md``.
"""

from tapewire.streams.notify.config import (
    EmailChannel,
    NotifierConfig,
    RetrySection,
    SmtpSection,
    UserPreferences,
    WebhookChannel,
)
from tapewire.streams.notify.dedup import Deduplicator, alert_key
from tapewire.streams.notify.derive import AlertDeriver
from tapewire.streams.notify.errors import DeliveryError
from tapewire.streams.notify.render import email_message, webhook_body
from tapewire.streams.notify.retry import Outcome, RetryPolicy, deliver_with_retry
from tapewire.streams.notify.routing import Route, route

__all__ = [
    "AlertDeriver",
    "Deduplicator",
    "DeliveryError",
    "EmailChannel",
    "NotifierConfig",
    "Outcome",
    "RetryPolicy",
    "RetrySection",
    "Route",
    "SmtpSection",
    "UserPreferences",
    "WebhookChannel",
    "alert_key",
    "deliver_with_retry",
    "email_message",
    "route",
    "webhook_body",
]
