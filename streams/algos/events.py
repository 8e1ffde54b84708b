"""The events of an algo order: its state is a fold of them (``AlgoOrder.apply``).

* :class:`AlgoNew`: the algo order as requested (the whole :class:`AlgoRequest`);
* :class:`LegEvent`: one event of one of its legs. A leg is a smart-order-router
  :class:`~tapewire.streams.sor.parent.ParentOrder` (cum/leaves/average price over its
  children, FIX-like status), so the inner event is one of the SOR's parent events:
  ``ParentNew`` (leg opened), ``ChildrenRouted`` (a child sent), ``ChildFilled``,
  ``ChildDone``, ``CancelRequested``;
* :class:`SliceDue`: TWAP/VWAP slices up to ``slices`` are due (handled);
* :class:`VolumeObserved`: POV saw a public trade of ``size``;
* :class:`AlgoCanceled`: stop the algo (no new child; its open children are canceled).

Events are tagged ``msgspec`` structs, so a journal encodes to JSON and back exactly
(:func:`encode_events`, :func:`decode_events`), as the SOR's parent events do.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import msgspec

from tapewire.streams.algos.request import AlgoRequest
from tapewire.streams.sor.parent import ParentEvent


class AlgoNew(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """An algo order taken on."""

    request: AlgoRequest
    ts_ns: int

    @property
    def algo_id(self) -> str:
        """The request's algo id."""
        return self.request.algo_id


class LegEvent(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """``event`` of the algo's leg ``leg`` (``main``, ``a``/``b``, ``entry``,
    ``tp<k>``/``sl<k>``)."""

    algo_id: str
    leg: str
    event: ParentEvent

    @property
    def ts_ns(self) -> int:
        """The inner event's time."""
        return self.event.ts_ns


class SliceDue(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """The first ``slices`` slices of a TWAP/VWAP are due and handled."""

    algo_id: str
    slices: int
    ts_ns: int


class VolumeObserved(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """A public trade POV counts (``ts_ns`` is its receive time)."""

    algo_id: str
    trade_id: str
    size: Decimal
    ts_ns: int


class AlgoCanceled(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """Stop the algo: no new child; open children are canceled."""

    algo_id: str
    reason: str = ""
    ts_ns: int


AlgoEvent = AlgoNew | LegEvent | SliceDue | VolumeObserved | AlgoCanceled

_EVENTS = msgspec.json.Decoder(list[AlgoEvent])


def encode_events(events: Iterable[AlgoEvent]) -> bytes:
    """Events as one JSON array (decimals as strings, exact)."""
    return msgspec.json.encode(list(events))


def decode_events(data: bytes) -> list[AlgoEvent]:
    """The events of :func:`encode_events`."""
    return _EVENTS.decode(data)
