"""Normalizer state machine, robustness (never raises), de-duplication and batching."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tapewire.schemas.codec import Codec
from tapewire.streams.normalize import BookState, Normalizer, SourceRef
from tapewire.streams.normalize.dedup import TradeDeduper
from tapewire.testing.frames import raw_frame, read_frames

FRAMES = Path(__file__).resolve().parents[3] / "data" / "frames"
T0 = 1_700_000_000_000_000_000
BTC = "BTC-USDT-SPOT"


def frames(venue: str) -> list[dict[str, Any]]:
    return read_frames(FRAMES / venue / "frames.jsonl", venue)


def ws(venue: str, obj: Any, n: int, conn: str = "c1") -> dict[str, Any]:
    payload = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return raw_frame(venue, payload, received_ns=T0 + n, sequence=n, connection_id=conn)


def depth(u0: int, u1: int, bids: list[list[str]] | None = None) -> dict[str, Any]:
    return {"e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": u0, "u": u1, "b": bids or [], "a": []}


def rest_depth(last: int, n: int) -> dict[str, Any]:
    body = json.dumps(
        {"lastUpdateId": last, "bids": [["100.00", "1.00"]], "asks": [["101.00", "1.00"]]}
    ).encode()
    url = "https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=100"
    return raw_frame("binance", body, received_ns=T0 + n, transport="REST", url=url)


def binance_live() -> Normalizer:
    norm = Normalizer()
    norm.process(frames("binance")[0])  # exchangeInfo REST frame -> markets
    norm.process(ws("binance", depth(10, 11), 1))
    res = norm.process(rest_depth(10, 2))
    assert [r["kind"] for r in res["md.book"]] == ["SNAPSHOT"]
    assert norm.book_state("binance", BTC) is BookState.LIVE
    return norm


def test_book_is_not_published_before_sync() -> None:
    norm = Normalizer()
    norm.process(frames("binance")[0])
    assert norm.process(ws("binance", depth(1, 2), 1))["md.book"] == []
    assert norm.book_state("binance", BTC) is BookState.SYNCING


def test_binance_gap_resyncs_on_next_rest_snapshot() -> None:
    norm = binance_live()
    assert len(norm.process(ws("binance", depth(12, 12), 3))["md.book"]) == 1
    gap = norm.process(ws("binance", depth(20, 21), 4))
    assert gap["md.book"] == []
    assert [c["event"] for c in gap["md.coverage"]] == ["GAP"]
    assert norm.book_state("binance", BTC) is BookState.RESYNCING
    assert norm.process(ws("binance", depth(22, 25, [["99.00", "3.00"]]), 5))["md.book"] == []
    # too old to bridge to the buffered 22..25: refused, still resyncing
    assert norm.process(rest_depth(15, 6))["md.book"] == []
    assert norm.book_state("binance", BTC) is BookState.RESYNCING
    res = norm.process(rest_depth(23, 7))
    (snap,) = res["md.book"]
    assert (snap["kind"], snap["last_sequence"], snap["depth"]) == ("SNAPSHOT", 25, 100)
    assert [(c["event"], c["from_ns"], c["to_ns"]) for c in res["md.coverage"]] == [
        ("RESYNC", T0 + 3, T0 + 7)
    ]
    assert norm.book_state("binance", BTC) is BookState.LIVE
    assert len(norm.process(ws("binance", depth(26, 26), 8))["md.book"]) == 1


def test_rest_snapshot_while_live_is_ignored() -> None:
    norm = binance_live()
    assert norm.process(rest_depth(5, 3)).records["md.book"] == []
    assert len(norm.process(ws("binance", depth(12, 12), 4))["md.book"]) == 1


def test_new_connection_invalidates_a_live_book() -> None:
    norm = binance_live()
    res = norm.process(ws("binance", depth(12, 12), 3, conn="c2"))
    assert res["md.book"] == []
    assert [(c["event"], c["reason"]) for c in res["md.coverage"]] == [("GAP", "disconnect")]
    assert norm.book_state("binance", BTC) is BookState.RESYNCING


def test_okx_new_connection_resyncs_on_its_snapshot() -> None:
    norm = Normalizer()
    okx = frames("okx")
    for f in okx[:3]:
        norm.process(f)
    assert norm.book_state("okx", BTC) is BookState.LIVE
    snap = dict(okx[2], connection_id="c2", receive_ts_ns=T0)
    res = norm.process(snap)
    assert [(c["event"], c["reason"]) for c in res["md.coverage"]] == [
        ("GAP", "disconnect"),
        ("RESYNC", "disconnect"),
    ]
    assert [r["kind"] for r in res["md.book"]] == ["SNAPSHOT"]


@pytest.mark.parametrize(
    ("frame", "error_type"),
    [
        ({"venue": "binance"}, "SchemaError"),
        (raw_frame("nope", b"{}", received_ns=1), "UnknownVenue"),
        (raw_frame("binance", b"{}", received_ns=1), "NoMarkets"),
        (dict(raw_frame("okx", b"\x1f\x8b", received_ns=1), binary=True), "Unsupported"),
        (
            raw_frame(
                "binance", b"", received_ns=1, transport="REST", url="https://x/y", status=429
            ),
            "RestError",
        ),
    ],
)
def test_bad_envelopes_become_dead_letters(frame: dict[str, Any], error_type: str) -> None:
    res = Normalizer().process(frame, SourceRef(partition=3, offset=7, key=b"k", value=b"v"))
    (dead,) = res["dlq.normalize"]
    assert dead["error_type"] == error_type
    assert (dead["source_partition"], dead["source_offset"], dead["payload"]) == (3, 7, b"v")
    Codec().encode("dlq.normalize", dead)


def test_malformed_frames_go_to_dlq_and_processing_continues() -> None:
    norm = Normalizer()
    okx = frames("okx")
    norm.process(okx[0])
    bad = [
        b"",
        b"not json",
        okx[1]["payload"][:50],
        b'{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT",'
        b'"tradeId":"9","px":"1.0000000000000000001","sz":"1","side":"buy","ts":"1"}]}',
        b'{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT",'
        b'"tradeId":"8","px":"abc","sz":"1","side":"buy","ts":"1"}]}',
        b'{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT",'
        b'"tradeId":"7","sz":"1","side":"buy","ts":"1"}]}',
    ]
    types = []
    for i, payload in enumerate(bad):
        res = norm.process(ws("okx", payload, i))
        types += [d["error_type"] for d in res["dlq.normalize"]]
    assert types == [
        "DecodeError",
        "DecodeError",
        "DecodeError",
        "PrecisionError",
        "ParseError",  # "abc" is not a decimal (the native OKX mapper checks it itself)
        "ParseError",  # no price
    ]
    assert len(norm.process(okx[1])["md.trades"]) == 1


@pytest.mark.parametrize(
    ("native", "reason", "error_type"),
    [(False, "handler_error", "HandlerError"), (True, "invalid_update", "ParseError")],
)
def test_handler_error_on_a_live_book_resyncs_it(
    native: bool, reason: str, error_type: str
) -> None:
    """ccxt's handler raises on the bad size; the native OKX mapper's level check does."""
    norm = Normalizer(native=native)
    okx = frames("okx")
    for f in okx[:3]:
        norm.process(f)
    broken = {
        "arg": {"channel": "books", "instId": "BTC-USDT"},
        "action": "update",
        "data": [
            {
                "asks": [["1", "x", "0", "1"]],
                "bids": [],
                "ts": "1",
                "prevSeqId": 123456,
                "seqId": 123457,
            }
        ],
    }
    res = norm.process(ws("okx", broken, 9))
    assert res["md.book"] == []
    assert norm.book_state("okx", BTC) is BookState.RESYNCING
    assert [c["reason"] for c in res["md.coverage"]] == [reason]
    assert [d["error_type"] for d in res["dlq.normalize"]] == [error_type]


def test_duplicate_trades_are_dropped() -> None:
    norm = Normalizer()
    okx = frames("okx")
    norm.process(okx[0])
    first, again = norm.process(okx[1]), norm.process(okx[1])
    assert (len(first["md.trades"]), len(again["md.trades"]), again.duplicates) == (1, 0, 1)


def test_deduper_memory_is_bounded() -> None:
    dedup = TradeDeduper(capacity=2)
    assert [dedup.is_new("v", "i", t) for t in ("1", "2", "1", "3", "1")] == [
        True,
        True,
        False,
        True,
        True,
    ]
    assert dedup.is_new("v", "other", "1")


def test_process_batch_equals_frame_by_frame() -> None:
    one = Normalizer(clock=lambda: 1)
    each = [one.process(f) for f in frames("binance")]
    batch = Normalizer(clock=lambda: 1).process_batch(frames("binance"))
    for topic, recs in batch.records.items():
        assert recs == [r for res in each for r in res[topic]]
    assert batch.duplicates == 1


def test_native_trade_window_is_bounded_like_the_deduper() -> None:
    """The native path's inline window (dict + FIFO) forgets the oldest id past capacity,
    exactly as :meth:`TradeDeduper.is_new` does."""
    okx = frames("okx")
    norm = Normalizer(dedup_capacity=2)
    norm.process(okx[0])  # markets
    trade = {"instId": "BTC-USDT", "px": "1", "sz": "1", "side": "buy", "ts": "1"}

    def one(n: int, trade_id: str) -> int:
        frame = {"arg": {"channel": "trades"}, "data": [{**trade, "tradeId": trade_id}]}
        return len(norm.process(ws("okx", frame, n))["md.trades"])

    assert [one(n, t) for n, t in enumerate(("1", "2", "1", "3", "1"), 1)] == [1, 1, 0, 1, 1]


def test_mapper_id_tables_agree_with_the_resolver() -> None:
    norm = Normalizer()
    norm.process(frames("okx")[0])
    index = norm.native["okx"].mapper.markets
    for market_type in (None, "spot", "swap"):
        resolve = index.resolver(market_type)
        table = index.ids(market_type)
        assert table
        assert all(resolve(native) == instrument for native, instrument in table.items())
