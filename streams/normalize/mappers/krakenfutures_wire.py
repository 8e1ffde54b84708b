"""Typed wire frames of Kraken Futures' hot feeds (``trade``, ``book``, ``ticker_lite``,
``ticker``): ``msgspec`` structs decoded straight from the frame bytes by
:meth:`~.krakenfutures.KrakenFuturesMapper.map_bytes`.

A struct accepts a frame only where the generic path (``KrakenFuturesMapper.decode``, msgspec
with ``float_hook=str``, then ``map``) would read the same values, so both give the same
events:

* decoded with the same ``float_hook=str``: prices and sizes (JSON numbers) are ``Any``
  fields, which msgspec decodes exactly as the untyped decode does (a non-integer number as
  its wire text, an integer as ``int``, any other value as itself); the mapper then takes
  ``str`` and ``int`` and leaves anything else to the generic path;
* every key the frame may carry is declared (unread ones as ``Any``: decoded, hence checked,
  as the generic decode checks them) and any other key is refused
  (``forbid_unknown_fields``): an ``event`` key, or another feed's, changes what the generic
  path does;
* ``feed`` a literal: a repeated key keeps its last value, as in the generic decode, and
  each occurrence must be the expected feed;
* integers within int64 (``int`` refuses bools and floats); ``None`` defaults stand for
  "may be absent or null", which the generic path treats alike; ``UNSET`` for "may be
  absent, not null" (``time``).

Anything else fails to decode (:data:`INVALID`) and the frame takes the generic path, which
names the bad field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

Int = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
"""A JSON integer in int64 (beyond: the generic path)."""
Side = Literal["buy", "sell"]
INVALID = (msgspec.ValidationError, msgspec.DecodeError)
"""What a decoder raises for a frame that is not exactly the typed shape."""


# unknown keys refused; no GC tracking (short-lived, no cycles); kw_only so that fields follow
# the wire's order (msgspec tries the next declared field first), optional ones where they come


class Trade(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """``{"feed":"trade","product_id":..,"uid":..,"side":..,"type":"fill","seq":..,
    "time":..,"qty":..,"price":..}``."""

    feed: Literal["trade"]
    product_id: str
    uid: str
    side: Side
    type: Any = None
    seq: Any = None
    time: Int
    qty: Any
    price: Any


class Book(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """``{"feed":"book","product_id":..,"side":..,"seq":..,"price":..,"qty":..,
    "timestamp":..}``: one level."""

    feed: Literal["book"]
    product_id: str
    side: Side
    seq: Int
    price: Any
    qty: Any
    timestamp: Int


class TickerLite(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """``ticker_lite``: best bid and ask without sizes, no time."""

    feed: Literal["ticker_lite"]
    product_id: str
    bid: Any = None
    ask: Any = None
    change: Any = None
    premium: Any = None
    volume: Any = None
    tag: Any = None
    pair: Any = None
    dtm: Any = None
    maturityTime: Any = None  # noqa: N815 (the wire's key)
    time: Int | UnsetType = UNSET


class Ticker(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """``ticker`` (``time`` first): best bid and ask with sizes, mark and index price,
    funding."""

    time: Int | UnsetType = UNSET
    product_id: str
    funding_rate: Any = None
    funding_rate_prediction: Any = None
    relative_funding_rate: Any = None
    relative_funding_rate_prediction: Any = None
    next_funding_rate_time: Int | None = None
    feed: Literal["ticker"]
    bid: Any = None
    ask: Any = None
    bid_size: Any = None
    ask_size: Any = None
    volume: Any = None
    dtm: Any = None
    leverage: Any = None
    index: Any = None
    premium: Any = None
    last: Any = None
    change: Any = None
    suspended: Any = None
    tag: Any = None
    pair: Any = None
    openInterest: Any = None  # noqa: N815
    markPrice: Any = None  # noqa: N815
    maturityTime: Any = None  # noqa: N815
    post_only: Any = None
    volumeQuote: Any = None  # noqa: N815


def _decoder(kind: type[Any]) -> Callable[[bytes], Any]:
    return msgspec.json.Decoder(kind, float_hook=str).decode


trade: Callable[[bytes], Trade] = _decoder(Trade)
book: Callable[[bytes], Book] = _decoder(Book)
ticker_lite: Callable[[bytes], TickerLite] = _decoder(TickerLite)
ticker: Callable[[bytes], Ticker] = _decoder(Ticker)
