"""Consolidated depth: top N levels per venue, fee-adjusted, published on change."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tapewire.records.market import ConsolidatedDepth
from tapewire.streams.aggregate import DepthConfig, DepthPublisher, NbboConfig
from tests.factories import T0
from tests.factories.market import book

D = Decimal


def _publisher(**fees: str) -> DepthPublisher:
    config = DepthConfig(levels=2, taker_fee_bps={v: D(b) for v, b in fees.items()}, interval_ns=0)
    return DepthPublisher(config, clock=lambda: 7)


def _rows(levels: object) -> list[tuple[str, str, str, str]]:
    assert isinstance(levels, (list, tuple))
    return [(x.venue, _s(x.price), _s(x.size), _s(x.effective_price)) for x in levels]


def _s(value: Decimal) -> str:
    return f"{value.normalize():f}"


def test_top_n_per_venue_sorted_by_fee_adjusted_price() -> None:
    pub = _publisher(binance="10", okx="2")
    bids = [("100", "1"), ("99", "2"), ("98", "3")]
    assert pub.add(book("binance", bids, [("101", "1"), ("102", "2"), ("103", "9")], ts=T0))
    assert pub.add(book("okx", [("99.95", "1")], [("101.05", "4")], ts=T0 + 5))
    snap = pub.snapshot("BTC-USDT-SPOT")
    assert isinstance(snap, ConsolidatedDepth)
    # binance's 100 bid nets 99.9 after 10 bp, okx's 99.95 nets 99.93001: okx is best
    assert _rows(snap.bids) == [
        ("okx", "99.95", "1", "99.93001"),
        ("binance", "100", "1", "99.9"),
        ("binance", "99", "2", "98.901"),
    ]
    # asks: binance 101 costs 101.101, okx 101.05 costs 101.07021
    assert _rows(snap.asks) == [
        ("okx", "101.05", "4", "101.07021"),
        ("binance", "101", "1", "101.101"),
        ("binance", "102", "2", "102.102"),
    ]
    assert (snap.levels, snap.venue_count, snap.receive_ts_ns, snap.process_ts_ns) == (
        2,
        2,
        T0 + 5,
        7,
    )
    assert snap.bids[0].instrument == "BTC-USDT-SPOT"


def test_an_unchanged_snapshot_is_not_repeated_and_a_change_is() -> None:
    pub = _publisher()
    pub.add(book("binance", [("100", "1")], [("101", "1")], ts=T0))
    assert pub.snapshot("BTC-USDT-SPOT") is not None
    pub.add(book("binance", [("100", "1")], [("101", "1")], ts=T0 + 1))
    assert pub.snapshot("BTC-USDT-SPOT") is None
    pub.add(book("binance", [], [("101", "0.5")], kind="DELTA", ts=T0 + 2))
    snap = pub.snapshot("BTC-USDT-SPOT")
    assert snap is not None
    assert snap.asks[0].size == D("0.5")
    assert snap.asks[0].effective_price == D("101")  # no fee configured: the book price


def test_quote_groups_merge_venues_and_stale_books_drop_out() -> None:
    nbbo = NbboConfig.usd_equivalent(max_quote_age_ns=1_000)
    pub = DepthPublisher(DepthConfig(levels=1, interval_ns=0), nbbo, clock=lambda: 0)
    group = pub.add(book("binance", [("100", "1")], [("101", "1")], ts=T0))
    assert group == "BTC-USD_EQ-SPOT"
    usd = "BTC-USD-SPOT"
    kraken = book("kraken", [("99", "1")], [("100.5", "1")], instrument=usd, ts=T0 + 2_000)
    pub.add(kraken)
    snap = pub.snapshot("BTC-USD_EQ-SPOT")
    assert snap is not None
    assert [(x.venue, x.instrument) for x in snap.asks] == [("kraken", "BTC-USD-SPOT")]
    assert snap.venue_count == 1


def test_an_id_is_looked_at_once_per_interval_of_receive_time() -> None:
    pub = DepthPublisher(DepthConfig(levels=1, interval_ns=100), clock=lambda: 0)
    pub.add(book("binance", [("100", "1")], [("101", "1")], ts=T0))
    assert pub.snapshot("BTC-USDT-SPOT") is not None
    pub.add(book("binance", [("100", "2")], [("101", "1")], ts=T0 + 99))
    assert pub.snapshot("BTC-USDT-SPOT") is None  # changed, but within the interval
    pub.add(book("binance", [("100", "3")], [("101", "1")], ts=T0 + 100))
    snap = pub.snapshot("BTC-USDT-SPOT")
    assert snap is not None
    assert snap.bids[0].size == D(3)  # the state as of the first update after it


def test_a_bad_update_is_rejected_with_a_reason() -> None:
    pub = _publisher()
    assert pub.add(book("binance", [("100", "1")], [], instrument="NOT AN ID")) is None
    (rejected,) = pub.drain_rejected()
    assert rejected.reason == "invalid"
    assert pub.add(book("binance", [("100", "1")], [], kind="DELTA")) is None  # before a snapshot
    assert len(pub.drain_rejected()) == 1


def test_config_refuses_bad_values() -> None:
    with pytest.raises(ValueError, match="levels"):
        DepthConfig(levels=0)
    with pytest.raises(ValueError, match="taker_fee_bps"):
        DepthConfig(taker_fee_bps={"okx": D(-1)})
    with pytest.raises(ValueError, match="interval_ns"):
        DepthConfig(interval_ns=-1)
