"""Typed wire frames of Bitstamp's ``live_trades_<pair>``, ``order_book_<pair>`` and
``diff_order_book_<pair>`` channels: ``msgspec`` structs decoded straight from the frame
bytes by :meth:`~.bitstamp.BitstampMapper.map_bytes`.

A struct accepts a frame only where the generic path (``orjson.loads`` then
:meth:`~.bitstamp.BitstampMapper.map`) would read the same values, so both give the same
events:

* every field is typed (no ``Any``: msgspec accepts values that ``orjson`` refuses, e.g.
  ``1e400``) and any other key is refused (``forbid_unknown_fields``: a skipped value is
  not checked as ``orjson`` checks it); fields the mapper does not read are typed as what
  Bitstamp sends (``price`` and ``amount`` JSON numbers: ``float`` takes the same literals
  as ``orjson``), ``None`` defaults standing for "absent or null";
* integers within int64 (``orjson`` gives an ``int`` up to ``2**64-1``: the rest falls
  back); ``int`` refuses bools and floats, ``str`` refuses null;
* ``event`` a literal, so a repeated key (the last one counts, as in ``orjson``) must
  repeat it; book levels exactly ``[price, size]`` strings (the generic path also takes
  longer levels: those fall back).

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


class TradeData(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """A ``live_trades`` trade: ``type`` 0 buy, 1 sell (the taker's side)."""

    id: Int
    timestamp: str | None = None
    amount: float | None = None
    amount_str: str
    price: float | None = None
    price_str: str
    type: Int
    microtimestamp: str
    buy_order_id: Int | None = None
    sell_order_id: Int | None = None


class Trade(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """``{"data": {...}, "channel": "live_trades_<pair>", "event": "trade"}``."""

    data: TradeData
    channel: str
    event: Literal["trade"]


class BookData(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """An ``order_book`` snapshot or a ``diff_order_book`` delta."""

    timestamp: str | None = None
    microtimestamp: str
    bids: list[tuple[str, str]]
    asks: list[tuple[str, str]]


class Book(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """``{"data": {...}, "channel": "[diff_]order_book_<pair>", "event": "data"}``."""

    data: BookData
    channel: str
    event: Literal["data"]


Decode = msgspec.json.Decoder
trade: Callable[[bytes], Trade] = Decode(Trade).decode
book: Callable[[bytes], Book] = Decode(Book).decode
