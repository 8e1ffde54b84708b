"""Transaction cost analysis (TCA), pure core: per order and per SOR/algo parent.

From approvals, execution reports, fills, the NBBO, venue quotes and market trades it
computes the arrival mid, implementation shortfall, slippage against the arrival mid and
against the interval VWAP, fees by currency, the venue mix and the fill ratio, in exact
decimals (``docs/tca.md``).

* :mod:`~tapewire.streams.tca.figures`: the figures as pure functions of exact sums;
* :mod:`~tapewire.streams.tca.market`: mids by time, interval volume, recent trades;
* :mod:`~tapewire.streams.tca.orders`: what is kept per order and per parent, the report;
* :mod:`~tapewire.streams.tca.engine`: :class:`TcaEngine`, the bounded incremental state a
  stage drives;
* :mod:`~tapewire.streams.tca.config`: :class:`TcaConfig` (bounds) and the parent tags.

Uses only ``core`` and ``records`` (no other core, no Kafka, no Faust).
"""

from tapewire.streams.tca.config import PARENT_TAGS, QTY_SUFFIX, TcaConfig
from tapewire.streams.tca.engine import TcaEngine, TcaStats
from tapewire.streams.tca.figures import Execution, Figures, fee_in_quote, figures
from tapewire.streams.tca.market import Interval, Mid, MidHistory, mid_of

__all__ = [
    "PARENT_TAGS",
    "QTY_SUFFIX",
    "Execution",
    "Figures",
    "Interval",
    "Mid",
    "MidHistory",
    "TcaConfig",
    "TcaEngine",
    "TcaStats",
    "fee_in_quote",
    "figures",
    "mid_of",
]
