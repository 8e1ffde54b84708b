"""PositionBook memory: fill ids and arrival mids stay within ``id_window`` over many fills,
while a fill redelivered inside the window is still ignored and positions stay exact."""

from __future__ import annotations

from decimal import Decimal

from tapewire.streams.trading import PositionBook
from tests.factories.orders import approval
from tests.factories.trading import fill

WINDOW = 100


def test_fill_ids_and_arrivals_bounded_over_5000_fills_redelivery_inside_window_ignored() -> None:
    book = PositionBook(id_window=WINDOW)
    for i in range(5_000):
        book.on_approved(approval(f"o{i}", reference_price=Decimal(100)))
        side = "BUY" if i % 2 == 0 else "SELL"
        up = book.on_fill(fill(f"f{i}", side, "100", "1", cid=f"o{i}"))
        assert [q.arrival_mid for q in up.quality] == [Decimal(100)]
        if i >= WINDOW:  # a redelivered fill inside the window changes nothing
            again = book.on_fill(fill(f"f{i - WINDOW + 1}", "BUY", "100", "1"))
            assert again.positions == []
        assert len(book._fills) <= WINDOW
        assert len(book.arrival) <= WINDOW
    (position,) = book.positions.values()
    assert position.quantity == 0  # 2,500 buys and 2,500 sells of 1, nothing counted twice
    # an order approved more than id_window orders ago: its fill has no arrival mid
    assert book.on_fill(fill("late", "BUY", "100", "1", cid="o0")).quality == []
