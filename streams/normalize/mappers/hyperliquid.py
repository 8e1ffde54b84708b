"""Hyperliquid (``wss://api.hyperliquid.xyz/ws``): ``trades``, ``l2Book`` and ``bbo``, perps and
spot on one feed. A frame is ``{"channel": ..., "data": ...}``.

Markets are named by *coin*: a perpetual by its name (``BTC`` -> ``BTC/USDC:USDC``, ccxt
``baseName``; ccxt's market id is the asset index), a spot pair by its universe name
(``PURR/USDC``, or ``@<index>`` such as ``@107`` for HYPE/USDC: ccxt's market id).

Every ``l2Book`` frame is a full snapshot (at most 20 levels per side, ``{px, sz, n}``):
no sequence ids, no checksum, no deltas. The synchroniser's crossed-book check runs on
deltas only, so it never fires here; each frame replaces the book. ``trades``: ``side``
is the aggressor's (``B`` buy, ``A`` sell: "Side is aggressing side for trades"), ``tid``
the trade id (an integer, unique across assets), ``time`` ms. ``bbo``: ``[bid, ask]``
levels (either may be null). Prices and sizes are JSON strings. The text frame
``Websocket connection established.`` the server sends on connect maps to nothing.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tapewire.streams.normalize.mappers.base import (
    MS,
    Mapper,
    MarketIndex,
    Sequencing,
    VenueSpec,
    integer,
    text,
)
from tapewire.streams.normalize.mappers.events import (
    BUY,
    SELL,
    BookEvent,
    Level,
    MapError,
    MarketEvent,
    QuoteEvent,
    TradeEvent,
)

BOOK_DEPTH = 20
"""Levels per side of an ``l2Book`` snapshot."""
GREETING = b"Websocket connection established."
SIDES = {"B": BUY, "A": SELL}
_NO_DATA = frozenset(("subscriptionResponse", "pong", "post"))


def _subscribe(channel: str, coins: list[str] | Any) -> list[dict[str, Any]]:
    kind = {"trades": "trades", "book": "l2Book", "quotes": "bbo"}[channel]
    return [{"method": "subscribe", "subscription": {"type": kind, "coin": c}} for c in coins]


def _levels(value: Any, key: str) -> list[Level]:
    if value.__class__ is not list:
        raise MapError(key, value, "a list of {px, sz, n} levels")
    out = []
    for level in value:
        if level.__class__ is not dict:
            raise MapError(key, level, "a {px, sz, n} level")
        out.append((text(level, "px"), text(level, "sz")))
    return out


def coin_index(markets: MarketIndex) -> dict[str, str]:
    """Hyperliquid coin -> canonical instrument: perps by name, spot pairs by market id."""
    coins: dict[str, str] = {}
    for instrument, market in markets.markets.items():
        kind = market.get("type")
        if kind == "swap":
            info = market.get("info")
            coin = market.get("baseName") or (info.get("name") if isinstance(info, dict) else None)
        elif kind == "spot":
            coin = market.get("id")
        else:
            continue
        if isinstance(coin, str):
            coins[coin] = instrument
    return coins


class HyperliquidMapper(Mapper):
    """Hyperliquid frames -> trades, book snapshots, best bid/offer."""

    spec: ClassVar[VenueSpec] = VenueSpec(
        venue="hyperliquid",
        ws_url="wss://api.hyperliquid.xyz/ws",
        channels={"trades": "trades", "book": "l2Book", "quotes": "bbo"},
        sequencing=Sequencing.NONE,
        market_types=("spot", "swap"),
        subscribe=_subscribe,
        notes="l2Book: full 20-level snapshots only; no ids, no checksum",
    )

    def __init__(self, markets: MarketIndex) -> None:
        super().__init__(markets)
        self.coins = coin_index(markets)

    def decode(self, payload: bytes) -> Any:
        """JSON; the connect greeting (plain text) becomes None."""
        if payload.startswith(GREETING):
            return None
        return super().decode(payload)

    def map(self, message: Any) -> list[MarketEvent]:
        """One websocket frame."""
        if message is None:
            return []
        if message.__class__ is not dict:
            raise MapError("frame", message, "a JSON object")
        channel = message.get("channel")
        if channel == "trades":
            data = message["data"]
            if data.__class__ is not list:
                raise MapError("data", data, "a list of trades")
            return [self._trade(t) for t in data]
        if channel == "l2Book":
            return [self._book(self._data(message))]
        if channel == "bbo":
            return [self._quote(self._data(message))]
        if channel == "error":
            data = message.get("data")
            if isinstance(data, str) and "Already subscribed" in data:
                return []
            raise MapError("error", data, "market data (the venue reported an error)")
        return []  # subscriptionResponse, pong, other channels

    @staticmethod
    def _data(message: dict[str, Any]) -> dict[str, Any]:
        data = message["data"]
        if data.__class__ is not dict:
            raise MapError("data", data, "a JSON object")
        return data

    def _instrument(self, m: dict[str, Any]) -> str:
        coin = m["coin"]
        instrument = self.coins.get(coin) if coin.__class__ is str else None
        if instrument is None:
            raise MapError("market", coin, "a coin listed in the venue's loaded markets")
        return instrument

    def _trade(self, t: Any) -> TradeEvent:
        if t.__class__ is not dict:
            raise MapError("data", t, "a trade object")
        side = SIDES.get(t["side"]) if t["side"].__class__ is str else None
        if side is None:
            raise MapError("side", t["side"], "B or A")
        return TradeEvent(
            instrument=self._instrument(t),
            trade_id=str(integer(t, "tid")),
            price=text(t, "px"),
            size=text(t, "sz"),
            side=side,
            exchange_ts_ns=integer(t, "time") * MS,
        )

    def _book(self, m: dict[str, Any]) -> BookEvent:
        sides = m["levels"]
        if sides.__class__ is not list or len(sides) != 2:
            raise MapError("levels", sides, "[bids, asks]")
        return BookEvent(
            instrument=self._instrument(m),
            snapshot=True,
            bids=_levels(sides[0], "levels"),
            asks=_levels(sides[1], "levels"),
            exchange_ts_ns=integer(m, "time") * MS,
            depth=BOOK_DEPTH,
        )

    def _quote(self, m: dict[str, Any]) -> QuoteEvent:
        bbo = m["bbo"]
        if bbo.__class__ is not list or len(bbo) != 2:
            raise MapError("bbo", bbo, "[bid level or null, ask level or null]")
        prices: list[str | None] = []
        for level in bbo:
            if level is None:
                prices += [None, None]
            elif level.__class__ is dict:
                prices += [text(level, "px"), text(level, "sz")]
            else:
                raise MapError("bbo", level, "a {px, sz, n} level or null")
        return QuoteEvent(
            instrument=self._instrument(m),
            bid_price=prices[0],
            bid_size=prices[1],
            ask_price=prices[2],
            ask_size=prices[3],
            exchange_ts_ns=integer(m, "time") * MS,
        )
