"""Deribit native mapper over documentation-derived frames (``tests/data/frames/deribit``):
exact counts and values, ``prev_change_id`` gaps and resyncs, JSON numbers kept as text.

Markets come from the frame file's REST frames (``get_currencies`` + ``get_instruments``),
loaded by the Deribit ccxt adapter's market paths."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tapewire.streams.normalize import Normalizer, NormalizeResult
from tapewire.streams.normalize.mappers import MapError
from tapewire.streams.normalize.mappers.deribit import DeribitMapper
from tapewire.streams.normalize.normalizer import BookState
from tapewire.testing.frames import raw_frame, read_frames

FRAMES = Path(__file__).resolve().parents[4] / "data" / "frames" / "deribit" / "frames.jsonl"
MS = 1_000_000
PERP = "BTC-USD-PERP-BTC"
RECEIVED = 1_720_000_000_000_000_000 + 123_456


def run() -> tuple[Normalizer, NormalizeResult]:
    norm = Normalizer(clock=lambda: 7)
    return norm, norm.process_batch(read_frames(FRAMES, "deribit"))


def levels(side: list[dict[str, Decimal]]) -> list[tuple[str, str]]:
    return [(str(lv["price"]), str(lv["size"])) for lv in side]


def test_counts() -> None:
    norm, res = run()
    assert {t: len(r) for t, r in res.records.items() if r} == {
        "md.trades": 3,
        "md.book": 5,
        "md.quotes": 1,
        "md.coverage": 4,
        "dlq.normalize": 1,
    }
    assert res.duplicates == 2
    assert norm.book_state("deribit", PERP) is BookState.LIVE


def test_trades_exact() -> None:
    _, res = run()
    got = [
        (t["instrument"], t["trade_id"], t["price"], t["size"], t["side"], t["exchange_ts_ns"])
        for t in res["md.trades"]
    ]
    assert got == [
        (PERP, "299786311", Decimal("62850.5"), Decimal("120.0"), "BUY", 1720000000095 * MS),
        (PERP, "299786312", Decimal("62850"), Decimal("10.0"), "SELL", 1720000000097 * MS),
        ("BTC-USDC-SPOT", "USDC-7702931", Decimal("62861"), Decimal("0.0123"), "SELL",
         1720000000140 * MS),
    ]  # fmt: skip
    assert str(res["md.trades"][2]["size"]) == "0.0123"  # the wire text, never a float


def test_book_snapshot_changes_and_resync() -> None:
    _, res = run()
    books = res["md.book"]
    assert [(b["kind"], b["last_sequence"], b["prev_sequence"]) for b in books] == [
        ("SNAPSHOT", 70000000000, None),
        ("DELTA", 70000000003, 70000000000),
        ("DELTA", 70000000005, 70000000003),
        # 70000000009 (prev 70000000007: gap) and 70000000010 (resyncing) not published
        ("SNAPSHOT", 70000000012, None),
        ("DELTA", 70000000013, 70000000012),
    ]
    first = books[0]
    assert levels(first["bids"]) == [("62850.0", "4520.0"), ("62849.5", "2900.0"),
                                     ("62848.0", "150.0")]  # fmt: skip
    assert levels(first["asks"]) == [("62850.5", "8030.0"), ("62851.0", "120.0"),
                                     ("62853.5", "60000.0")]  # fmt: skip
    assert first["exchange_ts_ns"] == 1720000000200 * MS
    delete = books[2]
    assert levels(delete["bids"]) == [("62848.0", "0.0")]  # "delete" level: size 0
    assert levels(delete["asks"]) == [("62852.0", "2500.0"), ("62853.5", "59000.0")]


def test_coverage_waiting_gap_resync() -> None:
    _, res = run()
    cov = [(c["event"], c["reason"], c["from_ns"], c["to_ns"]) for c in res["md.coverage"]]
    assert cov == [
        ("GAP", "waiting_for_snapshot", RECEIVED + 190 * MS, None),
        ("RESYNC", "waiting_for_snapshot", RECEIVED + 190 * MS, RECEIVED + 210 * MS),
        ("GAP", "sequence_gap", RECEIVED + 410 * MS, None),  # last good update: frame 9
        ("RESYNC", "sequence_gap", RECEIVED + 410 * MS, RECEIVED + 810 * MS),
    ]


def test_quote_and_dead_letter() -> None:
    _, res = run()
    (quote,) = res["md.quotes"]
    assert (quote["bid_price"], quote["bid_size"], quote["ask_price"], quote["ask_size"]) == (
        Decimal("62850.0"), Decimal("4520.0"), Decimal("62850.5"), Decimal("7910.0"),
    )  # fmt: skip
    assert quote["exchange_ts_ns"] == 1720000000301 * MS
    (dead,) = res["dlq.normalize"]
    assert dead["error_type"] == "DecodeError"


def _mapper() -> DeribitMapper:
    norm, _ = run()
    return norm.native["deribit"].mapper  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"direction": "up"}, "direction"),
        ({"price": True}, "price"),
        ({"trade_id": 5}, "trade_id"),
        ({"instrument_name": "NOPE"}, "market"),
    ],
)
def test_bad_trade_names_the_field(data: dict[str, Any], field: str) -> None:
    trade = {"trade_id": "1", "timestamp": 1, "price": "1.5", "amount": "2",
             "direction": "buy", "instrument_name": "BTC-PERPETUAL"} | data  # fmt: skip
    msg = {"method": "subscription", "params": {"channel": "trades.X.100ms", "data": [trade]}}
    with pytest.raises(MapError) as err:
        _mapper().map(msg)
    assert err.value.field == field


def test_ack_and_heartbeat_map_to_nothing() -> None:
    mapper = _mapper()
    assert mapper.map(mapper.decode(b'{"jsonrpc":"2.0","id":1,"result":["book.X.100ms"]}')) == []
    assert mapper.map(mapper.decode(b'{"jsonrpc":"2.0","method":"heartbeat"}')) == []


def test_bad_level_is_one_dead_letter() -> None:
    norm, _ = run()
    payload = (
        b'{"jsonrpc":"2.0","method":"subscription","params":{"channel":"book.BTC-PERPETUAL.100ms",'
        b'"data":{"type":"change","timestamp":1,"prev_change_id":70000000013,'
        b'"instrument_name":"BTC-PERPETUAL","change_id":70000000014,'
        b'"bids":[["move",1.0,2.0]],"asks":[]}}}'
    )
    res = norm.process(raw_frame("deribit", payload, received_ns=RECEIVED + 2000 * MS))
    (dead,) = res["dlq.normalize"]
    assert "'bids'" in dead["reason"]
    assert "move" in dead["reason"]


DERIVATIVES = FRAMES.with_name("derivatives.jsonl")


def test_tickers_give_quotes_and_derivatives() -> None:
    res = Normalizer(clock=lambda: 7).process_batch(read_frames(DERIVATIVES, "deribit"))
    assert {t: len(r) for t, r in res.records.items() if r} == {
        "md.quotes": 4,  # every ticker (spot too) is a quote
        "md.derivatives": 3,  # perpetual, dated future, perpetual; not the spot BTC_USDC
    }
    rows = [
        (
            d["instrument"],
            str(d["mark_price"]),
            str(d["index_price"]),
            None if d["funding_rate"] is None else str(d["funding_rate"]),
            d["next_funding_ts_ns"],
            d["exchange_ts_ns"],
        )
        for d in res["md.derivatives"]
    ]
    assert rows == [  # JSON numbers kept as their wire text; funding_8h, signed
        (PERP, "63774.26", "63781.83", "-0.00001154", None, 1720000000090 * MS),
        ("BTC-USD-FUT-BTC-20250926", "67734.87", "63781.83", None, None, 1720000000091 * MS),
        (PERP, "63775.01", "63782.4", "0.0000026", None, 1720000000190 * MS),
    ]
    assert [q["instrument"] for q in res["md.quotes"]][2] == "BTC-USDC-SPOT"
    assert (str(res["md.quotes"][0]["bid_size"]), str(res["md.quotes"][0]["ask_price"])) == (
        "11550",
        "63777",
    )


def test_ticker_with_a_bad_funding_rate_is_one_dead_letter() -> None:
    norm = Normalizer(clock=lambda: 7)
    frames = read_frames(DERIVATIVES, "deribit")
    norm.process_batch(frames[:2])
    payload = frames[3]["payload"].replace(b'"funding_8h":-0.00001154', b'"funding_8h":"x"')
    res = norm.process(dict(frames[3], payload=payload))
    assert not res["md.derivatives"]
    assert not res["md.quotes"]
    (dead,) = res["dlq.normalize"]
    assert "funding_rate" in dead["reason"]
