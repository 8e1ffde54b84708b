"""The notification core without a network: de-duplication, retries, routing, rendering."""

from __future__ import annotations

import pytest

from tapewire.records.risk import Alert
from tapewire.streams.notify import (
    Deduplicator,
    DeliveryError,
    NotifierConfig,
    RetryPolicy,
    alert_key,
    deliver_with_retry,
    email_message,
    route,
    webhook_body,
)

S = 1_000_000_000
T0 = 1_796_083_200 * S  # 2026-12-01T00:00:00Z


def alert(
    severity: str = "CRITICAL",
    code: str = "LOSS_LIMIT",
    ts: int = T0,
    alert_id: str = "positions:LOSS_LIMIT:desk:1",
    **labels: str,
) -> Alert:
    return Alert(
        alert_id=alert_id,
        severity=severity,
        source="positions",
        code=code,
        message="account desk PnL -1200.50 at or below -1000",
        labels=labels or {"account": "desk"},
        event_ts_ns=ts,
    )


def users_config(**extra: object) -> NotifierConfig:
    return NotifierConfig.model_validate(
        {
            "smtp": {"host": "127.0.0.1", "security": "none", "sender": "tapewire@desk.test"},
            "users": {
                "alice": {
                    "channels": {
                        "slack": {"kind": "webhook", "url": "https://hooks.test/T1"},
                        "mail": {"kind": "email", "to": "alice@desk.test"},
                    },
                    "route": {"CRITICAL": ["slack", "mail"], "WARNING": ["slack"]},
                },
                "bob": {
                    "channels": {"mail": {"kind": "email", "to": ["bob@desk.test"]}},
                    "route": {"CRITICAL": ["mail"], "INFO": ["mail"]},
                    "accounts": ["other"],
                },
            },
            **extra,
        }
    )


# --- de-duplication -----------------------------------------------------------------------


def test_alert_key_ignores_id_and_message_not_severity_or_labels() -> None:
    a = alert(alert_id="x:1")
    b = alert(alert_id="x:2", ts=T0 + 5 * S)
    assert alert_key(a) == alert_key(b) == "positions|LOSS_LIMIT|CRITICAL|account=desk"
    assert alert_key(alert(account="other")) != alert_key(a)
    assert alert_key(alert("ERROR")) != alert_key(a)


def test_dedup_sends_one_per_window_of_event_time() -> None:
    dedup = Deduplicator(window_ns=60 * S)
    key = "positions|LOSS_LIMIT|account=desk"
    assert dedup.admit(key, T0) is True
    assert dedup.admit(key, T0) is False  # the same alert again (redelivered)
    assert dedup.admit(key, T0 + 59 * S) is False  # the condition repeats within the window
    assert dedup.admit(key, T0 - S) is False  # an older copy
    assert dedup.admit(key, T0 + 60 * S) is True  # a window later: sent again
    assert dedup.admit("another|key|", T0 + 61 * S) is True


def test_dedup_memory_is_bounded() -> None:
    dedup = Deduplicator(window_ns=10 * S, max_keys=3)
    for i in range(5):
        assert dedup.admit(f"k{i}", T0 + i * S)
    assert len(dedup) == 3
    assert dedup.admit("k0", T0 + 5 * S) is True  # forgotten (oldest went first)
    dedup.admit("late", T0 + 100 * S)
    assert len(dedup) == 1  # everything older than the window is forgotten


# --- retries --------------------------------------------------------------------------------


def test_backoff_grows_and_is_capped_retry_after_honoured() -> None:
    policy = RetryPolicy(attempts=5, backoff_s=0.5, multiplier=2, backoff_max_s=3)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3.0]
    assert policy.delay(1, retry_after_s=2.5) == 2.5
    assert policy.delay(1, retry_after_s=60) == 3.0


def test_retryable_failures_are_retried_then_delivered() -> None:
    answers: list[DeliveryError | None] = [
        DeliveryError("HTTP 500", retryable=True),
        DeliveryError("HTTP 429", retryable=True, retry_after_s=1.5),
        None,
    ]
    waits: list[float] = []

    def send() -> None:
        answer = answers.pop(0)
        if answer is not None:
            raise answer

    outcome = deliver_with_retry(send, RetryPolicy(attempts=4, backoff_s=0.25), waits.append)
    assert outcome.delivered
    assert outcome.attempts == 3
    assert waits == [0.25, 1.5]


def test_refusal_is_not_retried_and_retries_are_bounded() -> None:
    calls = 0

    def refused() -> None:
        nonlocal calls
        calls += 1
        raise DeliveryError("HTTP 404 Not Found", retryable=False)

    outcome = deliver_with_retry(refused, RetryPolicy(attempts=4), lambda _s: None)
    assert (outcome.delivered, outcome.permanent, outcome.attempts, calls) == (False, True, 1, 1)
    assert outcome.reason == "refused: HTTP 404 Not Found"

    def down() -> None:
        raise DeliveryError("ConnectionRefusedError", retryable=True)

    outcome = deliver_with_retry(down, RetryPolicy(attempts=3, backoff_s=0), lambda _s: None)
    assert (outcome.delivered, outcome.permanent, outcome.attempts) == (False, False, 3)
    assert outcome.reason == "gave up after 3 tries: ConnectionRefusedError"

    stopping = deliver_with_retry(down, RetryPolicy(attempts=3), lambda _s: True)
    assert stopping.stopped
    assert stopping.attempts == 1


# --- routing ---------------------------------------------------------------------------------


def test_routes_follow_severity_and_the_account_filter() -> None:
    users = users_config().users
    critical = [(r.user, r.channel_name) for r in route(alert("CRITICAL"), users)]
    assert critical == [("alice", "slack"), ("alice", "mail")]  # bob: only account "other"
    other = [(r.user, r.channel_name) for r in route(alert("CRITICAL", account="other"), users)]
    assert other == [("alice", "slack"), ("alice", "mail"), ("bob", "mail")]
    assert [r.label for r in route(alert("WARNING"), users)] == ["alice/slack"]
    assert route(alert("ERROR"), users) == []  # nobody asked for ERROR
    feed = Alert(
        alert_id="f",
        severity="INFO",
        source="feed:binance",
        code="FEED_RESYNC",
        message="m",
        labels={"venue": "binance"},
        event_ts_ns=T0,
    )
    assert [r.label for r in route(feed, users)] == ["bob/mail"]  # no account label: passes


def test_codes_filter() -> None:
    config = NotifierConfig.model_validate(
        {
            "users": {
                "ops": {
                    "channels": {"hook": {"kind": "webhook", "url": "http://127.0.0.1:9/h"}},
                    "route": {"WARNING": ["hook", "hook"]},
                    "codes": ["FEED_GAP"],
                }
            }
        }
    )
    assert route(alert("WARNING"), config.users) == []
    gap = alert("WARNING", code="FEED_GAP")
    assert [r.label for r in route(gap, config.users)] == ["ops/hook"]  # listed twice: once


# --- rendering -------------------------------------------------------------------------------


def test_slack_telegram_and_json_bodies() -> None:
    a = alert(account="desk", venue="paper1")
    text = (
        "[CRITICAL] LOSS_LIMIT (positions) account desk PnL -1200.50 at or below -1000\n"
        "account=desk venue=paper1\n"
        "at 2026-12-01T00:00:00.000000000Z (alert positions:LOSS_LIMIT:desk:1)"
    )
    assert webhook_body(a, "slack", user="alice") == {"text": text}
    assert webhook_body(a, "telegram", user="alice", chat_id="-100") == {
        "chat_id": "-100",
        "text": text,
    }
    body = webhook_body(a, "json", user="alice")
    assert body["user"] == "alice"
    assert body["alert"]["labels"] == {"account": "desk", "venue": "paper1"}
    assert body["alert"]["event_ts_ns"] == T0
    assert body["alert"]["event_time"] == "2026-12-01T00:00:00.000000000Z"


def test_email_subject_headers_and_body() -> None:
    message = email_message(
        alert(ts=T0 + 123), sender="tapewire@desk.test", to=("a@x.test", "b@x.test"), user="al"
    )
    assert message["Subject"] == (
        "[Tapewire CRITICAL] LOSS_LIMIT: account desk PnL -1200.50 at or below -1000"
    )
    assert message["To"] == "a@x.test, b@x.test"
    assert message["Date"] == "Tue, 01 Dec 2026 00:00:00 +0000"
    assert message["Message-ID"].endswith("@desk.test>")
    assert message["X-Tapewire-Alert-Id"] == "positions:LOSS_LIMIT:desk:1"
    body = message.get_content()
    assert "2026-12-01T00:00:00.000000123Z" in body
    assert "sent to: al" in body
    long = alert().replace(message="x" * 500)
    subject = email_message(long, sender="t@d.test", to=("a@x.test",), user="al")["Subject"]
    assert len(subject) == 120
    assert subject.endswith("…")


@pytest.mark.parametrize(("form", "chat_id"), [("slack", None), ("json", None), ("telegram", "42")])
def test_every_body_carries_the_summary(form: str, chat_id: str | None) -> None:
    body = webhook_body(alert(), form, user="u", chat_id=chat_id)  # type: ignore[arg-type]
    assert body["text"].startswith("[CRITICAL] LOSS_LIMIT (positions)")
