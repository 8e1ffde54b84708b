"""Configuration of one live connector (one ccxt.pro exchange)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tapewire.core.errors import ConfigError

Channel = Literal["trades", "book", "bbo"]


class LiveConfig(BaseModel):
    """One exchange, its symbols and channels, and the reconnect policy."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    exchange: str = Field(description="ccxt.pro exchange id, e.g. binance")
    symbols: tuple[str, ...] = Field(min_length=1, description="ccxt unified symbols")
    channels: tuple[Channel, ...] = Field(default=("trades", "book", "bbo"), min_length=1)
    book_limit: int | None = Field(default=None, ge=1, description="L2 depth; None = ccxt's")
    ws_url: str | None = Field(
        default=None, description="replace every websocket URL of the exchange (fake/testnet)"
    )
    rest_base_url: str | None = Field(
        default=None, description="replace scheme://host:port of every REST URL of the exchange"
    )
    stale_after_s: float = Field(
        default=30.0, gt=0, description="no frame for this long: reconnect"
    )
    backoff_base_s: float = Field(default=0.5, gt=0)
    backoff_cap_s: float = Field(default=30.0, gt=0)
    healthy_after_s: float = Field(
        default=30.0, gt=0, description="a session this long with frames resets the backoff"
    )
    default_429_s: float = Field(default=1.0, ge=0, description="429 without Retry-After")
    default_418_s: float = Field(default=60.0, ge=0, description="418 (ban) without Retry-After")
    options: dict[str, Any] = Field(
        default_factory=dict, description="extra ccxt options (deep-merged)"
    )

    @field_validator("exchange")
    @classmethod
    def _known_exchange(cls, value: str) -> str:
        import ccxt.pro

        if value not in ccxt.pro.exchanges:
            raise ValueError(f"{value!r} is not a ccxt.pro exchange")
        return value

    @classmethod
    def load(cls, **values: Any) -> LiveConfig:
        """Validate; a bad value raises :class:`ConfigError` naming the field."""
        try:
            return cls(**values)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "live"
            raise ConfigError(
                f"invalid connector config: {field}: {err['msg']}",
                field=field,
                value=err.get("input"),
                hint="see docs/connectors.md for the connector settings",
            ) from None
