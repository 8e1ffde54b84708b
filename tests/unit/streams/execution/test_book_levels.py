"""``L2Book.levels`` yields the best level first without sorting the side, then the rest in
price order: the same sequence as sorting the whole side."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from tapewire.streams.execution.book import L2Book

prices = st.dictionaries(
    st.integers(1, 10_000).map(lambda n: Decimal(n) / 100), st.integers(1, 50).map(Decimal)
)


@given(prices, prices)
def test_levels_are_in_price_order_best_first(
    bids: dict[Decimal, Decimal], asks: dict[Decimal, Decimal]
) -> None:
    book = L2Book()
    book.bids, book.asks = dict(bids), dict(asks)
    assert list(book.levels("bids")) == [(p, bids[p]) for p in sorted(bids, reverse=True)]
    assert list(book.levels("asks")) == [(p, asks[p]) for p in sorted(asks)]
