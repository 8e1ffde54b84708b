"""``tapewire run api``: the API's services built from the deployment file, served by
uvicorn until the role is told to stop."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import uvicorn

from tapewire.api.app import ApiServices, create_app
from tapewire.api.audit import AuditSink, ClickHouseAuditSink, FileAuditSink
from tapewire.api.config import ApiConfig
from tapewire.api.events import EventHub, stream_topics
from tapewire.api.notifications import NotificationPreferences
from tapewire.api.orders import PARENT_REQUESTS_TOPIC, REQUESTS_TOPIC, OrderGateway
from tapewire.api.ratelimit import RateLimiter
from tapewire.api.reader import Reader
from tapewire.api.tokens import TokenIssuer
from tapewire.api.users import UserStore
from tapewire.core.errors import ConfigError
from tapewire.runtime.kafka_io import create_topic
from tapewire.schemas.codec import Codec
from tapewire.sinks.clickhouse.migrations import migrate_url
from tapewire.sinks.notify.preferences import PreferencesFile
from tapewire.streams.notify import NotifierConfig
from tapewire.streams.risk import RiskConfig

log = logging.getLogger("tapewire.api")


def audit_sink(config: ApiConfig, clickhouse_url: str) -> AuditSink:
    """The audit sink ``[api] audit`` names."""
    if config.audit == "file":
        if config.audit_file is None:
            raise ConfigError(
                "api.audit_file: required when api.audit = 'file'",
                field="api.audit_file",
                hint='set audit_file = "api-audit.jsonl"',
            )
        return FileAuditSink(config.audit_file)
    return ClickHouseAuditSink(clickhouse_url)


def notification_preferences(notifier: NotifierConfig | None) -> NotificationPreferences | None:
    """The preferences service over ``[notifier]`` (None without a ``preferences_file``)."""
    if notifier is None or notifier.preferences_file is None:
        return None
    return NotificationPreferences(notifier, PreferencesFile(notifier.preferences_file))


@contextmanager
def api_services(
    config: ApiConfig,
    *,
    clickhouse_url: str,
    bootstrap: str | None,
    codec: Codec,
    topic_name: Callable[[str], str] = str,
    partitions: int = 6,
    replication: int = 1,
    risk: RiskConfig | None = None,
    bar_intervals: tuple[str, ...] = ("1m",),
    notifier: NotifierConfig | None = None,
) -> Iterator[ApiServices]:
    """Every part the routes use, closed on exit. Without ``bootstrap`` the API reads
    only (no orders, no stream); with ``notifier`` (and its ``preferences_file``) users
    manage their notification preferences."""
    users = UserStore.load(config.users_file)
    tokens = TokenIssuer(config.secret(), ttl_s=config.token_ttl_s, clock=time.time)
    migrate_url(clickhouse_url)  # the tables the API reads, and api_audit
    with ExitStack() as stack:
        audit = audit_sink(config, clickhouse_url)
        stack.callback(audit.close)
        gateway = events = None
        if bootstrap is not None:
            for canonical in (
                REQUESTS_TOPIC,
                PARENT_REQUESTS_TOPIC,
                *stream_topics(bar_intervals),
            ):
                create_topic(
                    bootstrap,
                    topic_name(canonical),
                    partitions=partitions,
                    replication_factor=replication,
                    exist_ok=True,
                )
            gateway = OrderGateway(
                bootstrap,
                codec,
                topic=topic_name(REQUESTS_TOPIC),
                parent_topic=topic_name(PARENT_REQUESTS_TOPIC),
            )
            stack.callback(gateway.close)
            events = EventHub(
                bootstrap,
                codec,
                topic_name=topic_name,
                group_prefix=topic_name("tapewire-api"),
                bar_intervals=bar_intervals,
            ).start()
            stack.callback(events.close)
        yield ApiServices(
            users=users,
            tokens=tokens,
            token_limiter=RateLimiter(
                per_second=config.rate_limit_per_s,
                burst=config.rate_limit_burst,
                clock=time.monotonic,
            ),
            login_limiter=RateLimiter(
                per_second=config.login_attempts_per_minute / 60.0,
                burst=config.login_attempts_per_minute,
                clock=time.monotonic,
            ),
            reader=Reader(clickhouse_url),
            audit=audit,
            gateway=gateway,
            events=events,
            risk=risk,
            notifications=notification_preferences(notifier),
            max_rows=config.max_rows,
            stream_queue_size=config.stream_queue_size,
        )


def serve(services: ApiServices, config: ApiConfig, stop: threading.Event) -> None:
    """Serve the API on ``config.host:port`` until ``stop`` is set."""
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(services),
            host=config.host,
            port=config.port,
            log_config=None,
            access_log=False,  # the audit log is the access log
            lifespan="off",
        )
    )

    def watch() -> None:
        stop.wait()
        server.should_exit = True

    watcher = threading.Thread(target=watch, name="api-stop", daemon=True)
    watcher.start()
    log.info("api: serving on http://%s:%d (OpenAPI at /docs)", config.host, config.port)
    server.run()
    stop.set()
