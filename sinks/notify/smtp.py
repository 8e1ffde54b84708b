"""One e-mail delivery attempt with the standard library's SMTP client.

``security``: ``starttls`` (upgrade a plain connection, certificate checked),
``ssl`` (implicit TLS) or ``none``; a login when a user name is configured. Retryable:
no connection, a timeout, a dropped session, any 4xx reply. Refused for good: a 5xx reply
(an unknown recipient, a failed login, a message refused).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage

from pydantic import SecretStr

from tapewire.streams.notify.config import SmtpSection
from tapewire.streams.notify.errors import DeliveryError

log = logging.getLogger(__name__)


def send_email(
    smtp: SmtpSection, password: SecretStr | None, message: EmailMessage, *, label: str
) -> None:
    """Send ``message`` through ``smtp``; :class:`DeliveryError` if it was not accepted."""
    try:
        _send(smtp, password, message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = sorted({code for code, _ in exc.recipients.values()})
        raise DeliveryError(
            f"e-mail {label}: every recipient refused (SMTP {codes})",
            retryable=all(400 <= c < 500 for c in codes),
            hint="check the address of this channel",
        ) from None
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        raise DeliveryError(
            f"e-mail {label}: SMTP {exc.smtp_code} {text}".rstrip(),
            retryable=400 <= exc.smtp_code < 500,
            hint="check [notifier.smtp] (login, sender) and the address of this channel",
        ) from None
    except (smtplib.SMTPException, OSError) as exc:  # no connection, timeout, TLS, hang-up
        raise DeliveryError(
            f"e-mail {label}: {type(exc).__name__}: {exc}", retryable=True
        ) from None


def _send(smtp: SmtpSection, password: SecretStr | None, message: EmailMessage) -> None:
    client: smtplib.SMTP
    if smtp.security == "ssl":
        client = smtplib.SMTP_SSL(
            smtp.host, smtp.port, timeout=smtp.timeout_s, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s)
    with client:
        if smtp.security == "starttls":
            client.starttls(context=ssl.create_default_context())
        if smtp.username is not None and password is not None:
            client.login(smtp.username, password.get_secret_value())
        refused = client.send_message(message)
    if refused:  # some recipients took it: not retried (the others would get it twice)
        log.warning("e-mail: recipients refused %s", sorted(refused))
