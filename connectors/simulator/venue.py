"""What a simulated venue must provide: its native frame formats and REST bodies."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar, Literal

from tapewire.connectors.simulator.book import LevelText
from tapewire.connectors.simulator.config import ListingSpec
from tapewire.connectors.simulator.listing import Listing

BookSync = Literal["rest", "ws"]


class VenueCodec(ABC):
    """Encodes simulated events as one venue's native websocket frames and REST bodies.

    ``sync`` says how a consumer builds the book: ``"rest"`` (a REST depth snapshot
    merged with buffered websocket deltas, Binance) or ``"ws"`` (a snapshot message on
    the book channel itself, OKX).
    """

    name: ClassVar[str]
    ws_url: ClassVar[str]
    markets_path: ClassVar[str]
    sync: ClassVar[BookSync]
    quote_has_timestamp: ClassVar[bool]

    @abstractmethod
    def native_symbol(self, symbol: str) -> str:
        """The venue's id for a ccxt unified spot symbol."""

    @abstractmethod
    def bind(self, listing: Listing) -> None:
        """Install the venue's number formatting and frame templates on ``listing``."""

    def level_text(self, listing: Listing) -> LevelText | None:
        """Per-level text the venue's checksum needs, cached by the book; ``None`` if none."""
        return None

    @abstractmethod
    def trade(
        self, lst: Listing, trade_id: int, price: str, size: str, taker_buy: bool, ts_ms: int
    ) -> bytes:
        """One public trade."""

    @abstractmethod
    def delta(
        self,
        lst: Listing,
        bids: list[tuple[int, int]],
        asks: list[tuple[int, int]],
        prev_id: int,
        last_id: int,
        ts_ms: int,
    ) -> bytes:
        """Changed levels (size 0 = delete) covering update ids ``prev_id+1 .. last_id``."""

    @abstractmethod
    def bbo(
        self,
        lst: Listing,
        bid: tuple[str, str, int],
        ask: tuple[str, str, int],
        update_id: int,
        ts_ms: int,
    ) -> bytes:
        """Best bid and offer; each side as ``(price text, size text, size units)``."""

    @abstractmethod
    def snapshot(self, lst: Listing, ts_ms: int) -> tuple[bytes, str | None]:
        """Full book now, with the url path for a REST snapshot (``None`` on websocket)."""

    @abstractmethod
    def markets(self, listings: Sequence[tuple[Listing, ListingSpec]], server_ms: int) -> bytes:
        """The REST market-metadata body ccxt's ``load_markets`` parses."""
