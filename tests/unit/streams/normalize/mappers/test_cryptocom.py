"""Crypto.com native mapper over documentation-derived frames (``tests/data/frames/cryptocom``):
exact counts and values, ``u``/``pu`` gaps and resyncs.

Markets come from the frame file's REST frame (``public/get-instruments``), loaded by the
Crypto.com ccxt adapter's market path. The ``cs`` values in the frames are placeholders:
the checksum algorithm is not publicly documented, so it is carried, not verified."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tapewire.streams.normalize import Normalizer, NormalizeResult
from tapewire.streams.normalize.mappers import MapError
from tapewire.streams.normalize.mappers.cryptocom import CryptocomMapper
from tapewire.streams.normalize.normalizer import BookState
from tapewire.testing.frames import read_frames

FRAMES = Path(__file__).resolve().parents[4] / "data" / "frames" / "cryptocom" / "frames.jsonl"
MS = 1_000_000
SPOT, PERP = "BTC-USDT-SPOT", "BTC-USD-PERP-USD"
RECEIVED = 1_720_000_000_000_000_000 + 500_000


def run() -> tuple[Normalizer, NormalizeResult]:
    norm = Normalizer(clock=lambda: 7)
    return norm, norm.process_batch(read_frames(FRAMES, "cryptocom"))


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
    assert norm.book_state("cryptocom", SPOT) is BookState.LIVE


def test_trades_exact() -> None:
    _, res = run()
    got = [
        (t["instrument"], t["trade_id"], str(t["price"]), str(t["size"]), t["side"],
         t["exchange_ts_ns"])
        for t in res["md.trades"]
    ]  # fmt: skip
    assert got == [
        (PERP, "4611686018439397540", "57210.5", "0.0250", "BUY", 1720000000095 * MS),
        (PERP, "4611686018439397541", "57210.0", "0.1000", "SELL", 1720000000096 * MS),
        (SPOT, "4611686018439397600", "57215.12", "0.00150", "SELL", 1720000000120 * MS),
    ]


def test_book_sequence_and_levels() -> None:
    _, res = run()
    books = res["md.book"]
    assert [(b["kind"], b["last_sequence"], b["prev_sequence"], b["checksum"]) for b in books] == [
        ("SNAPSHOT", 92000000010000, None, -1478911111),
        ("DELTA", 92000000010900, 92000000010000, 55555),
        ("DELTA", 92000000011500, 92000000010900, 66666),
        # u=92000000013000 (pu 92000000012200: gap), 92000000013400 (resyncing): not published
        ("SNAPSHOT", 92000000014000, None, 99999),
        ("DELTA", 92000000014300, 92000000014000, 11111),
    ]
    snap = books[0]
    assert snap["depth"] == 50
    assert snap["exchange_ts_ns"] == 1720000000200 * MS
    assert levels(snap["bids"]) == [
        ("57215.12", "0.25000"), ("57214.00", "1.10000"), ("57210.00", "3.00000"),
    ]  # fmt: skip
    assert levels(snap["asks"]) == [
        ("57216.01", "0.12000"), ("57217.50", "0.80000"), ("57220.00", "1.00000"),
    ]  # fmt: skip
    assert levels(books[2]["bids"]) == [("57214.00", "0.90000"), ("57210.00", "0")]
    assert levels(books[2]["asks"]) == [("57217.50", "0")]


def test_coverage() -> None:
    _, res = run()
    cov = [(c["event"], c["reason"], c["from_ns"], c["to_ns"]) for c in res["md.coverage"]]
    assert cov == [
        ("GAP", "waiting_for_snapshot", RECEIVED + 160 * MS, None),
        ("RESYNC", "waiting_for_snapshot", RECEIVED + 160 * MS, RECEIVED + 210 * MS),
        ("GAP", "sequence_gap", RECEIVED + 410 * MS, None),
        ("RESYNC", "sequence_gap", RECEIVED + 410 * MS, RECEIVED + 810 * MS),
    ]


def test_quote_and_dead_letter() -> None:
    _, res = run()
    (quote,) = res["md.quotes"]
    assert (quote["instrument"], str(quote["bid_price"]), str(quote["bid_size"]),
            str(quote["ask_price"]), str(quote["ask_size"]), quote["exchange_ts_ns"]) == (
        SPOT, "57215.50", "0.40000", "57216.01", "0.02000", 1720000000301 * MS,
    )  # fmt: skip
    (dead,) = res["dlq.normalize"]
    assert dead["error_type"] == "DecodeError"


def _mapper() -> CryptocomMapper:
    norm, _ = run()
    return norm.native["cryptocom"].mapper  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("trade", "field"),
    [({"s": "buy"}, "s"), ({"p": 57210.5}, "p"), ({"t": "1"}, "t"), ({"d": None}, "d")],
)
def test_bad_trade_names_the_field(trade: dict[str, Any], field: str) -> None:
    good = {"d": "1", "t": 1, "q": "1", "p": "2", "s": "BUY", "i": "BTC_USDT"}
    msg = {"method": "subscribe", "result": {"channel": "trade", "instrument_name": "BTC_USDT",
                                             "data": [good | trade]}}  # fmt: skip
    with pytest.raises(MapError) as err:
        _mapper().map(msg)
    assert err.value.field == field


def test_acks_and_heartbeats_map_to_nothing() -> None:
    mapper = _mapper()
    assert mapper.map({"id": 1, "method": "subscribe", "code": 0}) == []
    assert mapper.map({"id": 2, "method": "public/heartbeat", "code": 0}) == []
