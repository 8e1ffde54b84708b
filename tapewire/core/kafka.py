"""Kafka client settings and topic specs shared by every Kafka client in Tapewire."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

client_log = logging.getLogger("tapewire.kafka.client")
"""librdkafka's own log lines (connection refused while a broker starts, ...) go here."""


def client_config(bootstrap: str) -> dict[str, Any]:
    """confluent-kafka client settings for ``bootstrap`` with librdkafka logs in ``client_log``."""
    return {"bootstrap.servers": bootstrap, "logger": client_log, "log.connection.close": False}


def producer_config(bootstrap: str) -> dict[str, Any]:
    """Settings of every confluent-kafka producer in Tapewire: idempotent, ``acks=all``,
    and the murmur2 partitioner, so a key lands on the partition that Java clients and
    the Faust agents (aiokafka) choose for it. librdkafka's default (``consistent_random``,
    CRC32) would put the same key elsewhere: every producer of a topic must agree.
    Callers add their role's batching settings with ``|``.
    """
    return client_config(bootstrap) | {
        "enable.idempotence": True,
        "acks": "all",
        "partitioner": "murmur2_random",
    }


MAX_MESSAGE_BYTES = 950_000
"""Largest key + value Tapewire produces: a default producer and broker accept 1,000,000
bytes per message, less room for headers and batch overhead. A stage dead-letters a larger
output (``RecordTooLarge``) instead of failing its produce and stopping."""


@dataclass(frozen=True)
class TopicSpec:
    """A topic to create: name, partitions, replication and topic-level config."""

    name: str
    partitions: int
    replication_factor: int = 1
    config: Mapping[str, str] = field(default_factory=dict)
