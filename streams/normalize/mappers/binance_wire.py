"""Typed wire frames of Binance spot and USD-M hot channels, for the mappers' ``map_bytes``
(:mod:`.binance`, :mod:`.binanceusdm`).

A frame decodes here only if :func:`orjson.loads` plus the generic ``map`` would give the
same events from it; anything else fails to decode and takes the generic path, which names
the bad field. Hence the strictness:

* every key the frame may carry is declared and any other key is refused
  (``forbid_unknown_fields``): a skipped value is not checked as orjson checks it (invalid
  UTF-8, ``1e400``), and an extra ``data`` / ``stream`` key changes what the generic path
  reads;
* integers within int64 (orjson gives an ``int`` up to ``2**64-1``, a float beyond, which
  the generic path refuses); msgspec's ``int`` refuses bools and floats, ``str``
  refuses null, ``bool`` refuses anything but ``true``/``false``;
* ``e`` the tag of a tagged union (or a literal): the event type the generic path
  dispatches on; a repeated key keeps the last value as orjson does (a repeated ``e`` must
  repeat the same value);
* book levels exactly ``[price, size]`` strings (the generic path also takes longer levels:
  those fall back).

Fields the mapper does not read are still typed (``E``, ``f``, ``l``, ``M``...), so their
values are checked too; ``None`` defaults stand for "may be absent or null", which the
generic path ignores alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

import msgspec

Int = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
"""A JSON integer that orjson decodes to an ``int`` too (it does up to ``2**64-1``, msgspec
bounds only up to int64: the rest fall back)."""


# Every struct: unknown keys refused; no GC tracking (scalars and levels only); kw_only so
# that fields follow the wire's order, optional ones where they come (msgspec matches a key
# against the next declared field first).
class AggTrade(
    msgspec.Struct,
    tag_field="e",
    tag="aggTrade",
    forbid_unknown_fields=True,
    gc=False,
    kw_only=True,
):
    """``aggTrade``: spot and USD-M (``a`` before ``s`` there)."""

    E: Int | None = None
    s: str
    a: Int
    p: str
    q: str
    f: Int | None = None
    l: Int | None = None  # noqa: E741 (the wire's key)
    T: Int
    m: bool
    M: bool | None = None


class Trade(
    msgspec.Struct, tag_field="e", tag="trade", forbid_unknown_fields=True, gc=False, kw_only=True
):
    """``trade`` (``b``/``a`` order ids: older spot frames; ``X`` order type: USD-M)."""

    E: Int | None = None
    s: str
    t: Int
    p: str
    q: str
    b: Int | None = None
    a: Int | None = None
    T: Int
    m: bool
    M: bool | None = None
    X: str | None = None


class Depth(
    msgspec.Struct,
    tag_field="e",
    tag="depthUpdate",
    forbid_unknown_fields=True,
    gc=False,
    kw_only=True,
):
    """``depthUpdate``: spot (``U``/``u``) and USD-M (with ``T``, ``pu``)."""

    E: Int
    T: Int | None = None
    s: str
    U: Int
    u: Int
    pu: Int | None = None
    b: list[tuple[str, str]]
    a: list[tuple[str, str]]


class TaggedTicker(
    msgspec.Struct,
    tag_field="e",
    tag="bookTicker",
    forbid_unknown_fields=True,
    gc=False,
    kw_only=True,
):
    """``bookTicker`` with its ``e`` (USD-M, with ``T`` and ``E``)."""

    u: Int
    s: str
    b: str
    B: str
    a: str
    A: str
    T: Int | None = None
    E: Int | None = None


class Ticker(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """``bookTicker`` without ``e`` first (spot: no ``e``, no time)."""

    e: Literal["bookTicker"] | None = None
    u: Int
    s: str
    b: str
    B: str
    a: str
    A: str
    T: Int | None = None
    E: Int | None = None


Event = AggTrade | Trade | Depth | TaggedTicker
"""A frame with ``e``: msgspec picks the struct from it (a tagged union)."""


class Combined(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """``{"stream": ..., "data": {"e": ...}}``."""

    stream: str
    data: Event


class CombinedTicker(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """``{"stream": ..., "data": {"u": ...}}`` (spot ``bookTicker``)."""

    stream: str
    data: Ticker


Decode = msgspec.json.Decoder
COMBINED: Callable[[bytes], Combined] = Decode(Combined).decode
COMBINED_TICKER: Callable[[bytes], CombinedTicker] = Decode(CombinedTicker).decode
PLAIN: Callable[[bytes], Event] = Decode(Event).decode
PLAIN_TICKER: Callable[[bytes], Ticker] = Decode(Ticker).decode
Errors = (msgspec.ValidationError, msgspec.DecodeError)
"""What a decode of a frame of another shape raises (``ValidationError`` is a
``DecodeError``; both named for clarity)."""
