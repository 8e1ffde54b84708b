"""Typed wire frames of OKX's hot channels (``trades``/``trades-all``, ``tickers``,
``bbo-tbt``, ``books``/``books-l2-tbt``/``books50-l2-tbt``): ``msgspec`` structs decoded
straight from the frame bytes by :meth:`~.okx.OkxMapper.map_bytes`.

A struct accepts a frame only where the generic path (``orjson.loads`` then
:meth:`~.okx.OkxMapper.map`) would read the same values, so the two give the same events:

- every field is typed and unknown fields are refused (no struct skips a value): ``orjson``
  refuses some values that a skip would pass (``1e400``, a 400-digit integer);
- integers only in ``orjson``'s integer range (beyond it ``orjson`` gives a float, which the
  mapper refuses);
- levels are exactly four strings (OKX's ``[price, size, "0", orders]``).

Anything else fails to decode (``msgspec.ValidationError`` / ``DecodeError``) and the frame
takes the generic path, which names the bad field.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

WireInt = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
"""An integer ``orjson`` decodes as ``int`` (it does up to uint64; msgspec bounds fit int64)."""
WireLevel = tuple[str, str, str, str]
"""``[price, size, liquidated orders (deprecated, "0"), orders]``."""
INVALID = (msgspec.ValidationError, msgspec.DecodeError)
"""What a decoder raises for a frame that is not exactly the typed shape."""


class _Wire(msgspec.Struct, forbid_unknown_fields=True, rename="camel", gc=False):
    """Base: camelCase on the wire, unknown fields refused."""


class Arg(_Wire):
    channel: str
    inst_id: str


class Trade(_Wire):
    inst_id: str
    trade_id: str
    px: str
    sz: str
    side: Literal["buy", "sell"]
    ts: str
    count: str = ""
    source: str = ""


class TradesFrame(_Wire):
    arg: Arg
    data: list[Trade]


class Ticker(_Wire):
    inst_type: str
    inst_id: str
    ts: str
    last: str = ""
    last_sz: str = ""
    ask_px: str | None = None
    ask_sz: str | None = None
    bid_px: str | None = None
    bid_sz: str | None = None
    open24h: str = ""
    high24h: str = ""
    low24h: str = ""
    sod_utc0: str = ""
    sod_utc8: str = ""
    vol_ccy24h: str = msgspec.field(default="", name="volCcy24h")
    vol24h: str = ""


class TickersFrame(_Wire):
    arg: Arg
    data: list[Ticker]


class Bbo(_Wire):
    asks: list[WireLevel]
    bids: list[WireLevel]
    ts: str
    seq_id: WireInt | None = None


class BboFrame(_Wire):
    arg: Arg
    data: list[Bbo]


class Book(_Wire):
    asks: list[WireLevel]
    bids: list[WireLevel]
    ts: str
    checksum: WireInt | None = None
    prev_seq_id: WireInt | None = None
    seq_id: WireInt | None = None


class BooksFrame(_Wire):
    arg: Arg
    action: Literal["snapshot", "update"]
    data: list[Book]


trades = msgspec.json.Decoder(TradesFrame).decode
tickers = msgspec.json.Decoder(TickersFrame).decode
bbo = msgspec.json.Decoder(BboFrame).decode
books = msgspec.json.Decoder(BooksFrame).decode
