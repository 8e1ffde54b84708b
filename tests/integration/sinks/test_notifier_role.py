"""The notifier role through the real broker: a risk breach (twice) and a feed gap in,
the webhook (after an HTTP 500) and the e-mail out once, a refusing channel dead-lettered,
and the offsets committed after the deliveries."""

from __future__ import annotations

import threading
import time

from confluent_kafka import Consumer, TopicPartition

from tapewire.core.kafka import client_config
from tapewire.records.market import CoverageEvent
from tapewire.records.risk import Alert
from tapewire.runtime.kafka_io import committed_offsets, produce_all
from tapewire.schemas.codec import Codec
from tapewire.sinks.notify.role import NotifierRole, RoleSettings
from tapewire.streams.notify import NotifierConfig
from tests.fixtures.kafka import TopicFactory, consume_n, unique_topic_name
from tests.integration.sinks.notify_servers import mail_receiver, wait_for, webhook_receiver


def test_notifier_role_delivers_deduplicates_dead_letters_and_commits(
    kafka_bootstrap: str, kafka_topic: TopicFactory
) -> None:
    codec = Codec()
    alerts, coverage, dlq = kafka_topic("alerts"), kafka_topic("coverage"), kafka_topic("dlq")
    now = time.time_ns()
    breach = Alert(
        alert_id="risk:desk:kill-1",
        severity="CRITICAL",
        source="risk",
        code="TRADING_STATE",
        message="trading state of desk set to HALTED (asked 'HALTED') by ops",
        labels={"account": "desk", "state": "HALTED"},
        event_ts_ns=now,
    )
    gap = CoverageEvent(
        venue="binance",
        instrument="BTC-USDT-SPOT",
        channel="book",
        event="GAP",
        from_ns=now - 1_000_000_000,
        reason="sequence_gap",
        process_ts_ns=now,
    )
    produce_all(
        kafka_bootstrap,
        alerts,
        [(codec.key("alerts", breach), codec.encode("alerts", breach))] * 2,  # redelivered
    )
    produce_all(
        kafka_bootstrap, coverage, [(b"binance:BTC-USDT-SPOT", codec.encode("md.coverage", gap))]
    )

    with webhook_receiver({"/ops": [500], "/gone": [410] * 10}) as hooks, mail_receiver() as mail:
        config = NotifierConfig.model_validate(
            {
                "retry": {"attempts": 3, "backoff_s": 0.05},
                "derive": ["feed_health"],
                "smtp": {
                    "host": "127.0.0.1",
                    "port": mail.port,
                    "security": "none",
                    "sender": "tapewire@desk.test",
                },
                "users": {
                    "ops": {
                        "channels": {
                            "hook": {"kind": "webhook", "url": f"{hooks.url}/ops"},
                            "mail": {"kind": "email", "to": "ops@desk.test"},
                            "gone": {"kind": "webhook", "url": f"{hooks.url}/gone"},
                        },
                        "route": {"CRITICAL": ["hook", "mail", "gone"], "WARNING": ["hook"]},
                    }
                },
            }
        )
        group = unique_topic_name("notifier")
        stop = threading.Event()
        role = NotifierRole(
            kafka_bootstrap,
            config,
            RoleSettings(
                topics={alerts: "alerts", coverage: "md.coverage"}, group_id=group, dlq_topic=dlq
            ),
            codec,
            stop=stop,
        )
        thread = threading.Thread(target=role.run, daemon=True)
        thread.start()
        try:
            wait_for(lambda: len(hooks.bodies("/ops")) == 2, "two webhooks delivered")
            wait_for(lambda: len(mail.messages) == 1, "one e-mail received")
            wait_for(lambda: role.dead_letters == 1, "one dead letter")
        finally:
            stop.set()
            thread.join(30)
        assert not thread.is_alive()

    texts = sorted(body["text"].splitlines()[0] for body in hooks.bodies("/ops"))
    assert texts == [
        "[CRITICAL] TRADING_STATE (risk) trading state of desk set to HALTED "
        "(asked 'HALTED') by ops",
        "[WARNING] FEED_GAP (feed:binance) binance BTC-USDT-SPOT book: data incomplete since "
        + texts[1].split("since ")[1],
    ]
    assert [p.status for p in hooks.posts if p.path == "/ops"].count(500) == 1  # retried
    [(recipients, message)] = mail.messages
    assert recipients == ["ops@desk.test"]
    assert message["Subject"].startswith("[Tapewire CRITICAL] TRADING_STATE: trading state")
    assert role.stats.duplicates == 1  # the breach was on the topic twice

    [record] = consume_n(kafka_bootstrap, dlq, 1)
    assert record.value is not None
    letter = codec.decode("dlq.notifier", record.value)
    assert letter["stage"] == "notifier"
    assert letter["error_type"] == "DeliveryRefused"
    assert letter["source_topic"] == alerts
    assert letter["reason"] == (
        "refused: webhook ops/gone: HTTP 410 Gone (alert risk:desk:kill-1 CRITICAL TRADING_STATE)"
    )
    assert letter["labels"]["attempts"] == "1"
    assert codec.decode("alerts", letter["payload"])["alert_id"] == "risk:desk:kill-1"

    # every record was settled, then committed
    consumer = Consumer(client_config(kafka_bootstrap) | {"group.id": group})
    try:
        offsets = committed_offsets(
            consumer, [TopicPartition(alerts, 0), TopicPartition(coverage, 0)]
        )
    finally:
        consumer.close()
    assert [tp.offset for tp in offsets] == [2, 1]
