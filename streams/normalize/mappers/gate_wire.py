"""Typed wire frames of Gate v4 spot ``spot.trades``: ``msgspec`` structs decoded straight
from the frame bytes by :meth:`~.gate.GateMapper.map_bytes`.

A struct accepts a frame only where the generic path (``orjson.loads`` then
:meth:`~.gate.GateMapper.map`) would read the same values, so both give the same events:

* every field is typed (no ``Any``: msgspec accepts values that ``orjson`` refuses, e.g.
  ``1e400``) and any other key is refused (``forbid_unknown_fields``: a skipped value is
  not checked as ``orjson`` checks it); fields the mapper does not read are typed as what
  Gate sends, ``None`` defaults standing for "absent or null";
* integers within int64 (``orjson`` gives an ``int`` up to ``2**64-1``: the rest falls
  back); ``int`` refuses bools and floats, ``str`` refuses null;
* ``channel``, ``event`` and ``side`` literals, so a repeated key (the last one counts, as
  in ``orjson``) must repeat an accepted value.

Anything else fails to decode (:data:`INVALID`) and the frame takes the generic path, which
names the bad field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

import msgspec

Int = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
"""A JSON integer that ``orjson`` decodes to an ``int`` too."""
INVALID = (msgspec.ValidationError, msgspec.DecodeError)
"""What a decoder raises for a frame that is not exactly the typed shape."""


# unknown keys refused; no GC tracking (short-lived, no cycles); kw_only so that fields follow
# the wire's order (msgspec tries the next declared field first)


class Trade(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """One ``spot.trades`` result (``side`` the taker's)."""

    id: Int
    create_time: Int | None = None
    create_time_ms: str
    side: Literal["buy", "sell"]
    currency_pair: str
    amount: str
    price: str
    range: str | None = None


class Trades(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """A ``spot.trades`` update frame: one trade, or a list of them."""

    time: Int | None = None
    time_ms: Int | None = None
    channel: Literal["spot.trades"]
    event: Literal["update"]
    result: Trade | list[Trade]


trades: Callable[[bytes], Trades] = msgspec.json.Decoder(Trades).decode
