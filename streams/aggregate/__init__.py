"""Pure aggregation core: OHLCV bars, per-venue BBO from L2 books, consolidated book and NBBO.

No Kafka here: the Faust agents feed records (dicts as the Avro codec decodes them) in and
publish what comes out. See ``docs/aggregation.md`` for the semantics and config knobs.

May import: :mod:`tapewire.schemas`, :mod:`tapewire.core`. Pure: no Kafka client, no Faust.
"""

from tapewire.streams.aggregate.bars import BarAggregator, BarConfig, Interval
from tapewire.streams.aggregate.bbo import BboConfig, BookBbo, L2Book
from tapewire.streams.aggregate.common import Rejected
from tapewire.streams.aggregate.consolidated import (
    ConsolidatedBook,
    MarketCondition,
    NbboAggregator,
    NbboConfig,
    QuoteGroup,
    market_condition,
)
from tapewire.streams.aggregate.depth import DepthConfig, DepthPublisher

__all__ = [
    "BarAggregator",
    "BarConfig",
    "BboConfig",
    "BookBbo",
    "ConsolidatedBook",
    "DepthConfig",
    "DepthPublisher",
    "Interval",
    "L2Book",
    "MarketCondition",
    "NbboAggregator",
    "NbboConfig",
    "QuoteGroup",
    "Rejected",
    "market_condition",
]
