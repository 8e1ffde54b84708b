"""One error root for Tapewire; each package raises a subclass that carries fields."""

from __future__ import annotations


class TapewireError(Exception):
    """Root of every error Tapewire raises on purpose.

    ``hint`` says what the user can do about it; the CLI prints it after the message.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(TapewireError):
    """A setting is missing or has a bad value."""

    def __init__(self, message: str, *, field: str, value: object = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.field = field
        self.value = value


class DependencyError(TapewireError):
    """A program Tapewire needs (java, mvn, a server) is missing or does not answer."""

    def __init__(self, message: str, *, tool: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.tool = tool


class KafkaRuntimeError(TapewireError):
    """The local Kafka broker could not be fetched, started, reached or stopped."""


class SchemaError(TapewireError):
    """A record does not fit its Avro schema, or a payload cannot be decoded."""

    def __init__(
        self,
        message: str,
        *,
        schema: str | None = None,
        field: str | None = None,
        value: object = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.schema = schema
        self.field = field
        self.value = value


class ClickHouseError(TapewireError):
    """A ClickHouse URL, migration or query failed."""
