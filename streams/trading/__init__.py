"""Trading pure core: the strategy hook and positions/PnL (no Kafka). See ``docs/trading.md``."""

from streams.trading.positions import FillQuality, Position, PositionBook, PositionLimits, Update
from streams.trading.strategy import CrossVenueSpread, SpreadConfig, Strategy

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
