"""Which Kafka to use, decided the same way everywhere (CLI, demo, tests).

1. ``KAFKA_BOOTSTRAP_SERVERS`` (``settings.kafka_bootstrap_servers``) if set: an existing
   cluster, never started or stopped by Tapewire;
2. else a testcontainers Kafka if a Docker engine answers (and testcontainers is installed);
3. else the local Apache Kafka broker run from its jars (:mod:`tapewire.runtime.kafka_local`).
   A local broker already started with ``tapewire kafka start`` is reused and left running.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from tapewire.core.errors import DependencyError, KafkaRuntimeError
from tapewire.core.kafka import client_config
from tapewire.core.settings import Settings
from tapewire.runtime.docker import docker_engine_available
from tapewire.runtime.kafka_jars import kafka_jars_ready, kafka_libs_dir
from tapewire.runtime.kafka_local import (
    DEFAULT_START_TIMEOUT_S,
    KafkaAlreadyRunningError,
    LocalKafkaCluster,
    Progress,
    local_status,
    local_work_dir,
)

KafkaKind = Literal["external", "testcontainers", "local"]

# Confluent Platform 7.9 ships Apache Kafka 3.9, the version the local broker runs.
TESTCONTAINERS_IMAGE = "confluentinc/cp-kafka:7.9.0"


@dataclass(frozen=True)
class KafkaTarget:
    """The Kafka a command talks to. ``bootstrap_servers`` is empty when
    :func:`describe_kafka` cannot know it before starting (testcontainers)."""

    bootstrap_servers: str
    kind: KafkaKind
    description: str


def resolve_kind(settings: Settings) -> KafkaKind:
    """The kind of Kafka the resolution order picks, without starting or contacting it."""
    if settings.kafka_bootstrap_servers:
        return "external"
    if _testcontainers_installed() and docker_engine_available():
        return "testcontainers"
    return "local"


def describe_kafka(settings: Settings) -> KafkaTarget:
    """Say which Kafka would be used, starting nothing (for ``tapewire doctor``)."""
    kind = resolve_kind(settings)
    if kind == "external":
        servers = settings.kafka_bootstrap_servers or ""
        return KafkaTarget(
            servers, kind, f"existing cluster at {servers} (KAFKA_BOOTSTRAP_SERVERS)"
        )
    if kind == "testcontainers":
        return KafkaTarget(
            "", kind, f"testcontainers Kafka ({TESTCONTAINERS_IMAGE}) on the local Docker engine"
        )
    status = local_status(settings)
    libs = kafka_libs_dir(settings.kafka_version, settings.kafka_cache_dir)
    if kafka_jars_ready(settings.kafka_version, settings.kafka_cache_dir):
        jars = "jars cached"
    else:
        jars = "jars fetched with Maven on first start"
    base = f"local Apache Kafka {settings.kafka_version} from jars ({jars} in {libs})"
    if status.running and status.bootstrap_servers:
        return KafkaTarget(
            status.bootstrap_servers, kind, f"{base}, running at {status.bootstrap_servers}"
        )
    planned = f"127.0.0.1:{settings.kafka_port}"
    return KafkaTarget(planned, kind, f"{base}, not running (tapewire kafka start)")


@contextlib.contextmanager
def kafka_for(
    settings: Settings,
    *,
    nodes: int = 1,
    any_free_port: bool = False,
    start_timeout_s: float = DEFAULT_START_TIMEOUT_S,
    on_progress: Progress | None = None,
) -> Iterator[KafkaTarget]:
    """Provide a Kafka by the resolution order; stop on exit only what this call started.

    ``nodes`` and ``any_free_port`` (ignore ``settings.kafka_port``, e.g. for tests) apply
    to a local broker started here.
    """
    kind = resolve_kind(settings)
    if kind == "external":
        yield describe_kafka(settings)
    elif kind == "testcontainers":
        with _testcontainers_kafka(start_timeout_s) as target:
            yield target
    else:
        with _local_kafka(settings, nodes, any_free_port, start_timeout_s, on_progress) as target:
            yield target


def kafka_brokers(bootstrap_servers: str, timeout_s: float = 10.0) -> list[int]:
    """Ids of the brokers a metadata request lists; :class:`KafkaRuntimeError` if no answer."""
    admin = AdminClient(client_config(bootstrap_servers))
    try:
        metadata = admin.list_topics(timeout=timeout_s)
    except KafkaException as exc:
        raise KafkaRuntimeError(
            f"Kafka at {bootstrap_servers} did not answer a metadata request within "
            f"{timeout_s:.0f}s: {exc.args[0] if exc.args else exc}",
            hint="check that the brokers run and the address is reachable",
        ) from None
    return sorted(metadata.brokers)


def probe_kafka(settings: Settings, timeout_s: float = 10.0) -> str:
    """One line on whether the Kafka the resolution picks answers (for ``tapewire doctor``).

    A local broker that is not started is not an error: commands that need it start it.
    """
    target = describe_kafka(settings)
    if target.kind == "testcontainers":
        return "Docker engine answers; a Kafka container is started when needed"
    if target.kind == "local":
        status = local_status(settings)
        if not status.running or not status.bootstrap_servers:
            return "local broker not running; `tapewire kafka start` (or the demo/tests) starts it"
        brokers = kafka_brokers(status.bootstrap_servers, timeout_s)
        return f"{len(brokers)} broker(s) answer at {status.bootstrap_servers}"
    brokers = kafka_brokers(target.bootstrap_servers, timeout_s)
    return f"{len(brokers)} broker(s) answer at {target.bootstrap_servers}"


@contextlib.contextmanager
def _local_kafka(
    settings: Settings,
    nodes: int,
    any_free_port: bool,
    start_timeout_s: float,
    on_progress: Progress | None,
) -> Iterator[KafkaTarget]:
    running = local_status(settings)
    if running.running and running.bootstrap_servers:
        yield _reused(settings, running.bootstrap_servers)
        return
    extra: dict[str, Any] = {"base_port": None} if any_free_port else {}
    cluster = LocalKafkaCluster.from_settings(
        settings, nodes=nodes, start_timeout_s=start_timeout_s, on_progress=on_progress, **extra
    )
    try:
        cluster.start()
    except KafkaAlreadyRunningError as exc:  # started by another process meanwhile
        if not exc.status.bootstrap_servers:
            raise
        yield _reused(settings, exc.status.bootstrap_servers)
        return
    try:
        yield KafkaTarget(
            cluster.bootstrap_servers,
            "local",
            f"local Apache Kafka {settings.kafka_version} ({nodes} node(s)) at "
            f"{cluster.bootstrap_servers}, data in {cluster.work_dir}",
        )
    finally:
        cluster.stop()


def _reused(settings: Settings, bootstrap_servers: str) -> KafkaTarget:
    return KafkaTarget(
        bootstrap_servers,
        "local",
        f"local Apache Kafka already running at {bootstrap_servers} "
        f"(from {local_work_dir(settings)}; left running)",
    )


def _testcontainers_installed() -> bool:
    try:
        return importlib.util.find_spec("testcontainers.community.kafka") is not None
    except ModuleNotFoundError:
        return False


@contextlib.contextmanager
def _testcontainers_kafka(start_timeout_s: float) -> Iterator[KafkaTarget]:
    try:
        from testcontainers.community.kafka import KafkaContainer
    except ImportError:
        raise DependencyError(
            "testcontainers is not installed",
            tool="testcontainers",
            hint="pip install 'tapewire[dev]', or set KAFKA_BOOTSTRAP_SERVERS",
        ) from None
    # Same as the local broker: topics are created on purpose, never by a typo.
    container = KafkaContainer(TESTCONTAINERS_IMAGE).with_kraft()
    container.with_env("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "false")
    try:
        container.start(timeout=int(start_timeout_s))
    except Exception as exc:
        with contextlib.suppress(Exception):
            container.stop()
        raise KafkaRuntimeError(
            f"testcontainers could not start {TESTCONTAINERS_IMAGE}: {exc}",
            hint="check that Docker can pull the image, or set KAFKA_BOOTSTRAP_SERVERS",
        ) from exc
    try:
        servers = str(container.get_bootstrap_server())
        yield KafkaTarget(
            servers, "testcontainers", f"testcontainers Kafka ({TESTCONTAINERS_IMAGE}) at {servers}"
        )
    finally:
        container.stop()
