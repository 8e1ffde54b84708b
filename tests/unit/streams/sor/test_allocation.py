"""allocate: the split of one order by fee-adjusted depth, rules and balances."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tapewire.streams.aggregate.consolidated import ConsolidatedBook
from tapewire.streams.execution.fees import FeeAsset, FeeSchedule
from tapewire.streams.oms import Side
from tapewire.streams.sor import Balances, VenueLevel, VenueTerms, allocate, venue_levels
from tests.factories import INST
from tests.factories.market import book
from tests.factories.sor import levels, rules, terms

D = Decimal


def test_buy_larger_than_one_venue_splits_by_depth_across_two_venues() -> None:
    ladder = levels("a", ("100", "1"), ("102", "5")) + levels("b", ("101", "1"), ("103", "5"))
    got = allocate(Side.BUY, D("2.5"), ladder, {"a": terms("a"), "b": terms("b")}, instrument=INST)
    assert [(c.venue, c.quantity, c.limit_price) for c in got] == [
        ("a", D("1.5"), D("102")),
        ("b", D("1"), D("101")),
    ]
    assert got.unallocated == 0
    assert got.expected_price() == D("100.8")  # (100 + 102 x 0.5 + 101) / 2.5


def test_sell_takes_the_best_bids_first_across_venues() -> None:
    ladder = levels("a", ("99", "1"), ("97", "5")) + levels("b", ("98", "2"))
    got = allocate(Side.SELL, D(2), ladder, {"a": terms("a"), "b": terms("b")}, instrument=INST)
    assert [(c.venue, c.quantity, c.limit_price) for c in got] == [
        ("a", D(1), D(99)),
        ("b", D(1), D(98)),
    ]


def test_taker_fee_makes_the_nominally_worse_venue_cheaper() -> None:
    ladder = levels("a", ("100.00", "1")) + levels("b", ("100.05", "1"))
    no_fees = allocate(Side.BUY, D(1), ladder, {"a": terms("a"), "b": terms("b")}, instrument=INST)
    assert no_fees.venues == ("a",)
    # a: 100 x 1.0010 = 100.10 > b: 100.05 x 1.0002 = 100.07
    fees = {"a": terms("a", taker_bps=10), "b": terms("b", taker_bps=2)}
    got = allocate(Side.BUY, D(1), ladder, fees, instrument=INST)
    assert got.venues == ("b",)
    assert got.children[0].fee == D("0.02001")  # 100.05 x 2 bp


def test_fee_in_the_received_base_counts_against_a_buy() -> None:
    base_fee = VenueTerms("a", FeeSchedule(taker_bps=D(10), asset=FeeAsset.RECEIVED))
    ladder = levels("a", ("100", "1")) + levels("b", ("100.09", "1"))
    got = allocate(Side.BUY, D(1), ladder, {"a": base_fee, "b": terms("b")}, instrument=INST)
    assert got.venues == ("b",)  # 100 / 0.999 = 100.1001 > 100.09
    sell = allocate(Side.SELL, D(1), levels("a", ("100", "1")), {"a": base_fee}, instrument=INST)
    assert sell.children[0].fee_currency == "USDT"


def test_equal_fee_adjusted_prices_tie_break_by_venue_name() -> None:
    ladder = levels("zeta", ("100", "1")) + levels("alpha", ("100", "1"))
    venues = {"zeta": terms("zeta"), "alpha": terms("alpha")}
    got = allocate(Side.BUY, D(1), ladder, venues, instrument=INST)
    assert got.venues == ("alpha",)


def test_each_child_is_rounded_down_to_its_lot_and_the_cut_flows_to_the_next_venue() -> None:
    ladder = levels("a", ("100", "10")) + levels("b", ("101", "10"))
    venues = {"a": terms("a", venue_rules=rules("a", lot="0.1")), "b": terms("b")}
    got = allocate(Side.BUY, D("1.25"), ladder, venues, instrument=INST)
    assert [(c.venue, c.quantity) for c in got] == [("a", D("1.2")), ("b", D("0.05"))]


def test_a_child_below_min_notional_is_dropped_and_its_quantity_reallocated() -> None:
    ladder = levels("a", ("100", "1")) + levels("b", ("101", "5"))
    venues = {
        "a": terms("a", venue_rules=rules("a", lot="0.001")),
        "b": terms("b", venue_rules=rules("b", lot="0.001", min_notional=20)),
    }
    got = allocate(Side.BUY, D("1.1"), ladder, venues, instrument=INST)
    # b would get 0.1 x 101 = 10.1 < 20: dropped; a has only 1 at 100
    assert [(c.venue, c.quantity) for c in got] == [("a", D(1))]
    assert got.unallocated == D("0.1")
    assert [(d.venue, d.quantity) for d in got.dropped] == [("b", D("0.1"))]
    assert "min notional 20" in got.dropped[0].reason
    bigger = allocate(Side.BUY, D("1.3"), ladder, venues, instrument=INST)
    assert [(c.venue, c.quantity) for c in bigger] == [("a", D(1)), ("b", D("0.3"))]


def test_a_child_below_one_lot_or_min_qty_is_dropped() -> None:
    ladder = levels("a", ("100", "1")) + levels("b", ("101", "5"))
    venues = {
        "a": terms("a", venue_rules=rules("a", lot="0.5")),
        "b": terms("b", venue_rules=rules("b", lot="0.001", min_qty="0.1")),
    }
    got = allocate(Side.BUY, D("1.05"), ladder, venues, instrument=INST)
    assert [(c.venue, c.quantity) for c in got] == [("a", D(1))]
    assert "min qty" in got.dropped[0].reason


def test_buys_respect_the_quote_balance_and_sells_the_base_balance_per_venue() -> None:
    asks = levels("a", ("100", "5")) + levels("b", ("101", "5"))
    venues = {"a": terms("a", taker_bps=10, venue_rules=rules("a", lot="0.01")), "b": terms("b")}
    balances = Balances({("a", "USDT"): D("150.15")})  # 1.5 at 100 plus 10 bp
    got = allocate(Side.BUY, D(3), asks, venues, instrument=INST, balances=balances)
    assert [(c.venue, c.quantity) for c in got] == [("a", D("1.5")), ("b", D("1.5"))]
    a = got.children[0]
    assert a.notional + a.fee <= D("150.15")
    bids = levels("a", ("100", "5")) + levels("b", ("99", "5"))
    base = Balances({("a", "BTC"): D("0.7"), ("b", "BTC"): D(1)})
    sold = allocate(Side.SELL, D(3), bids, venues, instrument=INST, balances=base)
    assert [(c.venue, c.quantity) for c in sold] == [("a", D("0.7")), ("b", D(1))]
    assert sold.unallocated == D("1.3")


def test_the_limit_price_is_honoured_and_bounds_each_child() -> None:
    ladder = levels("a", ("100", "1"), ("101", "1"), ("103", "1")) + levels("b", ("102", "1"))
    venues = {"a": terms("a"), "b": terms("b")}
    got = allocate(Side.BUY, D(4), ladder, venues, instrument=INST, limit_price=D(102))
    assert [(c.venue, c.quantity, c.limit_price) for c in got] == [
        ("a", D(2), D(101)),
        ("b", D(1), D(102)),
    ]
    assert got.unallocated == D(1)
    nothing = allocate(Side.SELL, D(1), ladder, venues, instrument=INST, limit_price=D(104))
    assert nothing.children == ()


def test_only_the_venues_given_are_used() -> None:
    ladder = levels("a", ("100", "1")) + levels("b", ("99", "1"))
    got = allocate(Side.BUY, D(1), ladder, {"a": terms("a")}, instrument=INST)
    assert got.venues == ("a",)


def test_levels_come_from_the_consolidated_book_one_per_venue() -> None:
    consolidated = ConsolidatedBook()
    consolidated.add(book("a", [("99", "1")], [("100", "1"), ("101", "2")]))
    consolidated.add(book("b", [("98", "1")], [("100", "3")]))
    got = venue_levels(consolidated.depth(INST, "ask", 5))
    assert got == [
        VenueLevel("a", D(100), D(1)),
        VenueLevel("b", D(100), D(3)),
        VenueLevel("a", D(101), D(2)),
    ]


def test_a_non_positive_quantity_is_refused() -> None:
    with pytest.raises(ValueError, match="quantity"):
        allocate(Side.BUY, D(0), [], {"a": terms("a")}, instrument=INST)


_prices = st.integers(min_value=9_000, max_value=11_000).map(lambda n: D(n).scaleb(-2))
_sizes = st.integers(min_value=1, max_value=50_000).map(lambda n: D(n).scaleb(-4))
_venue = st.sampled_from(["a", "b", "c"])


@settings(max_examples=150, deadline=None)
@given(
    side=st.sampled_from([Side.BUY, Side.SELL]),
    quantity=st.integers(min_value=1, max_value=100_000).map(lambda n: D(n).scaleb(-4)),
    book_levels=st.lists(st.tuples(_venue, _prices, _sizes), min_size=0, max_size=25),
    limit=st.none() | _prices,
    fee_bps=st.tuples(*(st.integers(min_value=0, max_value=30) for _ in range(3))),
    balance=st.none() | st.integers(min_value=0, max_value=5_000).map(D),
)
def test_children_never_exceed_the_parent_sit_on_lots_and_respect_the_limit(
    side: Side,
    quantity: Decimal,
    book_levels: list[tuple[str, Decimal, Decimal]],
    limit: Decimal | None,
    fee_bps: tuple[int, int, int],
    balance: Decimal | None,
) -> None:
    lots = {"a": D("0.001"), "b": D("0.01"), "c": D("0.0001")}
    venues = {
        name: terms(
            name,
            taker_bps=fee,
            venue_rules=rules(name, lot=str(lots[name]), min_notional=5, min_qty="0.001"),
        )
        for name, fee in zip("abc", fee_bps, strict=True)
    }
    currency = "USDT" if side is Side.BUY else "BTC"
    balances = Balances({("a", currency): balance} if balance is not None else {})
    ladder = [VenueLevel(v, p, s) for v, p, s in book_levels]
    got = allocate(
        side, quantity, ladder, venues, instrument=INST, limit_price=limit, balances=balances
    )
    assert got.allocated <= quantity
    depth: dict[str, Decimal] = {}
    for v, p, s in book_levels:
        if limit is None or (p <= limit if side is Side.BUY else p >= limit):
            depth[v] = depth.get(v, D(0)) + s
    for child in got:
        assert child.quantity > 0
        assert child.quantity % lots[child.venue] == 0
        assert child.quantity >= D("0.001")
        assert child.quantity * child.limit_price >= 5
        assert child.quantity <= depth[child.venue]
        if limit is not None:
            assert child.limit_price <= limit if side is Side.BUY else child.limit_price >= limit
        if balance is not None and child.venue == "a":
            spend = child.quantity * child.limit_price * (1 + D(fee_bps[0]) / 10_000)
            assert (spend if side is Side.BUY else child.quantity) <= balance
    again = allocate(
        side, quantity, ladder, venues, instrument=INST, limit_price=limit, balances=balances
    )
    assert again == got
