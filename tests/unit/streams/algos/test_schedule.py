"""Slice schedules, the seeded draws and the VWAP volume profile: pure functions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tapewire.streams.algos import AlgoError, slice_schedule, volume_profile
from tapewire.streams.algos.schedule import display_size, draw, floor_lot
from tapewire.streams.execution.rules import Increment

D = Decimal
LOT = Increment(D("0.001"))
S = 1_000_000_000
DAY = 86_400 * S


def test_equal_weights_give_equal_slices_at_equal_times() -> None:
    got = slice_schedule("a", D(1), [D(1)] * 4, start_ns=0, end_ns=4 * S, lot=LOT)
    assert got.times == (0, S, 2 * S, 3 * S)
    assert got.targets == (D("0.25"), D("0.5"), D("0.75"), D(1))
    assert got.sizes == (D("0.25"),) * 4
    assert (got.due(-1), got.due(0), got.due(S - 1), got.due(3 * S)) == (0, 1, 1, 4)


def test_targets_round_down_to_the_lot_and_the_last_takes_the_rest() -> None:
    got = slice_schedule("a", D(1), [D(1)] * 3, start_ns=0, end_ns=3, lot=LOT)
    assert got.sizes == (D("0.333"), D("0.333"), D("0.334"))


def test_draws_are_deterministic_fractions_that_depend_on_every_key_part() -> None:
    u = draw(1, "a", "size", 0)
    assert u == draw(1, "a", "size", 0)
    assert 0 <= u < 1
    others = {draw(2, "a", "size", 0), draw(1, "b", "size", 0), draw(1, "a", "time", 0)}
    assert u not in others


@settings(max_examples=200, deadline=None)
@given(
    quantity=st.decimals(D("0.001"), D(1000), places=3),
    weights=st.lists(st.decimals(D(0), D(100), places=2), min_size=1, max_size=30).filter(
        lambda w: sum(w) > 0
    ),
    time_jitter=st.decimals(D(0), D("0.99"), places=2),
    size_jitter=st.decimals(D(0), D("0.99"), places=2),
    seed=st.integers(0, 2**32),
)
def test_slices_sum_to_the_quantity_in_order_within_their_bounds(
    quantity: Decimal,
    weights: list[Decimal],
    time_jitter: Decimal,
    size_jitter: Decimal,
    seed: int,
) -> None:
    n = len(weights)
    end = 60 * S
    got = slice_schedule(
        "algo",
        quantity,
        weights,
        start_ns=0,
        end_ns=end,
        time_jitter=time_jitter,
        size_jitter=size_jitter,
        seed=seed,
        lot=LOT,
    )
    assert sum(got.sizes) == quantity  # on the lot: the whole quantity, never more
    assert all(s >= 0 and floor_lot(s, LOT) == s for s in got.sizes)
    assert list(got.targets) == sorted(got.targets)  # never above what is left
    interval = end // n
    for k, t in enumerate(got.times):
        assert k * interval <= t <= k * interval + time_jitter * interval
    assert list(got.times) == sorted(got.times)


def test_display_sizes_stay_within_the_jitter_and_at_least_one_lot() -> None:
    sizes = [display_size("ice", k, D("0.1"), D("0.5"), 3, LOT) for k in range(1, 200)]
    assert all(D("0.05") <= s < D("0.15") for s in sizes)
    assert display_size("ice", 1, D("0.0004"), D(0), 0, LOT) == D("0.001")


def test_volume_profile_buckets_history_by_time_of_day() -> None:
    start = 10 * DAY + 3_600 * S  # 01:00 UTC, 3 slices of 20 minutes
    minute = 60 * S
    history = [
        (day * DAY + 3_600 * S + m * minute, D(m % 20 + 1) if m < 20 else D(5))
        for day in range(3)
        for m in range(60)
    ]
    history += [(day * DAY, D(1000)) for day in range(3)]  # midnight: outside the window
    got = volume_profile(history, start_ns=start, end_ns=start + 60 * minute, slices=3)
    # slice 0: 3 days x (1 + ... + 20) = 630; slices 1 and 2: 3 x 20 x 5 = 300 each
    assert got == (D("0.512195121951219512"), D("0.243902439024390244"), D("0.243902439024390244"))
    assert abs(got[0] - D(630) / D(1230)) < D("1e-18")


def test_volume_profile_window_across_midnight() -> None:
    start = 5 * DAY - 30 * 60 * S  # 23:30 to 00:30
    history = [(DAY - 10 * 60 * S, D(1)), (2 * DAY + 10 * 60 * S, D(3))]
    got = volume_profile(history, start_ns=start, end_ns=start + 3_600 * S, slices=2)
    assert got == (D("0.25"), D("0.75"))


@pytest.mark.parametrize(
    ("history", "end", "why"),
    [
        ([], 3_600 * S, "no historical volume"),
        ([(0, D(1))], DAY + 1, "must be 1 ns to"),
    ],
)
def test_volume_profile_refuses_an_empty_history_or_a_window_over_a_day(
    history: list[tuple[int, Decimal]], end: int, why: str
) -> None:
    with pytest.raises(AlgoError, match=why):
        volume_profile(history, start_ns=0, end_ns=end, slices=2)


def test_floor_lot_keeps_every_digit_of_a_large_quantity() -> None:
    big = D("123456789012.123456789012345678999")  # 33 digits: past the default 28
    assert floor_lot(big, None) == D("123456789012.123456789012345678")
    assert floor_lot(big, LOT) == D("123456789012.123")
    assert floor_lot(D("-1"), LOT) == 0
