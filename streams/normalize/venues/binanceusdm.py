"""Binance USD-M futures: as Binance spot (:mod:`.binance`), with the futures endpoints.

ccxt parses ``aggTrade``, diff ``depth`` (``U``/``u``/``pu``) and ``bookTicker``; its
snapshot sync (``GET /fapi/v1/depth``) drops deltas ending before the snapshot and takes the
first that spans it (``U <= lastUpdateId <= u``), then requires ``pu`` = previous ``u``.
ccxt tells futures from spot by the websocket URL (spot when it contains ``/stream``), so
the URL given to ccxt is its own ``/ws`` one whatever endpoint the connector used.
A ``bookTicker`` quote's time is its ``T`` (transaction time, as for trades), not ccxt's
``E`` (event time). ccxt turns a ``markPriceUpdate`` into a ticker without bid or ask:
that is no quote (mark price and funding are ``md.derivatives``, native mappers only).
"""

from __future__ import annotations

from typing import Any, ClassVar

from tapewire.core.records import Record
from tapewire.streams.normalize.ccxt_offline import FrameResult, OfflineVenue, mark_price_only
from tapewire.streams.normalize.venues.base import MS, int_or_none
from tapewire.streams.normalize.venues.binance import BinanceAdapter


class BinanceUsdmVenue(OfflineVenue):
    """ccxt's Binance USD-M object; mark-price tickers (no bid, no ask) are not quotes."""

    def collect(self) -> FrameResult:
        res = super().collect()
        if res.quotes:
            res.quotes = [q for q in res.quotes if not mark_price_only(q)]
        return res


class BinanceUsdmAdapter(BinanceAdapter):
    """Binance USD-M futures (perpetual and quarterly linear contracts) adapter."""

    venue: ClassVar[str] = "binanceusdm"
    ws_url: ClassVar[str] = "wss://fstream.binance.com/ws"  # no '/stream': ccxt reads futures
    options: ClassVar[dict[str, Any]] = {"fetchMarkets": {"types": ["linear"]}}
    snapshot_path: ClassVar[str | None] = "/fapi/v1/depth"
    market_type: ClassVar[str] = "swap"
    subscription_type: ClassVar[str] = "linear"
    venue_class: ClassVar[type[OfflineVenue]] = BinanceUsdmVenue

    def quote_ts_ns(self, quote: Record, message: Any) -> int | None:
        """``T`` of the ``bookTicker`` (plain or combined-stream frame)."""
        if isinstance(message, dict) and isinstance(message.get("data"), dict):
            message = message["data"]
        ms = int_or_none(message.get("T")) if isinstance(message, dict) else None
        return ms * MS if ms is not None else super().quote_ts_ns(quote, message)
