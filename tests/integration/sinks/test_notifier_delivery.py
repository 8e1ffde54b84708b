"""The notifier against a real local HTTP receiver and a real local SMTP server (no Kafka):
a webhook retried after an HTTP 500, an e-mail received, de-duplication, a refusal."""

from __future__ import annotations

import time
from typing import Any

from tapewire.records.risk import Alert
from tapewire.sinks.notify.dispatch import Notifier
from tapewire.streams.notify import NotifierConfig
from tests.integration.sinks.notify_servers import mail_receiver, webhook_receiver


def _config(url: str, smtp_port: int) -> NotifierConfig:
    data: dict[str, Any] = {
        "retry": {"attempts": 3, "backoff_s": 0.05, "timeout_s": 5},
        "smtp": {
            "host": "127.0.0.1",
            "port": smtp_port,
            "security": "none",
            "sender": "tapewire@desk.test",
        },
        "users": {
            "alice": {
                "channels": {
                    "slack": {"kind": "webhook", "url_env": "ALICE_SLACK", "format": "slack"},
                    "mail": {"kind": "email", "to": ["alice@desk.test"]},
                    "gone": {"kind": "webhook", "url": f"{url}/gone", "format": "json"},
                },
                "route": {"CRITICAL": ["slack", "mail"], "ERROR": ["gone"]},
            }
        },
    }
    return NotifierConfig.model_validate(data)


def _breach(alert_id: str, severity: str = "CRITICAL") -> Alert:
    return Alert(
        alert_id=alert_id,
        severity=severity,
        source="positions",
        code="LOSS_LIMIT",
        message="account desk PnL -1200.50 at or below -1000",
        labels={"account": "desk"},
        event_ts_ns=time.time_ns(),
    )


def test_webhook_retried_email_received_duplicates_folded_refusal_reported() -> None:
    with webhook_receiver({"/slack": [500], "/gone": [404] * 10}) as hooks, mail_receiver() as mail:
        waits: list[float] = []
        notifier = Notifier(
            _config(hooks.url, mail.port),
            environ={"ALICE_SLACK": f"{hooks.url}/slack"},
            sleep=waits.append,
        )
        first = _breach("positions:LOSS_LIMIT:desk:1")
        assert notifier.notify(first) == []

        # the webhook: a 500 first, then delivered on the second try
        assert [p.status for p in hooks.posts] == [500, 200]
        assert waits == [0.05]
        [body] = hooks.bodies("/slack")
        assert body["text"].startswith(
            "[CRITICAL] LOSS_LIMIT (positions) account desk PnL -1200.50 at or below -1000\n"
            "account=desk\nat "
        )
        # the e-mail
        [(recipients, message)] = mail.messages
        assert recipients == ["alice@desk.test"]
        assert message["Subject"] == (
            "[Tapewire CRITICAL] LOSS_LIMIT: account desk PnL -1200.50 at or below -1000"
        )
        assert message["From"] == "tapewire@desk.test"
        assert message["X-Tapewire-Alert-Id"] == "positions:LOSS_LIMIT:desk:1"

        # the same condition again (another id, same source, code and labels): not sent
        assert notifier.notify(_breach("positions:LOSS_LIMIT:desk:2")) == []
        assert notifier.notify(first) == []
        assert len(hooks.posts) == 2
        assert len(mail.messages) == 1
        assert notifier.stats.duplicates == 2

        # a channel that refuses (404): one try, no retry, reported with the reason
        [failure] = notifier.notify(_breach("r:1", severity="ERROR"))
        assert failure.route.label == "alice/gone"
        assert failure.outcome.permanent
        assert failure.outcome.attempts == 1
        assert failure.outcome.reason == "refused: webhook alice/gone: HTTP 404 Not Found"
        assert hooks.bodies("/gone", status=404)[0]["alert"]["alert_id"] == "r:1"
        assert (notifier.stats.delivered, notifier.stats.failed) == (2, 1)
        assert notifier.stats.attempts == {"webhook": 3, "email": 1}


def test_unreachable_smtp_server_is_retried_then_given_up() -> None:
    with webhook_receiver({}) as hooks, mail_receiver() as mail:
        port = mail.port
    # both servers are stopped now: nothing listens on the port
    config = _config(hooks.url, port)
    notifier = Notifier(
        config, environ={"ALICE_SLACK": f"{hooks.url}/slack"}, sleep=lambda _s: None
    )
    failures = notifier.notify(_breach("x:1"))
    assert [f.route.label for f in failures] == ["alice/slack", "alice/mail"]
    for failure in failures:
        assert not failure.outcome.permanent
        assert failure.outcome.attempts == 3
        assert failure.outcome.reason is not None
        assert failure.outcome.reason.startswith("gave up after 3 tries: ")
        assert "ConnectionRefusedError" in failure.outcome.reason
