"""Typed wire frames of Coinbase Advanced Trade's hot channels (``market_trades``,
``l2_data``): ``msgspec`` structs decoded straight from the frame bytes by
:meth:`~.coinbase.CoinbaseMapper.map_bytes`.

A struct accepts a frame only where the generic path (``orjson.loads`` then
:meth:`~.coinbase.CoinbaseMapper.map`) would read the same values, so both give the same
events:

* every field is typed (no ``Any``: msgspec accepts values that ``orjson`` refuses, e.g.
  ``1e400``) and any other key is refused (``forbid_unknown_fields``: a skipped value is
  not checked as ``orjson`` checks it); fields the mapper does not read are typed as what
  Coinbase sends (text), ``None`` defaults standing for "absent or null";
* ``sequence_num`` an integer within int64 (``orjson`` gives an ``int`` up to
  ``2**64-1``: the rest falls back); ``int`` refuses bools and floats, ``str`` refuses null;
* ``channel`` a literal, so a repeated key (the last one counts, as in ``orjson``) must
  repeat it; a level's ``side`` one of the sides the generic path accepts.

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
    """One trade of a ``market_trades`` event (``side`` is the maker's)."""

    trade_id: str
    product_id: str
    price: str
    size: str
    side: str
    time: str


class TradesEvent(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """``{"type": "snapshot"|"update", "trades": [...]}``."""

    type: str | None = None
    trades: list[Trade] | None = None


class Trades(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """A ``market_trades`` frame."""

    channel: Literal["market_trades"]
    client_id: str | None = None
    timestamp: str | None = None
    sequence_num: Int
    events: list[TradesEvent]


class Update(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """One level of an ``l2_data`` event: absolute quantity, ``"0"`` deletes."""

    side: Literal["bid", "offer", "ask"]
    event_time: str | None = None
    price_level: str
    new_quantity: str


class L2Event(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """``{"type": "snapshot"|"update", "product_id": ..., "updates": [...]}``."""

    type: Literal["snapshot", "update"]
    product_id: str
    updates: list[Update]


class Book(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """An ``l2_data`` frame."""

    channel: Literal["l2_data"]
    client_id: str | None = None
    timestamp: str
    sequence_num: Int
    events: list[L2Event]


trades: Callable[[bytes], Trades] = msgspec.json.Decoder(Trades).decode
book: Callable[[bytes], Book] = msgspec.json.Decoder(Book).decode
