"""What a correct consumer of the simulated stream must end up with.

Recorded while frames are generated (cheap tuples), exposed as exact records with
:class:`~decimal.Decimal` values, so end-to-end tests can compare counts and values
without re-parsing frames.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from tapewire.connectors.simulator.frames import Channel

Side = Literal["buy", "sell"]
FaultKind = Literal["gap", "truncated"]


@dataclass(frozen=True, slots=True)
class ExpectedTrade:
    """One public trade as the venue reported it; ``side`` is the taker's side."""

    venue: str
    symbol: str
    trade_id: str
    price: Decimal
    amount: Decimal
    side: Side
    timestamp_ms: int
    frame_index: int


@dataclass(frozen=True, slots=True)
class ExpectedQuote:
    """Top of book from one BBO frame; ``timestamp_ms`` is ``None`` if the frame has none."""

    venue: str
    symbol: str
    bid: Decimal
    bid_size: Decimal
    ask: Decimal
    ask_size: Decimal
    timestamp_ms: int | None
    frame_index: int


@dataclass(frozen=True, slots=True)
class ExpectedBook:
    """A venue's book as of its last book message, best levels first.

    ``nonce`` is what the venue's sequencing calls it: Binance ``lastUpdateId``/``u``,
    OKX ``seqId``. ``synced`` is False when a consumer cannot hold this book: no
    snapshot was emitted yet, or a gap was injected and its resync snapshot was not.
    """

    venue: str
    symbol: str
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]
    nonce: int
    synced: bool


@dataclass(frozen=True, slots=True)
class Fault:
    """An injected fault. ``gap``: the book delta that would have been frame
    ``frame_index`` was dropped (``detail`` names the lost sequence range);
    ``truncated``: frame ``frame_index`` is a cut copy of the frame after it."""

    kind: FaultKind
    venue: str
    symbol: str
    channel: Channel
    frame_index: int
    detail: str


TradeRow = tuple[str, str, str, str, str, bool, int, int]
QuoteRow = tuple[str, str, str, str, str, str, int | None, int]


FrameKey = tuple[str, str | None, Channel]


class GroundTruth:
    """Expected trades, quotes, final books, faults and frame counts of one run."""

    def __init__(
        self,
        books: Callable[[], dict[tuple[str, str], ExpectedBook]],
        counts: Callable[[], Counter[FrameKey]],
    ) -> None:
        self.trade_rows: list[TradeRow] = []
        """Raw trades: ``(venue, symbol, id, price, amount, taker_is_buyer, ts_ms, frame)``."""
        self.quote_rows: list[QuoteRow] = []
        """Raw quotes: ``(venue, symbol, bid, bid_size, ask, ask_size, ts_ms, frame)``."""
        self._books = books
        self._counts = counts
        self.faults: list[Fault] = []
        """Injected faults in stream order (empty unless ``SimConfig.faults`` enables them)."""

    @property
    def trade_count(self) -> int:
        """Number of trades emitted."""
        return len(self.trade_rows)

    def trades(self) -> list[ExpectedTrade]:
        """Every trade emitted, in stream order."""
        return [
            ExpectedTrade(v, s, i, Decimal(p), Decimal(a), "buy" if b else "sell", t, f)
            for v, s, i, p, a, b, t, f in self.trade_rows
        ]

    def quotes(self) -> list[ExpectedQuote]:
        """Every BBO frame's top of book, in stream order."""
        return [
            ExpectedQuote(v, s, Decimal(b), Decimal(bs), Decimal(a), Decimal(az), t, f)
            for v, s, b, bs, a, az, t, f in self.quote_rows
        ]

    def books(self) -> dict[tuple[str, str], ExpectedBook]:
        """Final book per ``(venue, symbol)`` as of each one's last book message."""
        return self._books()

    def frame_counts(self) -> Counter[FrameKey]:
        """Frames emitted per ``(venue, symbol, channel)``, truncated copies included;
        ``symbol`` is ``None`` for ``rest_markets``."""
        return self._counts()

    def count(
        self, venue: str | None = None, channel: Channel | None = None, symbol: str | None = None
    ) -> int:
        """Frames emitted, optionally filtered by venue, channel and symbol."""
        return sum(
            n
            for (v, s, c), n in self._counts().items()
            if (venue is None or v == venue)
            and (channel is None or c == channel)
            and (symbol is None or s == symbol)
        )
