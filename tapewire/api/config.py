"""``[api]`` of the deployment file: where the API listens, its users, tokens and limits."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tapewire.api.tokens import MIN_SECRET_BYTES
from tapewire.core.errors import ConfigError

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ApiConfig(BaseModel):
    """``[api]``: every key is checked at start (unknown keys are refused)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field(default="127.0.0.1", description="listen address")
    port: int = Field(default=8080, ge=1, le=65535)
    users_file: Path = Field(description="TOML file of users (docs/api.md); relative to the file")
    jwt_secret_env: str = Field(
        default="TAPEWIRE_API_JWT_SECRET",
        description="environment variable holding the token signing secret (>= 32 bytes)",
    )
    token_ttl_s: int = Field(default=3600, ge=1, le=7 * 86400)
    rate_limit_per_s: float = Field(default=10.0, gt=0, description="per token, sustained")
    rate_limit_burst: int = Field(default=20, ge=1, description="per token, at once")
    login_attempts_per_minute: int = Field(
        default=5, ge=1, description="per user name and per client address"
    )
    max_rows: int = Field(default=10_000, ge=1, le=1_000_000, description="cap of limit=")
    stream_queue_size: int = Field(
        default=1000,
        ge=1,
        le=1_000_000,
        description="messages a WebSocket may fall behind before it is closed (code 4429)",
    )
    audit: Literal["clickhouse", "file"] = "clickhouse"
    audit_file: Path | None = Field(
        default=None, description="JSON lines file when audit = 'file'; relative to the file"
    )

    @field_validator("jwt_secret_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError(f"{value!r} is not an environment variable name")
        return value

    def secret(self, environ: Mapping[str, str] | None = None) -> bytes:
        """The token signing secret from the environment; :class:`ConfigError` if unset or
        too short."""
        value = (os.environ if environ is None else environ).get(self.jwt_secret_env, "")
        if len(value.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"api.jwt_secret_env: environment variable {self.jwt_secret_env} is "
                f"{'unset' if not value else 'shorter than 32 bytes'}",
                field="api.jwt_secret_env",
                value=self.jwt_secret_env,
                hint=f'export {self.jwt_secret_env}="$(openssl rand -hex 32)"',
            )
        return value.encode()

    def relative_to(self, folder: Path) -> ApiConfig:
        """The config with its relative file paths resolved against ``folder``."""
        users = self.users_file if self.users_file.is_absolute() else folder / self.users_file
        audit = self.audit_file
        if audit is not None and not audit.is_absolute():
            audit = folder / audit
        return self.model_copy(update={"users_file": users, "audit_file": audit})
