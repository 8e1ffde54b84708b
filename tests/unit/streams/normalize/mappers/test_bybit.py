"""Bybit v5 spot native mapper: the recorded ``orderbook.1`` capture (``tests/data/real/
bybit/bbo.jsonl``) with documentation-shaped markets for its symbols (REST frame
``tests/data/frames/bybit/bbo-markets.json``), and unit frames.

The documentation-derived fixture (trades, ``orderbook.50`` snapshots/deltas, ``u`` gaps,
``orderbook.1``, dead letters) is covered by ``tests/unit/streams/normalize/test_bybit.py``
(native by default) and by the differential test.
"""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tapewire.streams.normalize import Normalizer, NormalizeResult
from tapewire.streams.normalize.mappers import MapError, MarketIndex
from tapewire.streams.normalize.mappers.bybit import BybitMapper
from tapewire.testing.frames import read_frames

DATA = Path(__file__).resolve().parents[4] / "data"
BBO = DATA / "real" / "bybit" / "bbo.jsonl"
BBO_MARKETS = DATA / "frames" / "bybit" / "bbo-markets.json"
MS = 1_000_000


def test_recorded_orderbook_1_frames_are_quotes() -> None:
    norm = Normalizer(clock=lambda: 1)
    total = NormalizeResult()
    for frame in read_frames(BBO_MARKETS, "bybit") + read_frames(BBO, "bybit"):
        total.extend(norm.process(frame))
    assert {t: len(r) for t, r in total.records.items() if r or t != "md.derivatives"} == {
        "md.trades": 0,
        "md.book": 0,  # orderbook.1 is a BBO, never a book
        "md.quotes": 139,  # every recorded orderbook.1 frame is a snapshot: one quote each
        "md.coverage": 0,
        "dlq.normalize": 0,
    }
    assert Counter(q["instrument"] for q in total["md.quotes"]) == {
        "ARB-USDC-SPOT": 54,
        "OP-USDC-SPOT": 30,
        "KCS-USDT-SPOT": 19,
        "CPOOL-USDT-SPOT": 14,
        "TUSD-USDT-SPOT": 11,
        "MASA-USDT-SPOT": 11,
    }
    # line 1: {"topic":"orderbook.1.OPUSDC","ts":1749833472906,...,"b":[["0.579","3886.45"]],
    # "a":[["0.58","4043.62"]],"u":1399781,...,"cts":1749833472901}
    first = total["md.quotes"][0]
    assert (
        first["instrument"],
        first["bid_price"],
        first["bid_size"],
        first["ask_price"],
        first["ask_size"],
        first["exchange_ts_ns"],
    ) == (
        "OP-USDC-SPOT",
        Decimal("0.579"),
        Decimal("3886.45"),
        Decimal("0.58"),
        Decimal("4043.62"),
        1749833472901 * MS,  # cts
    )


def _mapper() -> BybitMapper:
    norm = Normalizer()
    norm.load_markets("bybit", read_frames(BBO_MARKETS, "bybit"))
    return BybitMapper(MarketIndex(norm.venues["bybit"].ex.markets.values()))


def _trade(**fields: Any) -> dict[str, Any]:
    trade = {"T": 1, "s": "OPUSDC", "S": "Buy", "v": "1", "p": "0.5", "i": "7", "BT": False}
    return {"topic": "publicTrade.OPUSDC", "type": "snapshot", "ts": 1, "data": [trade | fields]}


def test_trades_sides_and_ids() -> None:
    (buy,) = _mapper().map(_trade())
    (sell,) = _mapper().map(_trade(S="Sell", i="2290000000031788733"))
    assert (buy.side, buy.trade_id, buy.price, buy.size, buy.exchange_ts_ns) == (  # type: ignore[union-attr]
        "BUY",
        "7",
        "0.5",
        "1",
        MS,
    )
    assert (sell.side, sell.trade_id) == ("SELL", "2290000000031788733")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"S": "buy"}, "S"), ({"p": 0.5}, "p"), ({"T": "1"}, "T"), ({"s": "NOPEUSDT"}, "market")],
)
def test_bad_trade_fields_raise_map_error(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(MapError) as err:
        _mapper().map(json.loads(json.dumps(_trade(**fields))))
    assert err.value.field == field


def test_acks_and_tickers_map_to_nothing() -> None:
    mapper = _mapper()
    assert mapper.map({"success": True, "ret_msg": "subscribe", "op": "subscribe"}) == []
    tickers = {"topic": "tickers.OPUSDC", "type": "snapshot", "data": {"symbol": "OPUSDC"}}
    assert mapper.map(tickers) == []


def test_orderbook_1_delta_keeps_the_other_side_and_deletes() -> None:
    mapper = _mapper()

    def frame(kind: str, u: int, b: list[list[str]], a: list[list[str]]) -> dict[str, Any]:
        data = {"s": "OPUSDC", "b": b, "a": a, "u": u, "seq": 1}
        return {"topic": "orderbook.1.OPUSDC", "type": kind, "ts": 10, "data": data}

    (q,) = mapper.map(frame("snapshot", 5, [["0.579", "1"]], [["0.58", "2"]]))
    (q,) = mapper.map(frame("delta", 6, [["0.579", "0"], ["0.578", "3"]], []))
    assert (q.bid_price, q.bid_size, q.ask_price, q.ask_size) == ("0.578", "3", "0.58", "2")  # type: ignore[union-attr]
    assert mapper.map(frame("delta", 8, [], [["0.581", "1"]])) == []  # u 7 lost
    assert mapper.map(frame("delta", 9, [], [["0.581", "1"]])) == []  # until a snapshot
