"""Typed wire frames of HTX's hot channels (``trade.detail``, ``mbp.$levels`` deltas,
``bbo``): ``msgspec`` structs decoded from the inflated frame by
:meth:`~.htx.HtxMapper.map_bytes`.

A struct accepts a frame only where the generic path (:func:`~.htx.decode_gzip_json`, the
standard decoder with every number as its wire text, then :meth:`~.htx.HtxMapper.map`)
would read the same values, so both give the same events:

* decoded with ``float_hook=str``: a non-integer number is its wire text; prices and sizes
  are ``Any`` fields (an integer is an ``int``, whose ``str`` is its wire text when the
  frame has no ``-``, which the mapper requires: ``-0`` would print as ``0``); the mapper
  takes ``str`` and ``int`` values and leaves anything else to the generic path;
* integer fields (ids, times, sequence numbers) as ``int``: JSON integers only, as the
  generic path's ``isdigit`` check takes them (a ``"123"`` string, which it takes too,
  fails here and falls back);
* every key the frame may carry is declared (unread ones as ``Any``: decoded, hence
  checked, as the standard decoder checks them) and any other key is refused
  (``forbid_unknown_fields``): a skipped value is not checked (invalid UTF-8...), and a
  ``rep`` or ``status`` key is another kind of frame;
* a book level exactly ``[price, size]``; ``bids`` / ``asks`` of a delta may be absent
  (``[]``, as the generic path reads them) but not null.

Anything else fails to decode (:data:`INVALID`) and the frame takes the generic path, which
names the bad field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import msgspec

INVALID = (msgspec.ValidationError, msgspec.DecodeError)
"""What a decoder raises for a frame that is not exactly the typed shape."""
Level = tuple[Any, Any]
"""``[price, size]`` (JSON numbers)."""


# unknown keys refused; no GC tracking (short-lived, no cycles); kw_only so that fields follow
# the wire's order (msgspec tries the next declared field first), optional ones where they come


class Trade(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """One trade of ``tick.data``: ``id`` is the deprecated id (not read)."""

    id: Any = None
    ts: int
    tradeId: int  # noqa: N815 (the wire's key)
    amount: Any
    price: Any
    direction: Literal["buy", "sell"]


class TradeTick(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    id: Any = None
    ts: Any = None
    data: list[Trade]


class TradeFrame(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """``{"ch":"market.$symbol.trade.detail","ts":..,"tick":{..,"data":[..]}}``."""

    ch: str
    ts: Any = None
    tick: TradeTick


class MbpTick(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    seqNum: int  # noqa: N815
    prevSeqNum: int  # noqa: N815
    bids: list[Level] = []
    asks: list[Level] = []


class MbpFrame(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """``{"ch":"market.$symbol.mbp.$levels","ts":..,"tick":{"seqNum":..,"prevSeqNum":..,
    "bids":[..],"asks":[..]}}``: an incremental update."""

    ch: str
    ts: int
    tick: MbpTick


class BboTick(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    seqId: Any = None  # noqa: N815
    ask: Any
    askSize: Any  # noqa: N815
    bid: Any
    bidSize: Any  # noqa: N815
    quoteTime: int  # noqa: N815
    symbol: Any = None


class BboFrame(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """``{"ch":"market.$symbol.bbo","ts":..,"tick":{..}}``."""

    ch: str
    ts: Any = None
    tick: BboTick


def _decoder(kind: type[Any]) -> Callable[[bytes], Any]:
    return msgspec.json.Decoder(kind, float_hook=str).decode


trades: Callable[[bytes], TradeFrame] = _decoder(TradeFrame)
mbp: Callable[[bytes], MbpFrame] = _decoder(MbpFrame)
bbo: Callable[[bytes], BboFrame] = _decoder(BboFrame)
