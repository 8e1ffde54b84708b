"""What a notification looks like: webhook JSON bodies and e-mail messages.

One plain-text summary (:func:`summary`) is shared by every format, so Slack, Telegram
and e-mail say the same thing: ``[CRITICAL] LOSS_LIMIT (positions) account desk PnL
-1200.5 at or below -1000`` and a line of labels and the UTC time. Times are printed from
integer nanoseconds without floats.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from typing import Any, Literal

from tapewire.records.risk import Alert

NS = 1_000_000_000
SUBJECT_CHARS = 120
POLICY = SMTP.clone(max_line_length=998)
"""CRLF lines; headers folded only past RFC 5322's hard limit, so a subject (at most
:data:`SUBJECT_CHARS`) stays on one line (the 78-column default moves a long subject to a
continuation line, which Python's own parser then reads with a leading space)."""


def utc_text(ts_ns: int) -> str:
    """``2026-12-01T10:00:00.123456789Z`` from UTC nanoseconds."""
    seconds, fraction = divmod(ts_ns, NS)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{fraction:09d}Z"


def headline(alert: Alert) -> str:
    """``[SEVERITY] CODE (source) message`` on one line."""
    message = " ".join(alert.message.split())
    return f"[{alert.severity}] {alert.code} ({alert.source}) {message}"


def summary(alert: Alert) -> str:
    """The headline, then the labels and the event time."""
    labels = " ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()))
    lines = [headline(alert)]
    if labels:
        lines.append(labels)
    lines.append(f"at {utc_text(alert.event_ts_ns)} (alert {alert.alert_id})")
    return "\n".join(lines)


def alert_document(alert: Alert) -> dict[str, Any]:
    """Every field of the alert as JSON-ready values, with the time also in ISO form."""
    return {
        "alert_id": alert.alert_id,
        "severity": alert.severity,
        "source": alert.source,
        "code": alert.code,
        "message": alert.message,
        "labels": dict(alert.labels),
        "event_ts_ns": alert.event_ts_ns,
        "event_time": utc_text(alert.event_ts_ns),
    }


def webhook_body(
    alert: Alert,
    form: Literal["slack", "telegram", "json"],
    *,
    user: str,
    chat_id: str | None = None,
) -> dict[str, Any]:
    """The JSON body of a webhook POST: ``{"text"}`` (slack), ``{"chat_id", "text"}``
    (telegram) or ``{"user", "text", "alert": {...}}`` (json)."""
    if form == "slack":
        return {"text": summary(alert)}
    if form == "telegram":
        if chat_id is None:
            raise ValueError("a telegram body needs chat_id")
        return {"chat_id": chat_id, "text": summary(alert)}
    return {"user": user, "text": summary(alert), "alert": alert_document(alert)}


def email_subject(alert: Alert) -> str:
    """``[Tapewire CRITICAL] LOSS_LIMIT: first words of the message`` (one line, bounded)."""
    message = " ".join(alert.message.split())
    subject = f"[Tapewire {alert.severity}] {alert.code}: {message}"
    return subject if len(subject) <= SUBJECT_CHARS else subject[: SUBJECT_CHARS - 1] + "…"


def email_message(alert: Alert, *, sender: str, to: tuple[str, ...], user: str) -> EmailMessage:
    """A plain-text e-mail for ``alert`` (Date = the event time; the Message-ID is made
    in the sender's domain, so no host name is looked up)."""
    message = EmailMessage(policy=POLICY)
    message["Subject"] = email_subject(alert)
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = format_datetime(datetime.fromtimestamp(alert.event_ts_ns // NS, UTC))
    message["Message-ID"] = make_msgid("tapewire", domain=sender.rpartition("@")[2])
    message["X-Tapewire-Alert-Id"] = alert.alert_id
    message["X-Tapewire-Severity"] = alert.severity
    message.set_content(
        f"{summary(alert)}\n\nsource: {alert.source}\ncode: {alert.code}\n"
        f"severity: {alert.severity}\nsent to: {user}\n"
    )
    return message
