"""Trading pure core: the strategy hook and positions/PnL (no Kafka). See ``docs/trading.md``."""

from tapewire.streams.trading.positions import (
    FillQuality,
    Position,
    PositionBook,
    PositionLimits,
    Update,
)
from tapewire.streams.trading.strategy import CrossVenueSpread, SpreadConfig, Strategy

__all__ = [
    "CrossVenueSpread",
    "FillQuality",
    "Position",
    "PositionBook",
    "PositionLimits",
    "SpreadConfig",
    "Strategy",
    "Update",
]
