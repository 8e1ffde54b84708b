"""Typed wire frames of Kraken spot websocket v1's hot channels (``trade``, ``book-N``,
``ticker``) for :meth:`~.kraken.KrakenMapper.map_bytes`, and the v1 time parser.

A frame decodes here only where the generic path (``KrakenMapper.decode``: msgspec with
``float_hook=str``, else the standard decoder; then ``map``) reads the same values from it:

* the frame an array of exactly the expected length (``[channelID, payload(s), channelName,
  pair]``; two payloads for a book update at most), ``channelID`` an int64;
* prices, sizes, times, sides and the checksum JSON strings (a JSON number in their place,
  which the generic path turns into text or refuses, falls back); trades exactly 6
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
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

Int = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
"""A JSON integer in int64 (beyond: the generic path)."""
Trade = tuple[str, str, str, str, str, str]
"""``[price, volume, time, side, orderType, misc]``: exactly Kraken's six strings, a tuple
(one allocation; any other length or a non-string: the generic path)."""
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


trade: Callable[[bytes], tuple[int, list[Trade], str, str]] = _decoder(
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


# ---------------------------------------------------------------------------------- v2
# Objects, decoded with float_hook=str as the generic path decodes them: prices and sizes
# (JSON numbers) are ``Any`` fields holding what the untyped decode holds (a non-integer
# number as its text, an integer as ``int``); the mapper takes ``str`` and ``int`` only.


class V2Trade(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """One trade of a v2 ``trade`` frame."""

    symbol: str
    side: str
    price: Any
    qty: Any
    ord_type: Any = None
    trade_id: Int
    timestamp: str


class V2Trades(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """``{"channel": "trade", "type": ..., "data": [...]}``."""

    channel: Literal["trade"]
    type: Any = None
    data: list[V2Trade]


class V2Level(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """``{"price": ..., "qty": ...}``."""

    price: Any
    qty: Any


class V2BookItem(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """One book of a v2 ``book`` frame (``timestamp`` may be absent, not null)."""

    symbol: str
    bids: list[V2Level] = []
    asks: list[V2Level] = []
    checksum: Int
    timestamp: str | UnsetType = UNSET


class V2Book(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """``{"channel": "book", "type": "snapshot" | "update", "data": [...]}``."""

    channel: Literal["book"]
    type: Literal["snapshot", "update"]
    data: list[V2BookItem]


class V2TickerItem(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """One instrument of a v2 ``ticker`` frame: best bid and ask; the rest unread."""

    symbol: str
    bid: Any
    bid_qty: Any
    ask: Any
    ask_qty: Any
    last: Any = None
    volume: Any = None
    vwap: Any = None
    low: Any = None
    high: Any = None
    change: Any = None
    change_pct: Any = None
    timestamp: str | UnsetType = UNSET


class V2Ticker(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """``{"channel": "ticker", "type": ..., "data": [...]}``."""

    channel: Literal["ticker"]
    type: Any = None
    data: list[V2TickerItem]


v2_trades: Callable[[bytes], V2Trades] = _decoder(V2Trades)
v2_book: Callable[[bytes], V2Book] = _decoder(V2Book)
v2_ticker: Callable[[bytes], V2Ticker] = _decoder(V2Ticker)

_INT_TEXT_MAX = 2**64
"""An integer price or size beyond this takes the generic path (``str()`` of a huge int
can raise)."""


def number(value: Any) -> str | None:
    """A v2 price or size as :func:`~.common.number_text` gives it; None for anything that
    function would refuse (the generic path then names it)."""
    kind = value.__class__
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is int and -_INT_TEXT_MAX < value < _INT_TEXT_MAX:
        return str(value)
    return None
