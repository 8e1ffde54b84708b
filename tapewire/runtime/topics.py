"""Topic declaration and the bootstrap servers of a worker."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from tapewire.core.errors import ConfigError
from tapewire.core.kafka import TopicSpec
from tapewire.core.settings import Settings
from tapewire.runtime.kafka_io import create_topic


class TopicPlan(Protocol):
    """Anything that lists the topics it needs (``StreamsConfig`` does)."""

    def topic_specs(self) -> Iterable[TopicSpec]:
        """The topics to create."""
        ...


def declare_topics(bootstrap: str, plan: TopicPlan) -> list[str]:
    """Create every topic of ``plan`` that does not exist yet; returns their names."""
    names = []
    for spec in plan.topic_specs():
        create_topic(
            bootstrap,
            spec.name,
            partitions=spec.partitions,
            replication_factor=spec.replication_factor,
            config=dict(spec.config) or None,
            exist_ok=True,
        )
        names.append(spec.name)
    return names


def bootstrap_of(settings: Settings, bootstrap: str | None = None) -> str:
    """The bootstrap servers to use: ``bootstrap``, else ``KAFKA_BOOTSTRAP_SERVERS``."""
    servers = bootstrap or settings.kafka_bootstrap_servers
    if not servers:
        raise ConfigError(
            "the stream worker needs a running Kafka",
            field="kafka_bootstrap_servers",
            hint="set KAFKA_BOOTSTRAP_SERVERS, or start one (tapewire kafka start / tapewire demo)",
        )
    return servers
