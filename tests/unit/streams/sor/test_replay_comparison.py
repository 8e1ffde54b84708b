"""The SOR against routing the whole order to the single best venue, on replayed books.

Books: a seeded simulated BTC/USDT run on Binance and OKX (their real tick/lot rules, 7.5
and 8 bp taker fees), both venues' books taken every 200 frames. At each snapshot one
parent is executed twice on fresh paper venues holding those books: by the SOR over both
venues, and by the same router restricted to the venue with the best fee-adjusted top of
book. Prices compared are the fee-inclusive averages of the actual paper fills.
"""

from __future__ import annotations

import statistics
from decimal import Decimal

import pytest

from tapewire.streams.oms import Side
from tests.factories.sor import (
    Snapshot,
    best_single_venue,
    execute,
    improvement_bps,
    replayed_books,
)

D = Decimal


@pytest.fixture(scope="module")
def snapshots() -> list[Snapshot]:
    got = list(replayed_books(seed=11, n_frames=6000, every=200))
    assert len(got) >= 25
    return got


@pytest.mark.parametrize("quantity", [D(1), D(2)])
@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
def test_the_sor_is_never_worse_than_the_single_best_venue_and_better_when_it_splits(
    snapshots: list[Snapshot], side: Side, quantity: Decimal
) -> None:
    both_filled: list[Decimal] = []
    split: list[Decimal] = []
    single_short = 0
    for snapshot in snapshots:
        sor = execute([snapshot], side, quantity)
        single = execute([snapshot], side, quantity, venues=(best_single_venue(snapshot, side),))
        assert sor.filled >= single.filled
        if single.filled < quantity:
            single_short += 1
            continue
        assert sor.filled == quantity
        assert sor.avg_price_with_fees is not None
        assert single.avg_price_with_fees is not None
        if side is Side.BUY:
            assert sor.avg_price_with_fees <= single.avg_price_with_fees
        else:
            assert sor.avg_price_with_fees >= single.avg_price_with_fees
        bps = improvement_bps(side, sor.avg_price_with_fees, single.avg_price_with_fees)
        both_filled.append(bps)
        if len(sor.venues) > 1:
            split.append(bps)
    print(
        f"\n{side} {quantity}: {len(snapshots)} books, single venue short on {single_short}; "
        f"both filled on {len(both_filled)}: median {statistics.median(both_filled)} bp, "
        f"mean {sum(both_filled) / len(both_filled):.4f} bp; "
        f"SOR split on {len(split)}: median {statistics.median(split) if split else '-'} bp"
    )
    assert split, "the SOR never split across the two venues"
    assert all(bps >= 0 for bps in both_filled)
    assert statistics.median(split) > 0


def test_a_parent_larger_than_the_visible_depth_is_rerouted_until_filled(
    snapshots: list[Snapshot],
) -> None:
    quantity = D(12)  # more than both books show at once
    first = execute(snapshots[:1], Side.BUY, quantity)
    assert first.filled < quantity
    assert first.venues == ("binance", "okx")
    worked = execute(snapshots[:6], Side.BUY, quantity)
    assert worked.waves > 1
    # filled but for dust below every venue's minimum (0.00001 BTC), which no venue takes
    assert quantity - D("0.00001") < worked.filled <= quantity
