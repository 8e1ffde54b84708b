"""OKX spot: public websocket frames (``trades``, ``books``, ``bbo-tbt``) and instruments.

Formats follow okx.com/docs-v5 (WebSocket public channels, REST public data):

* ``trades``: ``{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":..,
  "tradeId":..,"px":..,"sz":..,"side":..,"ts":..,"count":..}]}``;
* ``books``: ``"action":"snapshot"`` then ``"update"``; levels are
  ``[price, size, "0", orders]`` (size ``"0"`` deletes), with ``seqId``, ``prevSeqId``
  (``-1`` on a snapshot, else the previous message's ``seqId``) and ``checksum``;
* ``bbo-tbt``: best level of each side, ``ts`` and ``seqId``;
* ``GET /api/v5/public/instruments?instType=SPOT``.

Numbers are written without trailing zeros (``"8477"``, ``"0.5"``), as OKX does.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import orjson

from tapewire.connectors.simulator.book import LevelText
from tapewire.connectors.simulator.config import ListingSpec
from tapewire.connectors.simulator.listing import Listing
from tapewire.connectors.simulator.scaled import plain_formatter
from tapewire.connectors.simulator.venue import VenueCodec

CHECKSUM_DEPTH = 25


def okx_checksum(bids: Sequence[str], asks: Sequence[str]) -> int:
    """OKX ``books`` checksum from the ``"price:size"`` text of the best levels.

    Takes the best 25 levels of each side, interleaves them bid, ask, bid, ask ...
    (the longer side's remaining levels follow), joins with ``:``, and returns the
    CRC32 as a signed 32-bit integer.
    """
    bids, asks = bids[:CHECKSUM_DEPTH], asks[:CHECKSUM_DEPTH]
    common = min(len(bids), len(asks))
    parts: list[str] = [""] * (2 * common)
    parts[0::2] = bids[:common]
    parts[1::2] = asks[:common]
    parts.extend(bids[common:] or asks[common:])
    crc = zlib.crc32(":".join(parts).encode())
    return crc - 0x1_0000_0000 if crc > 0x7FFF_FFFF else crc


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _orders(size: int) -> int:
    """Number of orders shown at a level (OKX's 4th level field): 0 for a deleted level."""
    return 1 + size % 4 if size else 0


class OkxCodec(VenueCodec):
    """OKX public channels (``wss://ws.okx.com:8443/ws/v5/public``)."""

    name = "okx"
    ws_url = "wss://ws.okx.com:8443/ws/v5/public"
    markets_path = "/api/v5/public/instruments?instType=SPOT"
    sync = "ws"
    quote_has_timestamp = True

    def native_symbol(self, symbol: str) -> str:
        """``BTC/USDT`` -> ``BTC-USDT``."""
        return symbol.replace("/", "-")

    def bind(self, listing: Listing) -> None:
        """Trailing-zero-free formatting and the per-instrument frame fragments."""
        listing.fmt_price = plain_formatter(listing.price_decimals)
        listing.fmt_size = plain_formatter(listing.size_decimals)
        inst = listing.native

        def arg(channel: str) -> str:
            return '{"arg":{"channel":"' + channel + '","instId":"' + inst + '"},'

        listing.tpl = (
            arg("trades") + '"data":[{"instId":"' + inst + '","tradeId":"',
            arg("books") + '"action":"update","data":[{"asks":[',
            arg("books") + '"action":"snapshot","data":[{"asks":[',
            arg("bbo-tbt") + '"data":[{"asks":[["',
        )

    def level_text(self, listing: Listing) -> LevelText:
        """``"price:size"`` per level, the checksum's input."""
        price_text, fmt_price, fmt_size = listing.price_text, listing.fmt_price, listing.fmt_size

        def text(price: int, size: int) -> str:
            p = price_text.get(price)
            if p is None:
                p = price_text[price] = fmt_price(price)
            return p + ":" + fmt_size(size)

        return text

    def trade(
        self, lst: Listing, trade_id: int, price: str, size: str, taker_buy: bool, ts_ms: int
    ) -> bytes:
        """``trades`` push with one trade (``count`` 1: one maker order filled)."""
        side = "buy" if taker_buy else "sell"
        return (
            f'{lst.tpl[0]}{trade_id}","px":"{price}","sz":"{size}","side":"{side}",'
            f'"ts":"{ts_ms}","count":"1"}}]}}'
        ).encode()

    def _levels(self, lst: Listing, levels: list[tuple[int, int]]) -> str:
        ptext, fmt_size = lst.price_text, lst.fmt_size
        parts = []
        for price, size in levels:
            p = ptext.get(price)
            if p is None:
                p = ptext[price] = lst.fmt_price(price)
            if size:
                parts.append(f'["{p}","{fmt_size(size)}","0","{1 + size % 4}"]')
            else:
                parts.append(f'["{p}","0","0","0"]')
        return ",".join(parts)

    def _checksum(self, lst: Listing) -> int:
        bids, asks = lst.book.bids, lst.book.asks
        btext, atext = bids.text, asks.text
        return okx_checksum(
            [btext[-k] for k in bids.keys[:CHECKSUM_DEPTH]],
            [atext[k] for k in asks.keys[:CHECKSUM_DEPTH]],
        )

    def delta(
        self,
        lst: Listing,
        bids: list[tuple[int, int]],
        asks: list[tuple[int, int]],
        prev_id: int,
        last_id: int,
        ts_ms: int,
    ) -> bytes:
        """``books`` update (``prevSeqId = prev_id``, ``seqId = last_id``) with the checksum
        of the book after it."""
        return (
            f'{lst.tpl[1]}{self._levels(lst, asks)}],"bids":[{self._levels(lst, bids)}],'
            f'"ts":"{ts_ms}","checksum":{self._checksum(lst)},"prevSeqId":{prev_id},'
            f'"seqId":{last_id}}}]}}'
        ).encode()

    def bbo(
        self,
        lst: Listing,
        bid: tuple[str, str, int],
        ask: tuple[str, str, int],
        update_id: int,
        ts_ms: int,
    ) -> bytes:
        """``bbo-tbt`` push."""
        return (
            f'{lst.tpl[3]}{ask[0]}","{ask[1]}","0","{_orders(ask[2])}"]],"bids":[["{bid[0]}",'
            f'"{bid[1]}","0","{_orders(bid[2])}"]],"ts":"{ts_ms}","seqId":{update_id}}}]}}'
        ).encode()

    def snapshot(self, lst: Listing, ts_ms: int) -> tuple[bytes, str | None]:
        """``books`` snapshot of every level (``prevSeqId`` -1)."""
        book = lst.book
        body = (
            f"{lst.tpl[2]}{self._levels(lst, book.asks.levels())}],"
            f'"bids":[{self._levels(lst, book.bids.levels())}],"ts":"{ts_ms}",'
            f'"checksum":{self._checksum(lst)},"prevSeqId":-1,"seqId":{book.version}}}]}}'
        )
        return body.encode(), None

    def markets(self, listings: Sequence[tuple[Listing, ListingSpec]], server_ms: int) -> bytes:
        """``/api/v5/public/instruments?instType=SPOT`` for the simulated instruments."""
        data = [self._instrument(lst, spec, server_ms) for lst, spec in listings]
        return orjson.dumps({"code": "0", "msg": "", "data": data})

    @staticmethod
    def _instrument(lst: Listing, spec: ListingSpec, server_ms: int) -> dict[str, Any]:
        base, quote = lst.symbol.split("/")
        return {
            "alias": "",
            "auctionEndTime": "",
            "baseCcy": base,
            "category": "1",
            "ctMult": "",
            "ctType": "",
            "ctVal": "",
            "ctValCcy": "",
            "expTime": "",
            "instFamily": "",
            "instId": lst.native,
            "instType": "SPOT",
            "lever": "10",
            "listTime": str(server_ms - 86_400_000 * 365),
            "lotSz": _plain(spec.lot_size),
            "maxIcebergSz": "9999999999.0000000000000000",
            "maxLmtAmt": "20000000",
            "maxLmtSz": "9999999999",
            "maxMktAmt": "1000000",
            "maxMktSz": "1000000",
            "maxStopSz": "1000000",
            "maxTriggerSz": "9999999999.0000000000000000",
            "maxTwapSz": "9999999999.0000000000000000",
            "minSz": _plain(spec.min_size),
            "optType": "",
            "quoteCcy": quote,
            "ruleType": "normal",
            "settleCcy": "",
            "state": "live",
            "stk": "",
            "tickSz": _plain(spec.tick_size),
            "uly": "",
        }
