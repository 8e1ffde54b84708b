"""Typed wire frames of Deribit's hot channels (``trades``, ``book`` snapshot / change,
``quote``): ``msgspec`` structs decoded straight from the frame bytes by
:meth:`~.deribit.DeribitMapper.map_bytes`.

A struct accepts a frame only where the generic path (:meth:`~.deribit.DeribitMapper.decode`,
JSON with non-integer numbers as their wire text, then :meth:`~.deribit.DeribitMapper.map`)
would read the same values, so both give the same events:

* decoded with the same ``float_hook=str``: prices and amounts are ``Any`` fields, which
  msgspec decodes as the untyped decode does (a non-integer number as its wire text, an
  integer as ``int``, any other value as itself); the mapper takes ``str`` and ``int`` and
  leaves anything else to the generic path;
* integer fields as ``int`` (refuses bools, floats and strings, as the generic path's
  ``int`` check does);
* every key the frame may carry is declared (unread ones as ``Any``: decoded, hence checked,
  as the generic decode checks them) and any other key is refused
  (``forbid_unknown_fields``): a skipped value is not checked (invalid UTF-8...);
* ``method`` and a book's ``type`` literals (a repeated key keeps its last value, as in the
  generic decode); a book level exactly ``[new|change|delete, price, amount]``.

Anything else fails to decode (:data:`INVALID`) and the frame takes the generic path, which
names the bad field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import msgspec

INVALID = (msgspec.ValidationError, msgspec.DecodeError)
"""What a decoder raises for a frame that is not exactly the typed shape."""
Level = tuple[Literal["new", "change", "delete"], Any, Any]
"""``[action, price, amount]``."""


# unknown keys refused; no GC tracking (short-lived, no cycles); kw_only so that fields follow
# the wire's order (msgspec tries the next declared field first), optional ones where they come


class Trade(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """One trade of ``trades.{instrument}.{interval}`` (every documented key; the optional
    ones of options, block and combo trades and liquidations included, not read)."""

    trade_seq: Any = None
    trade_id: str
    timestamp: int
    tick_direction: Any = None
    price: Any
    mark_price: Any = None
    iv: Any = None
    instrument_name: str
    index_price: Any = None
    direction: Literal["buy", "sell"]
    amount: Any
    contracts: Any = None
    liquidation: Any = None
    block_trade_id: Any = None
    block_trade_leg_count: Any = None
    block_rfq_id: Any = None
    combo_id: Any = None
    combo_trade_id: Any = None


class Book(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """``book.{instrument}.{interval}`` data: a snapshot or a change (``prev_change_id``
    read only of a change)."""

    type: Literal["snapshot", "change"]
    timestamp: int
    prev_change_id: Any = None
    instrument_name: str
    change_id: int
    bids: list[Level]
    asks: list[Level]


class Quote(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """``quote.{instrument}`` data (a side's price and amount may be absent or null)."""

    timestamp: int
    instrument_name: str
    best_bid_price: Any = None
    best_bid_amount: Any = None
    best_ask_price: Any = None
    best_ask_amount: Any = None


class TradesParams(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    channel: str
    data: list[Trade]


class BookParams(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    channel: str
    data: Book


class QuoteParams(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    channel: str
    data: Quote


class TradesFrame(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    """``{"jsonrpc":"2.0","method":"subscription","params":{"channel":..,"data":[..]}}``."""

    jsonrpc: Any = None
    method: Literal["subscription"]
    params: TradesParams


class BookFrame(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    jsonrpc: Any = None
    method: Literal["subscription"]
    params: BookParams


class QuoteFrame(msgspec.Struct, forbid_unknown_fields=True, gc=False, kw_only=True):
    jsonrpc: Any = None
    method: Literal["subscription"]
    params: QuoteParams


def _decoder(kind: type[Any]) -> Callable[[bytes], Any]:
    return msgspec.json.Decoder(kind, float_hook=str).decode


trades: Callable[[bytes], TradesFrame] = _decoder(TradesFrame)
book: Callable[[bytes], BookFrame] = _decoder(BookFrame)
quote: Callable[[bytes], QuoteFrame] = _decoder(QuoteFrame)
