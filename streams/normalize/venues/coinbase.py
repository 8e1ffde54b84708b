"""Coinbase Advanced Trade: ccxt parses ``market_trades``, ``l2_data`` (snapshot/update,
absolute quantities) and ``ticker`` (best bid/ask); this adds the ``sequence_num`` check
ccxt lacks and the nanosecond timestamps ccxt truncates to ms.

``sequence_num`` counts every message of a connection across all channels, so md.raw must
keep a connection's frames in order (it is keyed by venue). A jump marks every live book
of that connection invalid; each resyncs on its next ``snapshot`` event (the connector
re-subscribes ``level2``).

Trade side: ``market_trades`` gives the **maker** order's side (as Coinbase documents for its
Exchange ``match`` messages); ccxt passes it through. Recorded real frames show it (a
2026 Advanced Trade capture in cryptofeed's sample data, not vendored for licence reasons,
see ``tests/data/real/README.md``): every trade printed at or above the best ask of the
live book says ``SELL``, every one at or below the best bid says ``BUY``. The adapter
publishes the taker side (the schema's ``AggressorSide``): the opposite.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tapewire.core.bounded import Generations
from tapewire.core.records import Record
from tapewire.streams.normalize.ccxt_offline import FrameResult, OfflineVenue
from tapewire.streams.normalize.venues.base import BookMeta, VenueAdapter, int_or_none, iso_to_ns

TAKER_SIDE = {"buy": "sell", "sell": "buy"}
"""Taker side of a Coinbase trade from its (maker) ``side``."""


class CoinbaseVenue(OfflineVenue):
    """ccxt's Coinbase object; trades carry the taker side."""

    def collect(self) -> FrameResult:
        """What ccxt resolved, each trade's maker ``side`` turned into the taker side."""
        res = super().collect()
        res.trades = [
            {**t, "side": TAKER_SIDE.get(str(t.get("side")), t.get("side"))} for t in res.trades
        ]
        return res


class CoinbaseAdapter(VenueAdapter):
    """Coinbase Advanced Trade adapter."""

    venue: ClassVar[str] = "coinbase"
    ws_url: ClassVar[str] = "wss://advanced-trade-ws.coinbase.com"
    venue_class: ClassVar[type[OfflineVenue]] = CoinbaseVenue

    def __init__(self) -> None:
        super().__init__()
        # per connection; a connection silent while 1,024 newer ones appeared is forgotten
        self._last_seq: Generations[str, int] = Generations(1_024)

    def check_frame(self, message: Any, connection_id: str) -> str | None:
        """``sequence_num`` continuity per connection."""
        if not isinstance(message, dict):
            return None
        seq = int_or_none(message.get("sequence_num"))
        if seq is None:
            return None
        last = self._last_seq.get(connection_id)
        self._last_seq[connection_id] = seq
        if last is not None and seq != last + 1:
            return f"sequence_num {seq} after {last}"
        return None

    def book_meta(self, venue: OfflineVenue, message: Any) -> list[BookMeta]:
        """``l2_data`` events."""
        if not isinstance(message, dict) or message.get("channel") != "l2_data":
            return []
        ts = message.get("timestamp")
        ts_ns = iso_to_ns(ts) if isinstance(ts, str) else None
        seq = int_or_none(message.get("sequence_num"))
        return [
            BookMeta(
                symbol=self.symbol(venue, event.get("product_id")),
                snapshot=event.get("type") == "snapshot",
                last_sequence=seq,
                exchange_ts_ns=ts_ns,
            )
            for event in message.get("events") or []
            if isinstance(event, dict) and event.get("type") in ("snapshot", "update")
        ]

    def trade_ts_ns(self, trade: Record) -> int | None:
        """ISO timestamp of the raw trade, to the ns."""
        info = trade.get("info")
        ts = info.get("time") if isinstance(info, dict) else None
        return iso_to_ns(ts) if isinstance(ts, str) else super().trade_ts_ns(trade)

    def quote_ts_ns(self, quote: Record, message: Any) -> int | None:
        """The message's ns timestamp (ccxt keeps ms)."""
        ts = message.get("timestamp") if isinstance(message, dict) else None
        return iso_to_ns(ts) if isinstance(ts, str) else super().quote_ts_ns(quote, message)
