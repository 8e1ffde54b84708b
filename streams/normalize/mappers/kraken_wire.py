"""Typed wire frames of Kraken spot websocket v1's hot channels (``trade``, ``book-N``,
``ticker``) for :meth:`~.kraken.KrakenMapper.map_bytes`, and the v1 time parser.

A frame decodes here only where the generic path (``KrakenMapper.decode``: msgspec with
``float_hook=str``, else the standard decoder; then ``map``) reads the same values from it:

* the frame an array of exactly the expected length (``[channelID, payload(s), channelName,
  pair]``; two payloads for a book update at most), ``channelID`` an int64;
* prices, sizes, times, sides and the checksum JSON strings (a JSON number in their place,
  which the generic path turns into text or refuses, falls back); trades at least 4
  strings, book levels 3 or 4 (``"r"``: republished), ticker sides
  ``[price, whole lot volume, lot volume]`` (the middle one any JSON value, unread);
* every key of a book payload or a ticker declared, any other refused
  (``forbid_unknown_fields``): the generic path ignores an unknown key, but msgspec does
  not check a skipped value as the untyped decode does; the ticker's unread keys are ``Any``
  (decoded, hence checked);
* a repeated key keeps its last value, as the untyped decode does.

Anything else raises :data:`INVALID` and the frame takes the generic path, which names the
bad field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType

Int = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
"""A JSON integer in int64 (beyond: the generic path)."""
Trade = Annotated[list[str], msgspec.Meta(min_length=4)]
"""``[price, volume, time, side, orderType, misc]``."""
Level = Annotated[list[str], msgspec.Meta(min_length=3, max_length=4)]
"""``[price, volume, time]`` or ``[price, volume, time, "r"]``."""
Levels = list[Level]
INVALID = (msgspec.ValidationError, msgspec.DecodeError)
"""What a decoder raises for a frame that is not exactly the typed shape."""


class BookPayload(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """One book payload: ``as``/``bs`` (snapshot) or ``a``/``b`` (updates), ``c``
    (checksum); absent keys ``UNSET``."""

    as_: Levels | UnsetType = msgspec.field(default=UNSET, name="as")
    bs: Levels | UnsetType = UNSET
    a: Levels | UnsetType = UNSET
    b: Levels | UnsetType = UNSET
    c: str | UnsetType = UNSET


class Book(msgspec.Struct, array_like=True, gc=False):
    """``[channelID, payload, name, pair]`` or ``[channelID, payload, payload, name, pair]``
    (then ``second`` is the second payload and ``name``/``pair`` are one place on)."""

    channel_id: Int
    first: BookPayload
    second: BookPayload | str
    name: str
    pair: str | UnsetType = UNSET


Side = tuple[str, Any, str]
"""``[price, whole lot volume, lot volume]``."""


class TickerPayload(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """The ticker object: best ask and bid; the rest unread."""

    a: Side
    b: Side
    c: Any = None
    v: Any = None
    p: Any = None
    t: Any = None
    l: Any = None  # noqa: E741 (the wire's key)
    h: Any = None
    o: Any = None


def _decoder(kind: Any) -> Callable[[bytes], Any]:
    return msgspec.json.Decoder(kind, float_hook=str).decode


trade: Callable[[bytes], tuple[int, list[list[str]], str, str]] = _decoder(
    tuple[Int, list[Trade], str, str]
)
book: Callable[[bytes], Book] = _decoder(Book)
ticker: Callable[[bytes], tuple[int, TickerPayload, str, str]] = _decoder(
    tuple[Int, TickerPayload, str, str]
)

_SCALE: tuple[int, ...] = tuple(10 ** (9 - n) for n in range(10))
"""Nanoseconds per unit of the last digit of a fraction ``n`` digits long."""


def seconds_ns(text: str) -> int | None:
    """v1 time ``"1534614057.321597"`` -> ns, exactly; None unless ASCII digits with at most
    one ``.``, at most 9 decimals and 19 whole digits (then the caller's slow path decides)."""
    if len(text) == 17 and text[10] == ".":  # Kraken's own: 10 digits, 6 decimals
        digits = text.replace(".", "")
        if digits.isdigit() and digits.isascii():
            return int(digits) * 1000
        return None
    whole, _, frac = text.partition(".")
    if (
        len(frac) > 9
        or len(whole) > 19
        or not whole.isdigit()
        or not text.isascii()
        or (frac and not frac.isdigit())
    ):
        return None
    return int(whole + frac) * _SCALE[len(frac)]
