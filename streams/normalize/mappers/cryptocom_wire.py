"""Typed wire frames of Crypto.com's market websocket (``trade``, ``ticker``, ``book``,
``book.update`` pushes): ``msgspec`` structs decoded straight from the frame bytes by
:meth:`~.cryptocom.CryptocomMapper.map_bytes`.

The rules of :mod:`.gemini_wire` (a struct accepts a frame only where ``orjson.loads`` then
:meth:`~.cryptocom.CryptocomMapper.map` reads the same values): every field typed, unknown
keys refused, integers within int64, the ``method`` literal and the ``channel`` tag (one
decoder, :data:`pushes`, for the four pushes: no byte search for the channel), a book level
exactly ``[price, size, count]`` of strings. Fields the generic path ignores (``tn``,
``tt``, the ticker's statistics) are typed too, so a value ``orjson`` would refuse is not
skipped. Anything else fails to decode (:data:`INVALID`) and the frame takes the generic
path, which names the bad field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

import msgspec

Int = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
"""A JSON integer that ``orjson`` decodes to an ``int`` too."""
Level = tuple[str, str, str]
"""``[price, size, order count]``."""
INVALID = (msgspec.ValidationError, msgspec.DecodeError)
"""What a decoder raises for a frame that is not exactly the typed shape."""

# unknown keys refused; no GC tracking (short-lived, no cycles); kw_only so that fields follow
# the wire's order (msgspec tries the next declared field first)


class Trade(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """One ``trade`` item: id ``d``, ms ``t``, ns text ``tn``, size ``q``, price ``p``, taker
    side ``s``, instrument ``i``, match id ``m``."""

    d: str
    t: Int
    tn: str | None = None
    q: str
    p: str
    s: Literal["BUY", "SELL"]
    i: str | None = None
    m: str | None = None


class Ticker(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """One ``ticker`` item: best bid ``b``/``bs``, best ask ``k``/``ks``, ms ``t``."""

    i: str | None = None
    h: str | None = None
    l: str | None = None  # noqa: E741 (the wire's name)
    a: str | None = None
    c: str | None = None
    b: str | None = None
    bs: str | None = None
    k: str | None = None
    ks: str | None = None
    v: str | None = None
    vv: str | None = None
    oi: str | None = None
    t: Int


class Sides(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """The ``update`` of a ``book.update`` item."""

    asks: list[Level] = []
    bids: list[Level] = []


class Book(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """One ``book`` item (a snapshot)."""

    asks: list[Level] = []
    bids: list[Level] = []
    t: Int
    tt: Int | None = None
    u: Int
    cs: Int | None = None


class Update(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """One ``book.update`` item (a delta following ``pu``)."""

    update: Sides
    t: Int
    tt: Int | None = None
    u: Int
    pu: Int
    cs: Int | None = None


# the four pushes' ``result`` objects, told apart by their ``channel`` (a tagged union: the
# decoder finds the tag wherever it is in the object, then reads that struct's fields)
class TradeResult(
    msgspec.Struct,
    tag_field="channel",
    tag="trade",
    forbid_unknown_fields=True,
    gc=False,
    kw_only=True,
):
    instrument_name: str
    subscription: str | None = None
    data: list[Trade]


class TickerResult(
    msgspec.Struct,
    tag_field="channel",
    tag="ticker",
    forbid_unknown_fields=True,
    gc=False,
    kw_only=True,
):
    instrument_name: str
    subscription: str | None = None
    data: list[Ticker]


class BookResult(
    msgspec.Struct,
    tag_field="channel",
    tag="book",
    forbid_unknown_fields=True,
    gc=False,
    kw_only=True,
):
    instrument_name: str
    subscription: str | None = None
    depth: Int | None = None
    data: list[Book]


class UpdateResult(
    msgspec.Struct,
    tag_field="channel",
    tag="book.update",
    forbid_unknown_fields=True,
    gc=False,
    kw_only=True,
):
    instrument_name: str
    subscription: str | None = None
    depth: Int | None = None
    data: list[Update]


class Push(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """A ``subscribe`` push of one of the four channels."""

    id: Int | None = None
    method: Literal["subscribe"]
    code: Int | None = None
    result: TradeResult | TickerResult | BookResult | UpdateResult


pushes: Callable[[bytes], Push] = msgspec.json.Decoder(Push).decode
