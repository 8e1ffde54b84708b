"""Risk limits per account and instrument (pydantic, frozen, validated at start)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tapewire.core.instruments import Instrument, InstrumentError


class TradingState(StrEnum):
    """Avro ``TradingState``: UNKNOWN is treated as HALTED (fail closed)."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"
    UNKNOWN = "UNKNOWN"

    @property
    def severity(self) -> int:
        """0 ACTIVE, 1 REDUCING, 2 HALTED or UNKNOWN."""
        return {"ACTIVE": 0, "REDUCING": 1}.get(self.value, 2)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class InstrumentLimits(_Frozen):
    """Limits of one account in one instrument (quantities in base units)."""

    max_order_qty: Decimal = Field(gt=0)
    max_order_notional: Decimal = Field(gt=0, description="quote currency")
    max_position: Decimal = Field(gt=0, description="absolute, incl. open orders")
    price_band_bps: Decimal = Field(gt=0, description="max |price - NBBO mid| in bps of mid")
    qty_increment: Decimal | None = Field(
        default=None, gt=0, description="lot: a quantity must be a multiple (FIX RoundLot)"
    )
    price_increment: Decimal | None = Field(
        default=None,
        gt=0,
        description="tick: limit/stop prices and price trailing offsets must be a multiple "
        "(FIX MinPriceIncrement)",
    )


class AccountLimits(_Frozen):
    """Limits of one account; ``instruments`` lists every instrument it may trade."""

    instruments: dict[str, InstrumentLimits]
    max_open_orders: int = Field(gt=0)
    max_orders_per_window: int = Field(gt=0)
    rate_window_ms: int = Field(gt=0)
    daily_loss_limit: Decimal = Field(gt=0, description="deny risk-increasing orders at -limit")
    stale_quote_ms: int = Field(gt=0, description="reference quote older than this: deny")

    @field_validator("instruments")
    @classmethod
    def _canonical(cls, value: dict[str, InstrumentLimits]) -> dict[str, InstrumentLimits]:
        for key in value:
            try:
                canonical = Instrument.parse(key).id
            except InstrumentError as exc:  # not a ValueError: pydantic would not report it
                raise ValueError(f"instrument {key!r}: {exc.message}") from None
            if canonical != key:
                raise ValueError(f"instrument {key!r} is not canonical; write {canonical}")
        return value


class RiskConfig(_Frozen):
    """Every account the gate knows; requests of any other account are denied."""

    accounts: dict[str, AccountLimits]
    initial_state: TradingState = TradingState.ACTIVE
    seen_ids_per_account: int = Field(
        default=100_000,
        gt=0,
        description="duplicate-id window: the last N client order ids per account are denied",
    )
