"""Bitget v2 native mapper on documentation-derived spot frames
(``tests/data/frames/bitget/frames.jsonl``; markets from its REST frames ``spot/public/
symbols``, ``spot/public/coins`` and ``margin/currencies``, which ccxt's markets need)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tapewire.streams.normalize import Normalizer, NormalizeResult
from tapewire.streams.normalize.books import BookState
from tapewire.streams.normalize.mappers import MapError, MarketIndex
from tapewire.streams.normalize.mappers.bitget import BitgetMapper
from tapewire.testing.frames import raw_frame, read_frames
from tests.unit.streams.normalize.mappers.helpers import levels, run_with

FRAMES = Path(__file__).resolve().parents[4] / "data" / "frames" / "bitget" / "frames.jsonl"
T0 = 1_695_716_000_000_000_000
MS = 1_000_000
BTC = "BTC-USDT-SPOT"


def run() -> tuple[Normalizer, NormalizeResult, list[NormalizeResult]]:
    return run_with(Normalizer(clock=lambda: 1), FRAMES, "bitget")


lv = levels


def test_counts_and_values() -> None:
    norm, total, per_frame = run()
    assert {t: len(r) for t, r in total.records.items() if r or t != "md.derivatives"} == {
        "md.trades": 2,
        "md.book": 4,
        "md.quotes": 1,
        "md.coverage": 4,
        "dlq.normalize": 1,
    }
    assert not any(per_frame[3].records.values())  # subscription ack
    trades = [
        (t["instrument"], t["trade_id"], t["price"], t["size"], t["side"], t["exchange_ts_ns"])
        for t in total["md.trades"]
    ]
    assert trades == [  # the frame lists the newest first; published oldest first
        (BTC, "1111111111", Decimal("27000.60"), Decimal("0.250000"), "BUY", 1695716760500 * MS),
        (BTC, "1111111112", Decimal("27000.50"), Decimal("0.001000"), "SELL", 1695716760565 * MS),
    ]
    snap, delta, resnap, delta2 = total["md.book"]
    assert (snap["kind"], snap["last_sequence"], snap["checksum"], snap["depth"]) == (
        "SNAPSHOT",
        100,
        None,  # a snapshot's checksum is 0: none
        None,
    )
    assert lv(snap["bids"]) == [
        ("27000.00", "2.710000"),
        ("26999.50", "0.500000"),
        ("26998.10", "1.200000"),
    ]
    assert snap["exchange_ts_ns"] == 1695716760700 * MS
    assert (delta["kind"], delta["last_sequence"], delta["checksum"]) == ("DELTA", 101, 1547694358)
    assert lv(delta["bids"]) == [("26999.90", "0.300000"), ("26999.50", "0")]  # size 0 deletes
    assert lv(delta["asks"]) == [("27000.50", "7.000000")]
    (q,) = total["md.quotes"]
    assert (q["bid_price"], q["bid_size"], q["ask_price"], q["ask_size"], q["exchange_ts_ns"]) == (
        Decimal("27000.00"),
        Decimal("2.710000"),
        Decimal("27000.50"),
        Decimal("7.000000"),
        1695716760850 * MS,
    )
    cov = [(c["event"], c["reason"], c["from_ns"], c["to_ns"]) for c in total["md.coverage"]]
    assert cov == [
        ("GAP", "waiting_for_snapshot", T0 + 5 * MS, None),  # an update before any snapshot
        ("RESYNC", "waiting_for_snapshot", T0 + 5 * MS, T0 + 6 * MS),
        ("GAP", "checksum", T0 + 7 * MS, None),  # frame 9's checksum does not match
        ("RESYNC", "checksum", T0 + 7 * MS, T0 + 11 * MS),
    ]
    assert not any(per_frame[10].records.values())  # resyncing: dropped
    assert (resnap["last_sequence"], delta2["last_sequence"], delta2["checksum"]) == (
        110,
        111,
        -1125810633,
    )
    assert norm.book_state("bitget", BTC) is BookState.LIVE
    assert total["dlq.normalize"][0]["error_type"] == "DecodeError"


def test_pong_maps_to_nothing() -> None:
    norm = Normalizer(clock=lambda: 1)
    for frame in read_frames(FRAMES, "bitget")[:3]:
        norm.process(frame)
    res = norm.process(raw_frame("bitget", b"pong", received_ns=T0, sequence=99))
    assert not any(res.records.values())


def _mapper() -> BitgetMapper:
    norm = Normalizer()
    norm.load_markets("bitget", read_frames(FRAMES, "bitget")[:3])
    return BitgetMapper(MarketIndex(norm.venues["bitget"].ex.markets.values()))


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"side": "Buy"}, "side"), ({"price": 1.5}, "price"), ({"ts": 1}, "ts")],
)
def test_bad_trade_fields_raise_map_error(fields: dict[str, Any], field: str) -> None:
    trade = {"ts": "1", "price": "1", "size": "1", "side": "buy", "tradeId": "1"}
    arg = {"instType": "SPOT", "channel": "trade", "instId": "BTCUSDT"}
    with pytest.raises(MapError) as err:
        _mapper().map({"action": "update", "arg": arg, "data": [trade | fields]})
    assert err.value.field == field


def test_books1_is_a_quote_and_inst_type_picks_the_market() -> None:
    mapper = _mapper()
    arg = {"instType": "SPOT", "channel": "books1", "instId": "BTCUSDT"}
    data = [{"asks": [["27000.5", "1"]], "bids": [["27000", "2"]], "checksum": 0, "ts": "5"}]
    (q,) = mapper.map({"action": "snapshot", "arg": arg, "data": data})
    assert (q.instrument, q.bid_price, q.ask_size, q.exchange_ts_ns) == (BTC, "27000", "1", 5 * MS)  # type: ignore[union-attr]
    with pytest.raises(MapError) as err:
        mapper.map({"action": "snapshot", "arg": arg | {"instType": "X"}, "data": data})
    assert err.value.field == "instType"
    with pytest.raises(MapError) as err:  # no swap in these markets
        mapper.map({"action": "snapshot", "arg": arg | {"instType": "USDT-FUTURES"}, "data": data})
    assert err.value.field == "market"
