"""A paper venue with a book, and the check of its reports."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tapewire.schemas.codec import Codec
from tapewire.streams.execution.fees import FeeSchedule
from tapewire.streams.execution.paper import PaperConfig, PaperVenue
from tapewire.streams.oms.reports import Reports
from tests.factories.market import book

PAPER = "paper"
"""The name of :func:`paper_venue`'s venue."""
CODEC = Codec()


def paper_venue(**config: Any) -> PaperVenue:
    """A paper venue (maker -1 bp, taker 10 bp; ``config``: other ``PaperConfig`` fields)
    with a book of bids 99 x 1, 98 x 2 and asks 101 x 1, 102 x 2, 103 x 5 at time 1."""
    venue = PaperVenue(
        PaperConfig(venue=PAPER, fees=FeeSchedule(Decimal("-1"), Decimal("10")), **config)
    )
    bids = [("99", "1"), ("98", "2")]
    asks = [("101", "1"), ("102", "2"), ("103", "5")]
    venue.on_book(book(PAPER, bids, asks, ts=1))
    return venue


def encode_all(out: Reports) -> Reports:
    """``out`` after checking that every event and fill encodes and no event overfills."""
    for e in out.events:
        CODEC.encode("oms.events", e)
        assert e["cum_qty"] <= e["quantity"]
    for f in out.fills:
        CODEC.encode("oms.fills", f)
    return out
