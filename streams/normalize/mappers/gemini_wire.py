"""Typed wire frames of Gemini's v2 market data (``trade``, ``l2_updates``): ``msgspec``
structs decoded straight from the frame bytes by :meth:`~.gemini.GeminiMapper.map_bytes`.

A struct accepts a frame only where the generic path (``orjson.loads`` then
:meth:`~.gemini.GeminiMapper.map`) would read the same values, so both give the same events:

* every field is typed (no ``Any``: msgspec accepts values that ``orjson`` refuses, e.g.
  ``1e400``, a 400-digit integer) and any other key is refused (``forbid_unknown_fields``:
  a skipped value is not checked as ``orjson`` checks it);
* integers within int64 (``orjson`` gives an ``int`` up to ``2**64-1``; msgspec bounds
  fit int64: the rest falls back); ``int`` refuses bools and floats, ``str`` refuses null;
* ``type`` a literal: a repeated key keeps its last value, as ``orjson`` does, and each
  occurrence must be the expected type;
* a change exactly ``[side, price, size]``; the first ``l2_updates`` of a subscription (the
  book, with ``trades``) only with an empty ``auction_events`` (what it carries outside
  auctions; auction events vary in shape: those frames take the generic path).

Anything else fails to decode (:data:`INVALID`) and the frame takes the generic path, which
names the bad field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

Int = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
"""A JSON integer that ``orjson`` decodes to an ``int`` too."""
Side = Literal["buy", "sell"]
INVALID = (msgspec.ValidationError, msgspec.DecodeError)
"""What a decoder raises for a frame that is not exactly the typed shape."""


# unknown keys refused; no GC tracking (short-lived, no cycles); kw_only so that fields follow
# the wire's order (msgspec tries the next declared field first)


class Trade(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """``{"type":"trade","symbol":..,"event_id":..,"timestamp":..,"price":..,"quantity":..,
    "side":..}``: a ``trade`` frame, or one of the trades of the first ``l2_updates``."""

    type: Literal["trade"]
    symbol: str
    event_id: Int
    timestamp: Int
    price: str
    quantity: str
    side: Side


class Updates(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """``{"type":"l2_updates","symbol":..,"changes":[[side, price, size], ...]}``, the first
    one of a subscription with ``trades`` and ``auction_events``."""

    type: Literal["l2_updates"]
    symbol: str
    changes: list[tuple[Side, str, str]]
    trades: list[Trade] | UnsetType = UNSET
    auction_events: tuple[()] | UnsetType = UNSET


trade: Callable[[bytes], Trade] = msgspec.json.Decoder(Trade).decode
updates: Callable[[bytes], Updates] = msgspec.json.Decoder(Updates).decode
