"""Execution algos, pure core: an algo order becomes child orders over time.

* :mod:`~tapewire.streams.algos.request`: :class:`AlgoRequest`, :class:`AlgoKind` and the
  params of each algo (TWAP, VWAP, POV, ICEBERG, OCO, BRACKET), validated;
* :mod:`~tapewire.streams.algos.schedule`: slice schedules and the seeded, counter-based
  randomisation; :mod:`~tapewire.streams.algos.profile`: the VWAP volume profile;
* :mod:`~tapewire.streams.algos.events` and :mod:`~tapewire.streams.algos.state`: the
  events and the event-sourced :class:`AlgoOrder`, whose legs are SOR parent orders;
* :mod:`~tapewire.streams.algos.work`: one input's changes and the children's terms;
  one module per algo family: :mod:`~tapewire.streams.algos.scheduled` (TWAP, VWAP),
  :mod:`~tapewire.streams.algos.pov`, :mod:`~tapewire.streams.algos.iceberg`,
  :mod:`~tapewire.streams.algos.linked` (OCO, bracket);
* :mod:`~tapewire.streams.algos.engine`: :class:`AlgoEngine`, the object a stage drives.

Children are ordinary ``OrderRequest``s: each still passes the risk gate. Trailing stops
and GTD are venue order types, not algos. See ``docs/algos.md``.

May import: :mod:`tapewire.streams.sor` (parent order state, child ids, venue terms),
:mod:`tapewire.streams.execution` (venue rules), :mod:`tapewire.streams.oms`,
:mod:`tapewire.core`. Pure: no Kafka client, no Faust.
"""

from tapewire.streams.algos.engine import AlgoConfig, AlgoEngine
from tapewire.streams.algos.errors import (
    AlgoError,
    AlgoEventError,
    AlgoRequestError,
    UnknownAlgoError,
)
from tapewire.streams.algos.events import (
    AlgoCanceled,
    AlgoEvent,
    AlgoNew,
    LegEvent,
    SliceDue,
    VolumeObserved,
    decode_events,
    encode_events,
)
from tapewire.streams.algos.profile import volume_profile
from tapewire.streams.algos.request import (
    AlgoKind,
    AlgoParams,
    AlgoRequest,
    BracketParams,
    IcebergParams,
    OcoLeg,
    OcoParams,
    PovParams,
    TwapParams,
    VwapParams,
    decode_request,
    encode_request,
)
from tapewire.streams.algos.schedule import Schedule, slice_schedule
from tapewire.streams.algos.state import AlgoOrder, leg_parent_id, rebuild

__all__ = [
    "AlgoCanceled",
    "AlgoConfig",
    "AlgoEngine",
    "AlgoError",
    "AlgoEvent",
    "AlgoEventError",
    "AlgoKind",
    "AlgoNew",
    "AlgoOrder",
    "AlgoParams",
    "AlgoRequest",
    "AlgoRequestError",
    "BracketParams",
    "IcebergParams",
    "LegEvent",
    "OcoLeg",
    "OcoParams",
    "PovParams",
    "Schedule",
    "SliceDue",
    "TwapParams",
    "UnknownAlgoError",
    "VolumeObserved",
    "VwapParams",
    "decode_events",
    "decode_request",
    "encode_events",
    "encode_request",
    "leg_parent_id",
    "rebuild",
    "slice_schedule",
    "volume_profile",
]
