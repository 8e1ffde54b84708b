"""Binance spot: combined-stream websocket frames and the REST bodies book sync needs.

Formats follow developers.binance.com (spot WebSocket streams and REST API):

* ``<sym>@trade``: ``{"stream":"btcusdt@trade","data":{"e":"trade","E":..,"s":"BTCUSDT",
  "t":..,"p":"..","q":"..","T":..,"m":..,"M":true}}``; ``m`` is true when the buyer
  is the maker, i.e. the taker sold;
* ``<sym>@depth@100ms``: ``depthUpdate`` with ``U`` (first) and ``u`` (last update id);
  spot streams carry no ``pu`` (that field exists only on futures streams), so a
  consumer checks ``U == previous u + 1``;
* ``<sym>@bookTicker``: ``{"u":..,"s":..,"b":..,"B":..,"a":..,"A":..}`` (no event
  type, no timestamp; ``u`` is the book's update id);
* ``GET /api/v3/depth?symbol=..&limit=1000``: ``{"lastUpdateId":..,"bids":..,"asks":..}``;
* ``GET /api/v3/exchangeInfo``: the fields ccxt's ``fetch_markets`` reads.

Prices and quantities are written with 8 fractional digits, as Binance spot does.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import orjson

from tapewire.connectors.simulator.config import ListingSpec
from tapewire.connectors.simulator.listing import Listing
from tapewire.connectors.simulator.scaled import fixed_formatter
from tapewire.connectors.simulator.venue import VenueCodec

DECIMALS = 8
DEPTH_LIMIT = 1000


def _fixed8(value: Decimal) -> str:
    return f"{value:.8f}"


class BinanceCodec(VenueCodec):
    """Binance spot (``wss://stream.binance.com:9443/stream`` combined streams)."""

    name = "binance"
    ws_url = "wss://stream.binance.com:9443/stream"
    markets_path = "/api/v3/exchangeInfo"
    sync = "rest"
    quote_has_timestamp = False

    def native_symbol(self, symbol: str) -> str:
        """``BTC/USDT`` -> ``BTCUSDT``."""
        return symbol.replace("/", "")

    def bind(self, listing: Listing) -> None:
        """Fixed 8-decimal formatting and the per-symbol frame fragments."""
        pd, sd = listing.price_decimals, listing.size_decimals
        if pd > DECIMALS or sd > DECIMALS:
            raise ValueError(f"binance writes 8 decimals; {listing.symbol} needs more")
        listing.fmt_price = fixed_formatter(pd, DECIMALS)
        listing.fmt_size = fixed_formatter(sd, DECIMALS)
        stream, sym = listing.native.lower(), listing.native
        listing.tpl = (
            '{"stream":"' + stream + '@trade","data":{"e":"trade","E":',
            ',"s":"' + sym + '","t":',
            '{"stream":"' + stream + '@depth@100ms","data":{"e":"depthUpdate","E":',
            ',"s":"' + sym + '","U":',
            '{"stream":"' + stream + '@bookTicker","data":{"u":',
            ',"s":"' + sym + '","b":"',
            f"/api/v3/depth?symbol={sym}&limit={DEPTH_LIMIT}",
        )

    def trade(
        self, lst: Listing, trade_id: int, price: str, size: str, taker_buy: bool, ts_ms: int
    ) -> bytes:
        """``@trade`` frame; trade time ``T`` equals event time ``E``."""
        tpl = lst.tpl
        maker = "false" if taker_buy else "true"
        return (
            f'{tpl[0]}{ts_ms}{tpl[1]}{trade_id},"p":"{price}","q":"{size}",'
            f'"T":{ts_ms},"m":{maker},"M":true}}}}'
        ).encode()

    def _levels(self, lst: Listing, levels: list[tuple[int, int]]) -> str:
        ptext, fmt_size = lst.price_text, lst.fmt_size
        parts = []
        for price, size in levels:
            p = ptext.get(price)
            if p is None:
                p = ptext[price] = lst.fmt_price(price)
            parts.append(f'["{p}","{fmt_size(size)}"]')
        return ",".join(parts)

    def delta(
        self,
        lst: Listing,
        bids: list[tuple[int, int]],
        asks: list[tuple[int, int]],
        prev_id: int,
        last_id: int,
        ts_ms: int,
    ) -> bytes:
        """``depthUpdate`` with ``U = prev_id + 1`` and ``u = last_id``."""
        tpl = lst.tpl
        return (
            f"{tpl[2]}{ts_ms}{tpl[3]}{prev_id + 1},"
            f'"u":{last_id},"b":[{self._levels(lst, bids)}],"a":[{self._levels(lst, asks)}]}}}}'
        ).encode()

    def bbo(
        self,
        lst: Listing,
        bid: tuple[str, str, int],
        ask: tuple[str, str, int],
        update_id: int,
        ts_ms: int,
    ) -> bytes:
        """``bookTicker`` frame (Binance sends no timestamp in it)."""
        tpl = lst.tpl
        return (
            f'{tpl[4]}{update_id}{tpl[5]}{bid[0]}","B":"{bid[1]}","a":"{ask[0]}","A":"{ask[1]}"}}}}'
        ).encode()

    def snapshot(self, lst: Listing, ts_ms: int) -> tuple[bytes, str | None]:
        """REST ``/api/v3/depth`` body: every level, ``lastUpdateId`` = current update id."""
        book = lst.book
        body = (
            f'{{"lastUpdateId":{book.version},"bids":[{self._levels(lst, book.bids.levels())}],'
            f'"asks":[{self._levels(lst, book.asks.levels())}]}}'
        )
        return body.encode(), lst.tpl[6]

    def markets(self, listings: Sequence[tuple[Listing, ListingSpec]], server_ms: int) -> bytes:
        """``/api/v3/exchangeInfo`` restricted to the simulated symbols."""
        symbols = [self._symbol_info(lst, spec) for lst, spec in listings]
        body: dict[str, Any] = {
            "timezone": "UTC",
            "serverTime": server_ms,
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": 6000,
                },
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
                {
                    "rateLimitType": "RAW_REQUESTS",
                    "interval": "MINUTE",
                    "intervalNum": 5,
                    "limit": 61000,
                },
            ],
            "exchangeFilters": [],
            "symbols": symbols,
        }
        return orjson.dumps(body)

    @staticmethod
    def _symbol_info(lst: Listing, spec: ListingSpec) -> dict[str, Any]:
        base, quote = lst.symbol.split("/")
        return {
            "symbol": lst.native,
            "status": "TRADING",
            "baseAsset": base,
            "baseAssetPrecision": 8,
            "quoteAsset": quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": [
                "LIMIT",
                "LIMIT_MAKER",
                "MARKET",
                "STOP_LOSS_LIMIT",
                "TAKE_PROFIT_LIMIT",
            ],
            "icebergAllowed": True,
            "ocoAllowed": True,
            "otoAllowed": True,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": True,
            "cancelReplaceAllowed": True,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": True,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": _fixed8(spec.tick_size),
                    "maxPrice": "1000000.00000000",
                    "tickSize": _fixed8(spec.tick_size),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": _fixed8(spec.min_size),
                    "maxQty": "9000.00000000",
                    "stepSize": _fixed8(spec.lot_size),
                },
                {
                    "filterType": "NOTIONAL",
                    "minNotional": "5.00000000",
                    "applyMinToMarket": True,
                    "maxNotional": "9000000.00000000",
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
            ],
            "permissions": [],
            "permissionSets": [["SPOT", "MARGIN"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
        }
