"""Hyperliquid: ccxt parses ``trades`` and ``l2Book`` (every frame a full snapshot, which ccxt
resets its book from); this adds the ``bbo`` channel ccxt.pro has no handler for (one quote
per frame, the coin resolved as ccxt resolves it), the 20-level snapshot depth and a
decoder that lets the plain-text connect greeting through as a frame without data.

No sequence ids and no checksum. Markets: ccxt loads them with ``POST /info``
(``metaAndAssetCtxs``, ``spotMetaAndAssetCtxs``), which captured GET bodies cannot serve:
the normalizer is given unified markets (``Normalizer(markets=...)``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from tapewire.streams.normalize.ccxt_offline import (
    Decoder,
    FrameResult,
    OfflineVenue,
    RecordingOrderBook,
    decode_json,
)
from tapewire.streams.normalize.venues.base import VenueAdapter

DEPTH = 20
GREETING = b"Websocket connection established."


def decode(raw: bytes) -> Any:
    """JSON; the connect greeting becomes an empty object (ccxt ignores it)."""
    return {} if raw.startswith(GREETING) else decode_json(raw)


class HyperliquidVenue(OfflineVenue):
    """ccxt's Hyperliquid object, plus ``bbo`` frames."""

    def handle(self, message: Any) -> FrameResult:
        """A ``bbo`` frame becomes a ccxt ticker with bid and ask; the rest to ccxt."""
        if not isinstance(message, dict) or message.get("channel") != "bbo":
            return super().handle(message)
        try:
            ex = self.ex
            data = message["data"]
            market = ex.market(ex.coinToMarketId(ex.safe_string(data, "coin")))
            bid, ask = data["bbo"]
            ticker = ex.safe_ticker(
                {
                    "symbol": market["symbol"],
                    "timestamp": ex.safe_integer(data, "time"),
                    "bid": ex.safe_string(bid, "px"),
                    "bidVolume": ex.safe_string(bid, "sz"),
                    "ask": ex.safe_string(ask, "px"),
                    "askVolume": ex.safe_string(ask, "sz"),
                    "info": data,
                },
                market,
            )
            self.client.resolve(ticker, "bbo:" + market["symbol"])
        except Exception as exc:
            res = self.collect()
            res.error = exc
            return res
        return self.collect()


class HyperliquidAdapter(VenueAdapter):
    """Hyperliquid perps and spot."""

    venue: ClassVar[str] = "hyperliquid"
    ws_url: ClassVar[str] = "wss://api.hyperliquid.xyz/ws"
    decoder: ClassVar[Decoder] = staticmethod(decode)
    market_paths: ClassVar[tuple[str, ...]] = ()
    venue_class: ClassVar[type[OfflineVenue]] = HyperliquidVenue

    def snapshot_depth(self, book: RecordingOrderBook) -> int | None:
        """``l2Book`` frames hold at most 20 levels per side."""
        return DEPTH
