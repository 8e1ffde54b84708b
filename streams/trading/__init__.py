"""Trading pure core: the strategy hook and positions/PnL (no Kafka). See ``docs/trading.md``.

May import: :mod:`~tapewire.streams.execution`, :mod:`~tapewire.streams.risk`,
:mod:`~tapewire.streams.oms`, the other domain cores, :mod:`tapewire.schemas`,
:mod:`tapewire.core`. Pure: no Kafka client, no Faust.
"""

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
