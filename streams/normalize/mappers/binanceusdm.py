"""Binance USD-M futures (``wss://fstream.binance.com/stream``): perpetual and quarterly
linear contracts, parsed as Binance spot (:mod:`.binance`: ``aggTrade``/``trade``, diff
``depth``, ``bookTicker``; plain or combined-stream frames), with the futures differences:

* Sequencing ``PREV`` on ``pu`` (the previous frame's ``u``), books synced from the REST
  snapshot ``GET /fapi/v1/depth`` (``rest_snapshots``): deltas ending before its
  ``lastUpdateId`` are dropped, the first applied must span it (``U <= lastUpdateId <= u``),
  every later one must have ``pu`` = the previous ``u``. No checksum.
* The snapshot's exchange time is its ``T`` (transaction time; ccxt's too); deltas use
  ``E`` (event time), as ccxt does. ``bookTicker`` carries ``e`` and ``T``.
* ``<symbol>@markPrice`` / ``@markPrice@1s`` (and ``!markPrice@arr``, a list of them):
  ``markPriceUpdate`` -> a :class:`DerivativesEvent`: ``p`` mark price, ``i`` index price,
  ``r`` funding rate (a fraction per funding interval, signed), ``T`` next funding time,
  ``E`` event time. Delivery (quarterly) contracts send ``r: ""`` and ``T: 0``: no funding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from tapewire.streams.normalize.mappers.base import MS, Sequencing, VenueSpec, integer, text
from tapewire.streams.normalize.mappers.binance import BinanceMapper
from tapewire.streams.normalize.mappers.events import DerivativesEvent, MapError, MarketEvent

DEPTH_PATH = "/fapi/v1/depth"


def _subscribe(channel: str, markets: Sequence[str]) -> list[dict[str, Any]]:
    suffix = {
        "trades": "@aggTrade",
        "book": "@depth@100ms",
        "quotes": "@bookTicker",
        "derivatives": "@markPrice@1s",
    }[channel]
    return [{"method": "SUBSCRIBE", "params": [m.lower() + suffix for m in markets], "id": 1}]


class BinanceUsdmMapper(BinanceMapper):
    """Binance USD-M futures frames -> trades, book deltas/snapshots, quotes, mark price and
    funding (``markPriceUpdate``)."""

    spec: ClassVar[VenueSpec] = VenueSpec(
        venue="binanceusdm",
        ws_url="wss://fstream.binance.com/stream",
        channels={
            "trades": "aggTrade",
            "book": "depth",
            "quotes": "bookTicker",
            "derivatives": "markPrice",
        },
        sequencing=Sequencing.PREV,
        rest_snapshots=True,
        market_types=("swap", "future"),
        subscribe=_subscribe,
        notes="REST snapshot sync, pu chaining; no checksum",
    )
    market_type: ClassVar[str] = "swap"
    depth_path: ClassVar[str] = DEPTH_PATH
    snapshot_ts: ClassVar[str] = "T"

    def map(self, message: Any) -> list[MarketEvent]:
        """One websocket frame (``markPriceUpdate`` here, the rest as Binance spot)."""
        if message.__class__ is dict:
            data = message.get("data", message) if "stream" in message else message
            if data.__class__ is list:  # !markPrice@arr: every symbol's markPriceUpdate
                return [self._mark_price(m) for m in data]
            if data.__class__ is dict and data.get("e") == "markPriceUpdate":
                return [self._mark_price(data)]
        return super().map(message)

    def _mark_price(self, m: Any) -> DerivativesEvent:
        if m.__class__ is not dict or m.get("e") != "markPriceUpdate":
            raise MapError("data", m, "a markPriceUpdate object")
        rate = m.get("r")
        funding_ts = m.get("T")
        if funding_ts is not None and funding_ts.__class__ is not int:
            raise MapError("T", funding_ts, "an integer (ms)")
        return DerivativesEvent(
            instrument=self._instrument(m),
            mark_price=text(m, "p"),
            index_price=text(m, "i"),
            funding_rate=None if rate is None or rate == "" else text(m, "r"),
            next_funding_ts_ns=funding_ts * MS if funding_ts else None,
            exchange_ts_ns=integer(m, "E") * MS,
        )
