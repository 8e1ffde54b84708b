"""``tapewire doctor``: what Tapewire will use on this machine and whether it answers."""

from __future__ import annotations

import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass

from tapewire.core.errors import TapewireError
from tapewire.core.settings import Settings


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str
    required: bool = True


def _probe(name: str, probe: Callable[[], str], *, required: bool = True) -> Check:
    try:
        return Check(name, True, probe(), required)
    except TapewireError as exc:
        return Check(name, False, str(exc), required)
    except Exception as exc:  # doctor reports every failure instead of crashing
        return Check(name, False, f"{type(exc).__name__}: {exc}", required)


def run_checks(settings: Settings, *, reach: bool = True) -> list[Check]:
    """Check Python, Java, Maven, Kafka and ClickHouse; ``reach`` also connects to them.

    Java and Maven are required only when Tapewire must run the local broker (no
    ``KAFKA_BOOTSTRAP_SERVERS`` and no Docker engine).
    """
    from tapewire.runtime.kafka_jars import check_java, check_maven
    from tapewire.runtime.kafka_resolve import describe_kafka, probe_kafka
    from tapewire.sinks.clickhouse.client import mask_url
    from tapewire.sinks.clickhouse.query import ping

    kafka = describe_kafka(settings)
    needs_jvm = kafka.kind == "local"
    checks = [
        Check(
            "python", sys.version_info >= (3, 11), f"{platform.python_version()} ({sys.executable})"
        ),
        _probe("java", check_java, required=needs_jvm),
        _probe("maven", check_maven, required=needs_jvm),
        Check("kafka", True, f"will use {kafka.description}"),
    ]
    if reach:
        checks.append(_probe("kafka answers", lambda: probe_kafka(settings)))
    url = settings.resolved_clickhouse_url
    checks.append(Check("clickhouse", True, f"will use {mask_url(url)}"))
    if reach:
        checks.append(_probe("clickhouse answers", lambda: f"version {ping(url)}"))
    registry = settings.schema_registry_url
    checks.append(
        Check(
            "schema registry",
            True,
            registry if registry else "none: deterministic schema ids (docs/schemas.md)",
            required=False,
        )
    )
    return checks
