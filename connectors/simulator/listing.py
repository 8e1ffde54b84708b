"""Runtime state of one instrument on one venue: rules, book, ids and text caches."""

from __future__ import annotations

from collections.abc import Callable

from tapewire.connectors.simulator.book import Book
from tapewire.connectors.simulator.random_walk import MidWalk

# Index of each counted channel in Listing.counts.
TRADES, BOOK, BBO, REST_SNAPSHOT = 0, 1, 2, 3


class Listing:
    """One instrument listed on one venue.

    Prices are ints in units of ``10**-price_decimals`` (shared by every venue for the
    instrument, so venue offsets compare exactly) and always multiples of ``tick``;
    sizes are ints in units of ``10**-size_decimals`` and multiples of ``lot``.
    """

    __slots__ = (
        "book",
        "counts",
        "deltas_sent",
        "fmt_price",
        "fmt_size",
        "gap_ticks",
        "latency_ns",
        "lot",
        "min_size",
        "native",
        "offset",
        "price_decimals",
        "price_text",
        "resync_in",
        "size_decimals",
        "size_span",
        "spread",
        "symbol",
        "synced",
        "taker_span",
        "tick",
        "tpl",
        "trade_id",
        "venue",
        "walk",
    )

    def __init__(
        self,
        *,
        venue: str,
        symbol: str,
        native: str,
        walk: MidWalk,
        price_decimals: int,
        size_decimals: int,
        tick: int,
        lot: int,
        min_size: int,
        offset: int,
        spread: int,
        typical_size: int,
        gap_ticks: int,
        latency_ns: int,
        trade_id: int,
        book_version: int,
    ) -> None:
        self.venue = venue
        self.symbol = symbol
        self.native = native
        self.walk = walk
        self.price_decimals = price_decimals
        self.size_decimals = size_decimals
        self.tick = tick
        self.lot = lot
        self.min_size = min_size
        self.offset = offset
        self.spread = spread
        self.size_span = max(1, 2 * typical_size // lot)  # level size ~ U[min, min+2*typical)
        self.taker_span = max(1, typical_size // (2 * lot))  # taker order ~ typical/4
        self.gap_ticks = gap_ticks
        self.latency_ns = latency_ns
        self.trade_id = trade_id
        self.book = Book(book_version)
        self.deltas_sent = 0
        self.synced = False
        self.resync_in: int | None = None
        self.counts = [0, 0, 0, 0]
        self.price_text: dict[int, str] = {}
        self.fmt_price: Callable[[int], str] = str
        self.fmt_size: Callable[[int], str] = str
        self.tpl: tuple[str, ...] = ()  # the venue codec's pre-built frame fragments

    def price_str(self, price: int) -> str:
        """Venue text of ``price`` (cached: prices repeat)."""
        text = self.price_text.get(price)
        if text is None:
            text = self.price_text[price] = self.fmt_price(price)
        return text
