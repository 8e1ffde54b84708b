"""Consolidated NBBO and book across venues: quote-currency groups on and off, staleness,
crossed/locked markets, tie-break, emission on change, heartbeats, Avro, no floats."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from tapewire.core.records import Record
from tapewire.schemas.codec import Codec
from tapewire.streams.aggregate import (
    ConsolidatedBook,
    MarketCondition,
    NbboAggregator,
    NbboConfig,
    QuoteGroup,
    market_condition,
)
from tests.factories.market import book

CODEC = Codec()
S = 1_000_000_000
T0 = 1_767_225_600 * S


def quote(
    venue: str,
    instrument: str,
    bid: tuple[str, str] | None,
    ask: tuple[str, str] | None,
    ts: int,
) -> dict[str, Any]:
    return {
        "venue": venue,
        "instrument": instrument,
        "bid_price": Decimal(bid[0]) if bid else None,
        "bid_size": Decimal(bid[1]) if bid else None,
        "ask_price": Decimal(ask[0]) if ask else None,
        "ask_size": Decimal(ask[1]) if ask else None,
        "source": "VENUE_BBO",
        "exchange_ts_ns": None,
        "receive_ts_ns": ts,
        "process_ts_ns": ts,
    }


def check(record: Record) -> None:
    CODEC.for_topic("md.nbbo").encode(record)
    assert not any(isinstance(v, float) for v in record.values())


THREE = [
    quote("binance", "BTC-USDT-SPOT", ("42000.5", "1"), ("42001", "2"), T0),
    quote("coinbase", "BTC-USD-SPOT", ("42000.7", "0.5"), ("42002", "1"), T0 + 1),
    quote("kraken", "BTC-USD-SPOT", ("41999", "3"), ("42000.9", "0.25"), T0 + 2),
]


def run(agg: NbboAggregator, quotes: list[dict[str, Any]]) -> list[Record]:
    out: list[Record] = []
    for q in quotes:
        out += agg.add(q)
    for record in out:
        check(record)
    return out


def test_groups_off_only_identical_instruments_share_an_nbbo() -> None:
    agg = NbboAggregator(NbboConfig(), clock=lambda: 9)
    out = run(agg, THREE)
    latest = {r["instrument"]: r for r in out}
    assert set(latest) == {"BTC-USDT-SPOT", "BTC-USD-SPOT"}
    usd = latest["BTC-USD-SPOT"]
    assert (usd["bid_price"], usd["bid_venue"], usd["ask_price"], usd["ask_venue"]) == (
        Decimal("42000.7"),
        "coinbase",
        Decimal("42000.9"),
        "kraken",
    )
    assert usd["venue_count"] == 2
    assert latest["BTC-USDT-SPOT"]["venue_count"] == 1
    assert usd["process_ts_ns"] == 9


def test_groups_on_merge_usd_usdt_usdc_under_a_documented_id() -> None:
    agg = NbboAggregator(NbboConfig.usd_equivalent())
    out = run(agg, THREE)
    assert {r["instrument"] for r in out} == {"BTC-USD_EQ-SPOT"}
    last = out[-1]
    assert (last["bid_price"], last["bid_size"], last["bid_venue"]) == (
        Decimal("42000.7"),
        Decimal("0.5"),
        "coinbase",
    )
    assert (last["ask_price"], last["ask_size"], last["ask_venue"]) == (
        Decimal("42000.9"),
        Decimal("0.25"),
        "kraken",
    )
    assert (last["bid_receive_ts_ns"], last["ask_receive_ts_ns"]) == (T0 + 1, T0 + 2)
    assert last["venue_count"] == 3
    assert agg.consolidated_id("ETH-USDC-SPOT") == "ETH-USD_EQ-SPOT"
    assert agg.consolidated_id("ETH-EUR-SPOT") == "ETH-EUR-SPOT"
    assert agg.consolidated_id("BTC-USDT-PERP-USDT") == "BTC-USD_EQ-PERP-USDT"  # settle kept


def test_emits_only_when_the_nbbo_changes() -> None:
    agg = NbboAggregator(NbboConfig.usd_equivalent())
    run(agg, THREE)
    # kraken refreshes the same quote; a below-the-top change on binance: no NBBO change
    assert (
        agg.add(quote("kraken", "BTC-USD-SPOT", ("41999", "3"), ("42000.9", "0.25"), T0 + 5)) == []
    )
    assert agg.add(quote("binance", "BTC-USDT-SPOT", ("42000", "1"), ("42001", "2"), T0 + 6)) == []
    [changed] = agg.add(quote("binance", "BTC-USDT-SPOT", ("42000.8", "1"), ("42001", "2"), T0 + 7))
    assert changed["bid_venue"] == "binance"


def test_stale_venue_quotes_are_excluded() -> None:
    agg2 = NbboAggregator(NbboConfig.usd_equivalent(max_quote_age_ns=S))
    run(agg2, THREE)
    assert agg2.tick(T0 + S) == []  # age == limit is still live
    [first] = agg2.tick(T0 + S + 1)  # binance (received T0) is now older than 1 s
    assert first["venue_count"] == 2
    [second] = agg2.tick(T0 + S + 2)  # coinbase too: best bid moves to kraken
    assert (second["bid_venue"], second["bid_price"], second["venue_count"]) == (
        "kraken",
        Decimal(41999),
        1,
    )
    # a fresh quote from binance brings it back; its receive time also ages kraken out
    [back] = agg2.add(quote("binance", "BTC-USDT-SPOT", ("42000.5", "1"), None, T0 + S + 3))
    assert (back["bid_venue"], back["ask_venue"], back["venue_count"]) == ("binance", None, 1)
    [empty] = agg2.tick(T0 + 10 * S)
    assert market_condition(empty) is MarketCondition.EMPTY
    assert empty["venue_count"] == 0
    check(empty)


def test_crossed_and_locked_markets_are_flagged() -> None:
    agg = NbboAggregator(NbboConfig.usd_equivalent())
    [normal] = agg.add(quote("binance", "BTC-USDT-SPOT", ("100", "1"), ("101", "1"), T0))
    assert market_condition(normal) is MarketCondition.NORMAL
    [locked] = agg.add(quote("coinbase", "BTC-USD-SPOT", ("99", "1"), ("100", "2"), T0 + 1))
    assert market_condition(locked) is MarketCondition.LOCKED
    [crossed] = agg.add(quote("kraken", "BTC-USD-SPOT", ("100.5", "1"), None, T0 + 2))
    assert market_condition(crossed) is MarketCondition.CROSSED
    assert (crossed["bid_venue"], crossed["ask_venue"]) == ("kraken", "coinbase")
    check(crossed)
    [one_sided] = NbboAggregator().add(quote("kraken", "BTC-USD-SPOT", None, ("1", "1"), T0))
    assert market_condition(one_sided) is MarketCondition.ONE_SIDED


def test_ties_go_to_the_earliest_quote_at_that_price() -> None:
    agg = NbboAggregator(NbboConfig.usd_equivalent())
    agg.add(quote("kraken", "BTC-USD-SPOT", ("100", "1"), ("102", "1"), T0))
    agg.add(quote("binance", "BTC-USDT-SPOT", ("100", "5"), ("102", "5"), T0 + 1))
    # kraken refreshes its size at the same price: it keeps its time priority
    [out] = agg.add(quote("kraken", "BTC-USD-SPOT", ("100", "2"), ("102", "1"), T0 + 2))
    assert (out["bid_venue"], out["bid_size"], out["ask_venue"]) == ("kraken", Decimal(2), "kraken")
    # kraken leaves 100 and comes back: binance now has priority there
    [out] = agg.add(quote("kraken", "BTC-USD-SPOT", ("99", "2"), ("102", "1"), T0 + 3))
    assert out["bid_venue"] == "binance"
    assert agg.add(quote("kraken", "BTC-USD-SPOT", ("100", "2"), ("102", "1"), T0 + 4)) == []


def test_heartbeat_re_emits_an_unchanged_nbbo() -> None:
    agg = NbboAggregator(NbboConfig(max_quote_age_ns=None, heartbeat_ns=S))
    agg.add(quote("kraken", "BTC-USD-SPOT", ("100", "1"), ("101", "1"), T0))
    assert agg.tick(T0 + S - 1) == []
    [beat] = agg.tick(T0 + S)
    assert beat["bid_price"] == Decimal(100)


def test_rejects_and_config_validation() -> None:
    agg = NbboAggregator()
    agg.add(quote("kraken", "not-an-id", ("1", "1"), None, T0))
    agg.add({**quote("kraken", "BTC-USD-SPOT", ("1", "1"), None, T0), "bid_size": None})
    agg.add({**quote("kraken", "BTC-USD-SPOT", None, None, T0), "ask_price": 1.0})
    agg.add(quote("kraken", "BTC-USD-SPOT", ("1", "1"), None, T0 + 5))
    agg.add(quote("kraken", "BTC-USD-SPOT", ("1", "1"), None, T0 + 4))
    assert [r.reason for r in agg.drain_rejected()] == [
        "invalid",
        "invalid",
        "invalid",
        "out_of_order",
    ]
    with pytest.raises(ValueError, match="must not be one of its members"):
        QuoteGroup("USD", frozenset({"USD", "USDT"}))
    with pytest.raises(ValueError, match="overlap"):
        NbboConfig(
            quote_groups=(
                QuoteGroup("A_EQ", frozenset({"USD", "USDT"})),
                QuoteGroup("B_EQ", frozenset({"USDT", "USDC"})),
            )
        )


def test_state_round_trip() -> None:
    config = NbboConfig.usd_equivalent()
    agg = NbboAggregator(config)
    run(agg, THREE)
    resumed = NbboAggregator(config)
    resumed.load_state(json.loads(json.dumps(agg.state())))
    nxt = quote("coinbase", "BTC-USD-SPOT", ("42000.7", "0.5"), ("42000.95", "1"), T0 + 9)
    assert resumed.add(nxt) == agg.add(nxt) == []
    new_best = quote("coinbase", "BTC-USD-SPOT", ("42000.8", "0.5"), ("42002", "1"), T0 + 10)
    assert [r["bid_price"] for r in resumed.add(new_best)] == [Decimal("42000.8")]
    per_key = NbboAggregator(config)
    for gid in agg.group_ids():
        state = agg.key_state(gid)
        assert state is not None
        per_key.load_key_state(gid, json.loads(json.dumps(state)))
    assert per_key.now_ns == agg.now_ns
    assert [r["bid_price"] for r in per_key.add(new_best)] == [Decimal("42000.8")]


def test_consolidated_book_merges_depth_across_venues() -> None:
    cbook = ConsolidatedBook(NbboConfig.usd_equivalent(max_quote_age_ns=S))
    cbook.add(
        book(
            "binance",
            [("100", "1"), ("99", "2")],
            [("101", "1")],
            instrument="BTC-USDT-SPOT",
            ts=T0,
        )
    )
    cbook.add(
        book("coinbase", [("100", "0.5")], [("100.5", "3")], instrument="BTC-USD-SPOT", ts=T0 + 1)
    )
    cbook.add(book("kraken", [("98", "4")], [("101", "2")], instrument="BTC-USD-SPOT", ts=T0 + 2))
    bids = cbook.depth("BTC-USD_EQ-SPOT", "bid", 2)
    assert [(lvl.price, lvl.size) for lvl in bids] == [
        (Decimal(100), Decimal("1.5")),
        (Decimal(99), Decimal(2)),
    ]
    assert bids[0].venues == {"binance": Decimal(1), "coinbase": Decimal("0.5")}
    asks = cbook.depth("BTC-USD_EQ-SPOT", "ask", 5)
    assert [(lvl.price, lvl.size) for lvl in asks] == [
        (Decimal("100.5"), Decimal(3)),
        (Decimal(101), Decimal(3)),
    ]
    cbook.tick(T0 + S + 1)  # binance is stale
    assert [lvl.price for lvl in cbook.depth("BTC-USD_EQ-SPOT", "bid")] == [
        Decimal(100),
        Decimal(98),
    ]
    assert cbook.drain_rejected() == []
