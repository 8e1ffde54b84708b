"""Typed wire frames of KuCoin spot's hot topics (``/market/match``, ``/market/level2``,
``/market/ticker``): ``msgspec`` structs decoded straight from the frame bytes by
:meth:`~.kucoin.KucoinMapper.map_bytes`.

A struct accepts a frame only where the generic path (``orjson.loads`` then
:meth:`~.kucoin.KucoinMapper.map`) would read the same values, so both give the same events:

* every field is typed and any other key is refused (``forbid_unknown_fields``: a skipped
  value is not checked as ``orjson`` checks it); fields the mapper does not read are typed
  as what KuCoin sends, ``None`` defaults standing for "absent or null";
* integers within int64 (``orjson`` gives an ``int`` up to ``2**64-1``: the rest falls
  back); ``int`` refuses bools and floats, ``str`` refuses null;
* ``type`` and ``side`` literals, so a repeated key (the last one counts, as in ``orjson``)
  must repeat an accepted value;
* book changes exactly ``[price, size, sequence]`` strings (the generic path also takes
  other lengths: those fall back).

The topic is checked by the mapper (the generic path dispatches on its prefix). Anything
else fails to decode (:data:`INVALID`) and the frame takes the generic path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

import msgspec

Int = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
"""A JSON integer that ``orjson`` decodes to an ``int`` too."""
INVALID = (msgspec.ValidationError, msgspec.DecodeError)
"""What a decoder raises for a frame that is not exactly the typed shape."""


# unknown keys refused; no GC tracking (short-lived, no cycles); camelCase keys; kw_only so
# that fields follow the wire's order (msgspec tries the next declared field first)
class Trade(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True, rename="camel"):
    """``/market/match`` data (``side`` the taker's, ``time`` in ns as text)."""

    maker_order_id: str | None = None
    price: str
    sequence: str | None = None
    side: Literal["buy", "sell"]
    size: str
    symbol: str
    taker_order_id: str | None = None
    time: str | Int
    trade_id: str
    type: str | None = None


class Ticker(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True, rename="camel"):
    """``/market/ticker`` data (``time`` in ms)."""

    sequence: str | None = None
    price: str | None = None
    size: str | None = None
    best_ask: str
    best_ask_size: str
    best_bid: str
    best_bid_size: str
    time: Int


class Changes(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True, rename="camel"):
    """``[price, size, sequence]`` changes per side."""

    asks: list[tuple[str, str, str]]
    bids: list[tuple[str, str, str]]


class Delta(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True, rename="camel"):
    """``/market/level2`` data (``time`` in ms)."""

    changes: Changes
    sequence_end: Int
    sequence_start: Int
    symbol: str
    time: Int


class TradeFrame(
    msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True, rename="camel"
):
    """A ``/market/match:<symbol>`` message."""

    type: Literal["message"]
    topic: str
    subject: str | None = None
    data: Trade


class TickerFrame(
    msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True, rename="camel"
):
    """A ``/market/ticker:<symbol>`` message."""

    type: Literal["message"]
    topic: str
    subject: str | None = None
    data: Ticker


class DeltaFrame(
    msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True, rename="camel"
):
    """A ``/market/level2:<symbol>`` message."""

    type: Literal["message"]
    topic: str
    subject: str | None = None
    data: Delta


trade_frame: Callable[[bytes], TradeFrame] = msgspec.json.Decoder(TradeFrame).decode
ticker_frame: Callable[[bytes], TickerFrame] = msgspec.json.Decoder(TickerFrame).decode
delta_frame: Callable[[bytes], DeltaFrame] = msgspec.json.Decoder(DeltaFrame).decode
