"""Kafka client settings and topic specs shared by every Kafka client in Tapewire.

Security (TLS, SASL/SCRAM) is a *process-level* setting: one role process talks to one
cluster as one principal, so the role sets it once at start with :func:`use_security` and
every confluent-kafka client built from :func:`client_config` afterwards carries it (the
Faust shell builds matching ``broker_credentials`` from :func:`process_security`). Code
that must talk as someone else (the local broker's admin, ``tapewire kafka acl``) merges
an explicit :meth:`KafkaSecurity.client_settings` over ``client_config``'s result.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr

from tapewire.core.errors import ConfigError

client_log = logging.getLogger("tapewire.kafka.client")
"""librdkafka's own log lines (connection refused while a broker starts, ...) go here."""

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
ScramMechanism = Literal["SCRAM-SHA-256", "SCRAM-SHA-512"]


@dataclass(frozen=True)
class KafkaSecurity:
    """How a client authenticates and encrypts: the protocol, and for SASL the SCRAM
    mechanism, user name and password; for TLS the CA file that signed the brokers'
    certificates (None: the system's CAs). The password is a :class:`SecretStr` and is
    left out of ``repr``: it leaves this object only in :meth:`client_settings`."""

    protocol: SecurityProtocol = "PLAINTEXT"
    mechanism: ScramMechanism = "SCRAM-SHA-512"
    username: str | None = None
    password: SecretStr | None = field(default=None, repr=False)
    ca_file: Path | None = None

    def __post_init__(self) -> None:
        if self.sasl and (not self.username or self.password is None):
            raise ConfigError(
                f"security protocol {self.protocol} needs a user name and a password",
                field="kafka.security",
                value=self.username,
                hint="set the role's user name and its password variable ([kafka.security])",
            )

    @property
    def sasl(self) -> bool:
        """Whether the client authenticates with SASL/SCRAM."""
        return self.protocol.startswith("SASL_")

    @property
    def tls(self) -> bool:
        """Whether the connection is encrypted with TLS."""
        return self.protocol.endswith("SSL")

    def client_settings(self) -> dict[str, str]:
        """The librdkafka settings (plain password included: pass them straight to a
        client, never log them)."""
        settings: dict[str, str] = {"security.protocol": self.protocol}
        if self.tls and self.ca_file is not None:
            settings["ssl.ca.location"] = str(self.ca_file)
        if self.sasl:
            assert self.username is not None
            assert self.password is not None
            settings |= {
                "sasl.mechanism": self.mechanism,
                "sasl.username": self.username,
                "sasl.password": self.password.get_secret_value(),
            }
        return settings


_process_security: KafkaSecurity | None = None


def use_security(security: KafkaSecurity | None) -> None:
    """Make ``security`` the settings of every client this process builds from now on
    (None: plaintext, no authentication). A role calls it once, before any client."""
    global _process_security  # one principal per process, by design
    _process_security = security


def process_security() -> KafkaSecurity | None:
    """The security set by :func:`use_security`, or None."""
    return _process_security


def client_config(bootstrap: str) -> dict[str, Any]:
    """confluent-kafka client settings for ``bootstrap`` with librdkafka logs in
    ``client_log``, and the process's security settings (:func:`use_security`)."""
    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "logger": client_log,
        "log.connection.close": False,
    }
    if _process_security is not None:
        config |= _process_security.client_settings()
    return config


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
