"""Simulator configuration: frozen pydantic models validated once, at construction.

Prices, sizes and basis points are :class:`~decimal.Decimal` (give them as strings);
fault probabilities are plain numbers because they are odds, not market values.
:func:`load_sim_config` turns a validation failure into a
:class:`~tapewire.core.errors.ConfigError` that names the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tapewire.core.errors import ConfigError

VenueName = Literal["binance", "okx"]

SUPPORTED_VENUES: tuple[VenueName, ...] = ("binance", "okx")
DEFAULT_N_FRAMES = 100_000
DEFAULT_START_NS = 1_704_067_200_000_000_000  # 2024-01-01T00:00:00Z

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class ListingSpec(BaseModel):
    """Trading rules of one instrument on one venue (as its market metadata states them)."""

    model_config = _FROZEN

    tick_size: Decimal = Field(gt=0, description="price increment")
    lot_size: Decimal = Field(gt=0, description="size increment")
    min_size: Decimal = Field(gt=0, description="smallest order size")

    @model_validator(mode="after")
    def _min_is_a_lot_multiple(self) -> Self:
        if (self.min_size / self.lot_size) % 1 != 0:
            raise ValueError("min_size must be a multiple of lot_size")
        return self


# Real tick/lot rules of the default instruments (Binance exchangeInfo, OKX instruments).
DEFAULT_LISTINGS: dict[tuple[str, str], ListingSpec] = {
    ("binance", "BTC/USDT"): ListingSpec(
        tick_size=Decimal("0.01"), lot_size=Decimal("0.00001"), min_size=Decimal("0.00001")
    ),
    ("binance", "ETH/USDT"): ListingSpec(
        tick_size=Decimal("0.01"), lot_size=Decimal("0.0001"), min_size=Decimal("0.0001")
    ),
    ("binance", "SOL/USDT"): ListingSpec(
        tick_size=Decimal("0.01"), lot_size=Decimal("0.001"), min_size=Decimal("0.001")
    ),
    ("okx", "BTC/USDT"): ListingSpec(
        tick_size=Decimal("0.1"), lot_size=Decimal("0.00000001"), min_size=Decimal("0.00001")
    ),
    ("okx", "ETH/USDT"): ListingSpec(
        tick_size=Decimal("0.01"), lot_size=Decimal("0.000001"), min_size=Decimal("0.0001")
    ),
    ("okx", "SOL/USDT"): ListingSpec(
        tick_size=Decimal("0.01"), lot_size=Decimal("0.000001"), min_size=Decimal("0.001")
    ),
}


class InstrumentSpec(BaseModel):
    """One instrument: its shared "true" mid random walk and typical liquidity."""

    model_config = _FROZEN

    symbol: str = Field(pattern=r"^[A-Z0-9]+/[A-Z0-9]+$", description="ccxt unified spot symbol")
    start_price: Decimal = Field(gt=0)
    step_bp: Decimal = Field(
        default=Decimal("0.02"), ge=0, description="random-walk step per event, basis points"
    )
    typical_size: Decimal = Field(gt=0, description="mean size of a book level, base units")
    listings: dict[str, ListingSpec] = Field(
        default_factory=dict, description="venue -> trading rules (defaults: DEFAULT_LISTINGS)"
    )

    def listing(self, venue: str) -> ListingSpec | None:
        """Rules on ``venue``: the explicit one, else the built-in default, else ``None``."""
        return self.listings.get(venue) or DEFAULT_LISTINGS.get((venue, self.symbol))


class VenueSpec(BaseModel):
    """One simulated venue."""

    model_config = _FROZEN

    name: VenueName
    offset_bp: Decimal = Field(
        default=Decimal(0), ge=-100, le=100, description="venue mid minus true mid, bp"
    )
    latency_us: int = Field(
        default=2_000, ge=0, le=10_000_000, description="venue clock lag behind the sim clock"
    )


class ChannelMix(BaseModel):
    """Relative weights of the event kinds (each event emits one frame, or a few)."""

    model_config = _FROZEN

    trades: int = Field(default=3, ge=0)
    book: int = Field(default=5, ge=0)
    bbo: int = Field(default=2, ge=0)

    @model_validator(mode="after")
    def _not_all_zero(self) -> Self:
        if self.trades + self.book + self.bbo == 0:
            raise ValueError("at least one channel weight must be positive")
        return self


class FaultSpec(BaseModel):
    """Fault injection for tests; everything is off by default."""

    model_config = _FROZEN

    drop_delta: float = Field(
        default=0.0, ge=0, le=1, description="chance a book delta is lost (sequence gap)"
    )
    truncate: float = Field(
        default=0.0, ge=0, le=1, description="chance a truncated copy precedes a ws frame"
    )


def _default_venues() -> tuple[VenueSpec, ...]:
    return (
        VenueSpec(name="binance", latency_us=1_500),
        VenueSpec(name="okx", offset_bp=Decimal("0.5"), latency_us=3_000),
    )


def _default_instruments() -> tuple[InstrumentSpec, ...]:
    return (
        InstrumentSpec(symbol="BTC/USDT", start_price=Decimal(65000), typical_size=Decimal("0.4")),
        InstrumentSpec(symbol="ETH/USDT", start_price=Decimal(3500), typical_size=Decimal(6)),
        InstrumentSpec(symbol="SOL/USDT", start_price=Decimal(150), typical_size=Decimal(80)),
    )


class SimConfig(BaseModel):
    """Everything a simulation run depends on. Same config, same bytes."""

    model_config = _FROZEN

    seed: int = 0
    venues: tuple[VenueSpec, ...] = Field(default_factory=_default_venues, min_length=1)
    instruments: tuple[InstrumentSpec, ...] = Field(
        default_factory=_default_instruments, min_length=1
    )
    n_frames: int | None = Field(default=None, ge=0, description="stop after this many frames")
    duration_s: Decimal | None = Field(
        default=None, gt=0, description="or stop after this much simulated time"
    )
    rate: int = Field(default=10_000, ge=1, le=100_000_000, description="frames per sim second")
    start_ns: int = Field(default=DEFAULT_START_NS, ge=0, description="sim clock start, UTC ns")
    mix: ChannelMix = Field(default_factory=ChannelMix)
    book_depth: int = Field(default=20, ge=2, le=400, description="levels per side, at most")
    spread_ticks: int = Field(default=1, ge=1, le=1000, description="quoted spread, in ticks")
    snapshot_after: int = Field(
        default=3, ge=1, description="Binance: REST depth snapshot after this many deltas"
    )
    resync_after: int = Field(
        default=3, ge=1, description="book events after a lost delta until the resync snapshot"
    )
    faults: FaultSpec = Field(default_factory=FaultSpec)
    rest_markets: bool = Field(default=True, description="emit market metadata frames first")
    ground_truth: bool = Field(default=True, description="record expected trades and quotes")
    endless: bool = Field(
        default=False,
        description="no frame or time limit: run until the caller stops iterating (a paced "
        "live feed); n_frames and duration_s must be unset",
    )

    @field_validator("venues", mode="before")
    @classmethod
    def _venue_names(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return tuple({"name": v} if isinstance(v, str) else v for v in value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.n_frames is not None and self.duration_s is not None:
            raise ValueError("give n_frames or duration_s, not both")
        if self.endless and (self.n_frames is not None or self.duration_s is not None):
            raise ValueError("endless runs take neither n_frames nor duration_s")
        names = [v.name for v in self.venues]
        if len(set(names)) != len(names):
            raise ValueError(f"venues listed twice: {names}")
        symbols = [i.symbol for i in self.instruments]
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"instruments listed twice: {symbols}")
        for inst in self.instruments:
            for venue in names:
                if inst.listing(venue) is None:
                    raise ValueError(
                        f"{inst.symbol} has no tick/lot rules for {venue}: add "
                        f"instruments[].listings[{venue!r}]"
                    )
        return self

    @property
    def frame_limit(self) -> int | None:
        """Frames to emit, or ``None`` when the run is bounded by ``duration_s`` (or
        ``endless``)."""
        if self.duration_s is not None or self.endless:
            return None
        return DEFAULT_N_FRAMES if self.n_frames is None else self.n_frames

    @property
    def duration_ns(self) -> int | None:
        """Simulated run time in ns, or ``None`` when bounded by a frame count."""
        if self.duration_s is None:
            return None
        return int(self.duration_s * 1_000_000_000)


def load_sim_config(data: Mapping[str, Any] | None = None, **overrides: Any) -> SimConfig:
    """Validate ``data`` (plus ``overrides``); a bad value raises ``ConfigError`` naming it."""
    merged = {**(data or {}), **overrides}
    try:
        return SimConfig.model_validate(merged)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(["simulator", *(str(p) for p in err["loc"])])
        details = "; ".join(
            f"{'.'.join(['simulator', *(str(p) for p in e['loc'])])}: {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigError(
            f"invalid simulator config: {details}",
            field=field,
            value=err.get("input"),
            hint="fix the simulator setting named above",
        ) from None
