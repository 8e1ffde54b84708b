"""Typed wire frames of Bitget's v2 ``books`` channel: ``msgspec`` structs decoded straight
from the frame bytes by :meth:`~.bitget.BitgetMapper.map_bytes`.

The rules of :mod:`.gemini_wire` (a struct accepts a frame only where ``orjson.loads`` then
:meth:`~.bitget.BitgetMapper.map` reads the same values): every field typed, unknown keys
refused (an ``event`` key makes the generic path ignore the frame), integers within int64,
the ``action`` and ``channel`` literals, a level exactly ``[price, size]`` of strings.
``seq`` as text (which the generic path accepts too) and ``ts`` that is not ASCII digits
are left to the generic path by the mapper. Anything else fails to decode
(:data:`INVALID`) and the frame takes the generic path, which names the bad field.
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


class Arg(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """``{"instType":..,"channel":"books","instId":..}``."""

    instType: str  # noqa: N815 (the wire's name)
    channel: Literal["books"]
    instId: str  # noqa: N815


class Book(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """One ``data`` item: levels, checksum (0 on a snapshot), ``seq``, ms ``ts`` as text."""

    asks: list[tuple[str, str]]
    bids: list[tuple[str, str]]
    checksum: Int | None = None
    seq: Int | None = None
    ts: str


class Books(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """A ``books`` push: ``snapshot`` or ``update``."""

    action: Literal["snapshot", "update"]
    arg: Arg
    data: list[Book]
    ts: Int | None = None


books: Callable[[bytes], Books] = msgspec.json.Decoder(Books).decode
