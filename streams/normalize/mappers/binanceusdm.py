"""Binance USD-M futures (``wss://fstream.binance.com/stream``): perpetual and quarterly
linear contracts, parsed as Binance spot (:mod:`.binance`: ``aggTrade``/``trade``, diff
``depth``, ``bookTicker``; plain or combined-stream frames), with the futures differences:

* Sequencing ``PREV`` on ``pu`` (the previous frame's ``u``), books synced from the REST
  snapshot ``GET /fapi/v1/depth`` (``rest_snapshots``): deltas ending before its
  ``lastUpdateId`` are dropped, the first applied must span it (``U <= lastUpdateId <= u``),
  every later one must have ``pu`` = the previous ``u``. No checksum.
* The snapshot's exchange time is its ``T`` (transaction time; ccxt's too); deltas use
  ``E`` (event time), as ccxt does. ``bookTicker`` carries ``e`` and ``T``.
* ``markPrice``/funding streams are not mapped yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from tapewire.streams.normalize.mappers.base import Sequencing, VenueSpec
from tapewire.streams.normalize.mappers.binance import BinanceMapper

DEPTH_PATH = "/fapi/v1/depth"


def _subscribe(channel: str, markets: Sequence[str]) -> list[dict[str, Any]]:
    suffix = {"trades": "@aggTrade", "book": "@depth@100ms", "quotes": "@bookTicker"}[channel]
    return [{"method": "SUBSCRIBE", "params": [m.lower() + suffix for m in markets], "id": 1}]


class BinanceUsdmMapper(BinanceMapper):
    """Binance USD-M futures frames -> trades, book deltas/snapshots, quotes."""

    spec: ClassVar[VenueSpec] = VenueSpec(
        venue="binanceusdm",
        ws_url="wss://fstream.binance.com/stream",
        channels={"trades": "aggTrade", "book": "depth", "quotes": "bookTicker"},
        sequencing=Sequencing.PREV,
        rest_snapshots=True,
        market_types=("swap", "future"),
        subscribe=_subscribe,
        notes="REST snapshot sync, pu chaining; no checksum",
    )
    market_type: ClassVar[str] = "swap"
    depth_path: ClassVar[str] = DEPTH_PATH
    snapshot_ts: ClassVar[str] = "T"
