"""Typed, frozen settings from the environment (``TAPEWIRE_*``) and an optional TOML file.

Precedence, highest first: keyword arguments, environment variables, the TOML file named by
``TAPEWIRE_CONFIG`` (or ``--config`` on the CLI), then defaults. A few well-known
variables are also read without the prefix: ``KAFKA_BOOTSTRAP_SERVERS``,
``SCHEMA_REGISTRY_URL`` and ``CLICKHOUSE_URL``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from tapewire.core.errors import ConfigError

ENV_PREFIX = "TAPEWIRE_"
CONFIG_FILE_ENV = "TAPEWIRE_CONFIG"


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tapewire"


class Settings(BaseSettings):
    """Everything Tapewire can be configured with. Immutable once loaded."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        frozen=True,
        extra="forbid",
        case_sensitive=False,
        validate_default=True,
    )

    data_dir: Path = Field(
        default=Path(".tapewire"),
        description="Where local state lives: chDB data, local Kafka logs and storage.",
    )
    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "TAPEWIRE_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers"
        ),
        description="host:port[,host:port] of an existing Kafka cluster; unset = local broker.",
    )
    kafka_version: str = Field(default="3.9.2", pattern=r"^3\.9\.\d+$")
    kafka_cache_dir: Path = Field(
        default_factory=_default_cache_dir,
        description="Where the Kafka jars fetched by Maven are kept (outside the repo).",
    )
    kafka_port: int = Field(
        default=19092, ge=1024, le=65000, description="First loopback port of the local broker."
    )
    schema_registry_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "TAPEWIRE_SCHEMA_REGISTRY_URL", "SCHEMA_REGISTRY_URL", "schema_registry_url"
        ),
        description="Confluent-compatible schema registry; unset = deterministic local ids.",
    )
    schema_registry_username: str | None = None
    schema_registry_password: SecretStr | None = None
    clickhouse_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "TAPEWIRE_CLICKHOUSE_URL", "CLICKHOUSE_URL", "clickhouse_url"
        ),
        description="chdb:///dir or http(s)://user:pass@host:8123/db; unset = chDB in data_dir.",
    )
    metrics_port: int = Field(
        default=9464, ge=0, le=65535, description="Port of /metrics; 0 turns the endpoint off."
    )
    metrics_host: str = "127.0.0.1"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _check_bootstrap(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        for server in value.split(","):
            host, sep, port = server.strip().rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"expected host:port[,host:port...], got {server.strip()!r}")
        return value.strip()

    @field_validator("schema_registry_url")
    @classmethod
    def _check_registry(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("clickhouse_url")
    @classmethod
    def _check_clickhouse(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        if not value.startswith(("chdb://", "http://", "https://")):
            raise ValueError("expected chdb:///path/to/dir or http(s)://user:pass@host:8123/db")
        return value

    @property
    def resolved_clickhouse_url(self) -> str:
        """The ClickHouse URL to use: the configured one, else chDB under ``data_dir``."""
        if self.clickhouse_url:
            return self.clickhouse_url
        return f"chdb://{(self.data_dir / 'chdb').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get(CONFIG_FILE_ENV)
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


def _env_name(field: str) -> str:
    """The variable(s) a field is read from, as the user would type them."""
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices):
        names = [str(c) for c in alias.choices if str(c).isupper()]
        return " or ".join(names)
    return f"{ENV_PREFIX}{field.upper()}"


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Load and validate settings; a bad value raises :class:`ConfigError` naming the field.

    ``config_file`` (a TOML file of ``field = value`` lines) takes the place of
    ``TAPEWIRE_CONFIG`` for this call.
    """
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(
                f"config file {str(config_file)!r} does not exist",
                field=CONFIG_FILE_ENV,
                value=str(config_file),
                hint="pass the path of a TOML file with one `field = value` per line",
            )
        previous = os.environ.get(CONFIG_FILE_ENV)
        os.environ[CONFIG_FILE_ENV] = str(config_file)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise _config_error(exc) from None
    finally:
        if config_file is not None:
            if previous is None:
                os.environ.pop(CONFIG_FILE_ENV, None)
            else:
                os.environ[CONFIG_FILE_ENV] = previous


def _config_error(exc: ValidationError) -> ConfigError:
    lines = []
    first_field = ""
    first_value: object = None
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "settings"
        if field.upper().startswith(ENV_PREFIX):
            field = field[len(ENV_PREFIX) :].lower()
        name = _env_name(field)
        value = err.get("input")
        if err["type"] == "extra_forbidden":
            expected = "not a Tapewire setting; check the spelling"
        else:
            expected = err["msg"]
        lines.append(f"{name}={value!r}: {expected}")
        if not first_field:
            first_field, first_value = field, value
    return ConfigError(
        "invalid settings: " + "; ".join(lines),
        field=first_field,
        value=first_value,
        hint="fix the environment variable or config file entry named above",
    )
