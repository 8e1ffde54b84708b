"""OKX native mapper on the documentation-derived swap frames (``tests/data/frames/okx/
swap.jsonl``; markets from its REST ``instruments?instType=SWAP`` frame, loaded with the
ccxt options of a swaps-only connector) and on unit frames.

The spot fixture and the 2022 recording are covered by ``test_venues.py`` and
``test_real_frames.py`` (native by default) and by the differential test.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from tapewire.streams.normalize import Normalizer, NormalizeResult
from tapewire.streams.normalize.books import BookState
from tapewire.streams.normalize.mappers import MapError, MarketIndex
from tapewire.streams.normalize.mappers.common import okx_checksum
from tapewire.streams.normalize.mappers.okx import OkxMapper
from tapewire.testing.frames import read_frames
from tests.unit.streams.normalize.mappers.helpers import levels, run_with

DATA = Path(__file__).resolve().parents[4] / "data"
SWAP = DATA / "frames" / "okx" / "swap.jsonl"
T0 = 1_672_515_782_000_000_000
MS = 1_000_000
PERP = "BTC-USDT-PERP-USDT"


SWAPS_ONLY = {"okx": {"fetchMarkets": {"types": ["swap"]}}}
"""ccxt options of a connector subscribed to OKX swaps (it captured ``instType=SWAP``)."""


def run() -> tuple[Normalizer, NormalizeResult, list[NormalizeResult]]:
    return run_with(Normalizer(clock=lambda: 1, options=SWAPS_ONLY), SWAP, "okx")


lv = levels


def test_swap_counts_and_values() -> None:
    norm, total, per_frame = run()
    assert {t: len(r) for t, r in total.records.items() if r or t != "md.derivatives"} == {
        "md.trades": 2,
        "md.book": 3,
        "md.quotes": 1,
        "md.coverage": 3,
        "dlq.normalize": 1,
    }
    assert per_frame[1].records == NormalizeResult().records  # subscription ack
    sell, buy = total["md.trades"]
    assert [
        (t["instrument"], t["trade_id"], t["price"], t["size"], t["side"], t["exchange_ts_ns"])
        for t in (sell, buy)
    ] == [
        (PERP, "242720720", Decimal("16800.1"), Decimal("3.5"), "SELL", 1672304486865 * MS),
        (PERP, "242720721", Decimal("16800.2"), Decimal("0.01"), "BUY", 1672304486866 * MS),
    ]
    snap, delta, resnap = total["md.book"]
    assert (snap["kind"], snap["last_sequence"], snap["depth"], snap["checksum"]) == (
        "SNAPSHOT",
        1000,
        400,
        -918220429,
    )
    assert lv(snap["bids"]) == [("16800.1", "12.5"), ("16800.0", "3.00"), ("16799.5", "0.01")]
    assert lv(snap["asks"]) == [("16800.2", "8.44"), ("16800.3", "1.5"), ("16801.0", "200")]
    assert snap["exchange_ts_ns"] == 1672304487000 * MS
    assert (delta["kind"], delta["prev_sequence"], delta["last_sequence"]) == ("DELTA", 1000, 1001)
    assert lv(delta["bids"]) == [("16800.0", "0"), ("16799.9", "4.2")]  # size 0 deletes
    assert lv(delta["asks"]) == [("16800.2", "6.00")]
    assert delta["checksum"] == 1940574726
    (q,) = total["md.quotes"]
    assert (q["instrument"], q["bid_price"], q["bid_size"], q["ask_price"], q["ask_size"]) == (
        PERP,
        Decimal("16800.1"),
        Decimal("12.5"),
        Decimal("16800.2"),
        Decimal("6.00"),
    )
    assert q["exchange_ts_ns"] == 1672304487150 * MS
    # frame 6: wrong checksum -> GAP checksum from the last good update (frame 4); frame 7
    # snapshot resyncs; frame 8: prevSeqId 1011 after seqId 1010 -> GAP sequence_gap
    cov = [(c["event"], c["reason"], c["from_ns"], c["to_ns"]) for c in total["md.coverage"]]
    assert cov == [
        ("GAP", "checksum", T0 + 4 * MS, None),
        ("RESYNC", "checksum", T0 + 4 * MS, T0 + 7 * MS),
        ("GAP", "sequence_gap", T0 + 7 * MS, None),
    ]
    assert (resnap["last_sequence"], lv(resnap["bids"])) == (
        1010,
        [("16800.1", "10"), ("16799.9", "4.2")],
    )
    assert norm.book_state("okx", PERP) is BookState.RESYNCING
    (dead,) = total["dlq.normalize"]
    assert (dead["error_type"], dead["reason"]) == ("ParseError", "okx: missing field 'px'")


def test_checksum_is_the_documented_crc32() -> None:
    # OKX's documented example (docs-v5 "Checksum"): bids 3366.1:7, asks 3366.8:9 ...
    bids = [(Decimal("3366.1"), Decimal("7"))]
    asks = [(Decimal(p), Decimal(s)) for p, s in (("3366.8", "9"), ("3368", "8"), ("3372", "8"))]
    assert okx_checksum(bids, asks) == 831078360


def _mapper() -> OkxMapper:
    norm = Normalizer(options=SWAPS_ONLY)
    norm.load_markets("okx", [read_frames(SWAP, "okx")[0]])
    return OkxMapper(MarketIndex(norm.venues["okx"].ex.markets.values()))


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"side": "up"}, "side"),
        ({"px": 16800.1}, "px"),
        ({"ts": "yesterday"}, "ts"),
        ({"instId": "ETH-USDT-SWAP"}, "market"),
    ],
)
def test_bad_trade_fields_raise_map_error(data: dict[str, Any], field: str) -> None:
    trade = {
        "instId": "BTC-USDT-SWAP",
        "tradeId": "1",
        "px": "1",
        "sz": "1",
        "side": "buy",
        "ts": "1",
    }
    message = {"arg": {"channel": "trades", "instId": "BTC-USDT-SWAP"}, "data": [trade | data]}
    with pytest.raises(MapError) as err:
        _mapper().map(orjson.loads(orjson.dumps(message)))
    assert err.value.field == field


def test_acks_and_other_channels_map_to_nothing() -> None:
    mapper = _mapper()
    assert mapper.map({"event": "subscribe", "arg": {"channel": "trades"}}) == []
    assert mapper.map({"arg": {"channel": "candle1m", "instId": "BTC-USDT-SWAP"}, "data": []}) == []
    with pytest.raises(MapError):
        mapper.map([1, 2])


DERIVATIVES = SWAP.with_name("derivatives.jsonl")


def _derivatives() -> tuple[Normalizer, NormalizeResult]:
    norm = Normalizer(clock=lambda: 1, options=SWAPS_ONLY)
    total = NormalizeResult()
    for frame in read_frames(DERIVATIVES, "okx"):
        total.extend(norm.process(frame))
    return norm, total


def test_mark_price_and_funding_rate_channels() -> None:
    _, total = _derivatives()
    assert {t: len(r) for t, r in total.records.items() if r} == {"md.derivatives": 3}
    rows = [
        (
            d["instrument"],
            d["mark_price"],
            d["index_price"],
            d["funding_rate"],
            d["next_funding_ts_ns"],
            d["exchange_ts_ns"],
        )
        for d in total["md.derivatives"]
    ]
    assert rows == [
        (PERP, Decimal("16801.3"), None, None, None, 1672304487050 * MS),  # mark-price
        (  # funding-rate: the rate settled at fundingTime (not nextFundingTime)
            PERP,
            None,
            None,
            Decimal("-0.0000421387253839"),
            1672329600000 * MS,
            1672304487100 * MS,
        ),
        (PERP, Decimal("16801.4"), None, None, None, 1672304487250 * MS),
    ]
    assert str(total["md.derivatives"][1]["funding_rate"]) == "-0.0000421387253839"


def test_index_tickers_and_margin_mark_prices_are_not_mapped() -> None:
    mapper = _mapper()
    index = {
        "arg": {"channel": "index-tickers", "instId": "BTC-USDT"},
        "data": [{"instId": "BTC-USDT", "idxPx": "16798.7", "ts": "1672304487150"}],
    }
    margin = {
        "arg": {"channel": "mark-price", "instId": "BTC-USDT"},
        "data": [{"instType": "MARGIN", "instId": "BTC-USDT", "markPx": "1", "ts": "1"}],
    }
    assert mapper.map(index) == []
    assert mapper.map(margin) == []
    bad = {
        "arg": {"channel": "funding-rate", "instId": "BTC-USDT-SWAP"},
        "data": [
            {
                "instType": "SWAP",
                "instId": "BTC-USDT-SWAP",
                "fundingRate": 0.0001,
                "fundingTime": "1",
                "ts": "1",
            }
        ],
    }
    with pytest.raises(MapError) as err:
        mapper.map(bad)
    assert err.value.field == "fundingRate"
