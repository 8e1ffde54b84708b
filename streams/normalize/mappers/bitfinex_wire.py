"""Typed wire frames of Bitfinex's hot channels (``te``/``tu`` trades, book levels, book
snapshots, ``cs`` checksums, tickers): array-like ``msgspec`` structs decoded straight from
the frame bytes by :meth:`~.bitfinex.BitfinexMapper.map_bytes`.

A struct accepts a frame only where the generic path (``decode`` then ``map``) reads the same
values from it:

* prices and amounts are ``Any`` decoded with a ``float_hook`` (a non-integer keeps its
  wire text, as the generic path's msgspec decode gives it); the mapper checks them as
  the generic path does and falls back on an integer 0 (it may be ``-0`` on the wire);
* integers within int64 (``int`` refuses bools and floats); the ticker's unread fields are
  numbers (``float`` takes integers too);
* no extra trailing element (``forbid_unknown_fields``: a skipped value is not checked) but
  the sequence number that the ``SEQ_ALL`` conf flag appends (which the mapper ignores).

Anything else fails to decode (:data:`INVALID`) and the frame takes the generic path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

import msgspec

Int = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
Count = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
"""A book level's order count (the generic path rejects a negative one)."""
INVALID = (msgspec.ValidationError, msgspec.DecodeError)
"""What a decoder raises for a frame that is not exactly the typed shape."""


# array-like (the wire's positional arrays); extra elements refused; no GC tracking
class Trade(msgspec.Struct, array_like=True, forbid_unknown_fields=True, gc=False):
    """``[id, mts, amount, price]``."""

    id: Int
    mts: Int
    amount: Any
    price: Any


class TradeFrame(msgspec.Struct, array_like=True, forbid_unknown_fields=True, gc=False):
    """``[chanId, "te" | "tu", trade(, sequence)]``."""

    chan: Int
    kind: Literal["te", "tu"]
    trade: Trade
    sequence: Int | None = None


class Level(msgspec.Struct, array_like=True, forbid_unknown_fields=True, gc=False):
    """``[price, count, amount]``."""

    price: Any
    count: Count
    amount: Any


class LevelFrame(msgspec.Struct, array_like=True, forbid_unknown_fields=True, gc=False):
    """``[chanId, level]``: one book change."""

    chan: Int
    level: Level
    sequence: Int | None = None


class SnapshotFrame(msgspec.Struct, array_like=True, forbid_unknown_fields=True, gc=False):
    """``[chanId, [level, ...]]``: the book's snapshot."""

    chan: Int
    levels: list[Level]
    sequence: Int | None = None


class ChecksumFrame(msgspec.Struct, array_like=True, forbid_unknown_fields=True, gc=False):
    """``[chanId, "cs", checksum]``."""

    chan: Int
    kind: Literal["cs"]
    checksum: Int
    sequence: Int | None = None


class Ticker(msgspec.Struct, array_like=True, forbid_unknown_fields=True, gc=False):
    """``[bid, bid_size, ask, ask_size, ...]`` (daily change, last, volume, high, low)."""

    bid: Any
    bid_size: Any
    ask: Any
    ask_size: Any
    change: float | None = None
    change_relative: float | None = None
    last: float | None = None
    volume: float | None = None
    high: float | None = None
    low: float | None = None


class TickerFrame(msgspec.Struct, array_like=True, forbid_unknown_fields=True, gc=False):
    """``[chanId, ticker]``."""

    chan: Int
    ticker: Ticker
    sequence: Int | None = None


def _decoder(kind: type[Any]) -> Callable[[bytes], Any]:
    # str.strip: the text as it is (a JSON number has no whitespace), for half what a
    # call of str costs (~300 instructions a number)
    return msgspec.json.Decoder(kind, float_hook=str.strip).decode


trade_frame: Callable[[bytes], TradeFrame] = _decoder(TradeFrame)
level_frame: Callable[[bytes], LevelFrame] = _decoder(LevelFrame)
snapshot_frame: Callable[[bytes], SnapshotFrame] = _decoder(SnapshotFrame)
checksum_frame: Callable[[bytes], ChecksumFrame] = _decoder(ChecksumFrame)
ticker_frame: Callable[[bytes], TickerFrame] = _decoder(TickerFrame)
