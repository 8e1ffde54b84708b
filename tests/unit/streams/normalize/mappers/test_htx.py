"""HTX spot frames (documentation-derived, gzip binary frames in
``tests/data/frames/htx``, ``payload_b64``) through the native mapper: exact counts and
values, deltas buffered until the ``req`` snapshot, ``prevSeqNum`` gaps and resync.

Markets: ``Normalizer(markets=...)`` with the unified markets of ``markets.json`` (built by
ccxt's spot ``fetch_markets`` from a trimmed ``/v1/common/symbols`` body; ccxt's
``load_markets`` for HTX also fetches the contract endpoints, and REST market loading for
venues without market paths is being reworked)."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tapewire.streams.normalize import Normalizer, NormalizeResult
from tapewire.streams.normalize.books import BookState
from tapewire.streams.normalize.mappers import MapError, MarketIndex
from tapewire.streams.normalize.mappers.htx import HtxMapper
from tapewire.testing.frames import raw_frame, read_frames

DIR = Path(__file__).resolve().parents[4] / "data" / "frames" / "htx"
MARKETS = json.loads((DIR / "markets.json").read_text(encoding="utf-8"))
INST = "BTC-USDT-SPOT"
T0 = 1_630_000_000_000_000_000
MS = 1_000_000


def frames() -> list[dict[str, Any]]:
    return read_frames(DIR / "frames.jsonl", "htx")


def run(batch: list[dict[str, Any]]) -> NormalizeResult:
    return Normalizer(clock=lambda: 1, markets={"htx": MARKETS}).process_batch(batch)


def lv(side: list[dict[str, Decimal]]) -> list[tuple[str, str]]:
    return [(format(x["price"], "f"), format(x["size"], "f")) for x in side]


def test_frames_are_gzip_binary() -> None:
    first = frames()[0]
    assert first["binary"] is True
    assert first["payload"][:2] == b"\x1f\x8b"


def test_counts_and_values() -> None:
    out = run(frames())
    counts = {t: len(r) for t, r in out.records.items() if r}
    assert counts == {
        "md.trades": 2,
        "md.book": 4,
        "md.quotes": 1,
        "md.coverage": 4,
        "dlq.normalize": 2,
    }
    assert out.duplicates == 2  # the trade frame again
    buy, sell = out["md.trades"]
    assert (buy["trade_id"], buy["side"], buy["price"], buy["size"], buy["instrument"]) == (
        "102090727790", "BUY", Decimal("9150.01"), Decimal("0.003893"), INST)  # fmt: skip
    assert buy["exchange_ts_ns"] == 1_630_000_000_001 * MS
    assert (sell["trade_id"], sell["side"], sell["price"], sell["size"]) == (
        "102090727791", "SELL", Decimal("9150"), Decimal("1.5"))  # fmt: skip
    (quote,) = out["md.quotes"]
    bbo = (quote["bid_price"], quote["bid_size"], quote["ask_price"], quote["ask_size"])
    assert bbo == tuple(map(Decimal, ("9150.01", "1.685945", "9150.02", "0.707776")))
    assert quote["exchange_ts_ns"] == 1_630_000_000_003 * MS  # quoteTime
    snap, d1, snap2, d2 = out["md.book"]
    # req snapshot seqNum 101, the buffered 101 (idempotent) and 103 replayed onto it
    assert (snap["kind"], snap["depth"], snap["last_sequence"]) == ("SNAPSHOT", 150, 103)
    assert snap["exchange_ts_ns"] == 1_630_000_000_006 * MS  # the last delta replayed
    assert lv(snap["bids"]) == [("9150.01", "2.1"), ("9149.8", "0.5")]
    assert lv(snap["asks"]) == [("9150.02", "0.707776"), ("9150.5", "0.3"), ("9151", "4")]
    assert (d1["kind"], d1["prev_sequence"], d1["last_sequence"], d1["first_sequence"]) == (
        "DELTA", 103, 105, None)  # fmt: skip
    assert (lv(d1["bids"]), lv(d1["asks"])) == ([], [("9150.02", "0")])  # a delete
    # 110 follows 107 (105..107 lost): gap; 112 buffered; snapshot 110 resyncs
    assert (snap2["last_sequence"], lv(snap2["asks"])[-2]) == (112, ("9150.7", "0.25"))
    assert (d2["prev_sequence"], d2["last_sequence"], lv(d2["bids"])) == (
        112, 113, [("9149.8", "0")])  # fmt: skip
    cov = [(c["event"], c["reason"], c["from_ns"], c["to_ns"]) for c in out["md.coverage"]]
    assert cov == [
        ("GAP", "waiting_for_snapshot", T0 + 5 * MS, None),
        ("RESYNC", "waiting_for_snapshot", T0 + 5 * MS, T0 + 7 * MS),
        ("GAP", "sequence_gap", T0 + 8 * MS, None),
        ("RESYNC", "sequence_gap", T0 + 8 * MS, T0 + 11 * MS),
    ]
    assert [d["error_type"] for d in out["dlq.normalize"]] == ["UnknownInstrument", "DecodeError"]


def test_snapshot_older_than_the_buffer_is_refused() -> None:
    batch = frames()[:7]  # deltas 101, 103 buffered
    old = {
        "id": "s",
        "rep": "market.btcusdt.mbp.150",
        "status": "ok",
        "ts": 1630000000009,
        "data": {"seqNum": 90, "bids": [[9150, 1]], "asks": [[9151, 1]]},
    }
    payload = gzip.compress(json.dumps(old).encode())
    frame = raw_frame("htx", payload, received_ns=T0 + 50 * MS, sequence=50, binary=True)
    norm = Normalizer(clock=lambda: 1, markets={"htx": MARKETS})
    norm.process_batch(batch)
    assert norm.process(frame)["md.book"] == []
    assert norm.book_state("htx", INST) is BookState.SYNCING


def test_bad_input_names_the_field() -> None:
    mapper = HtxMapper(MarketIndex(MARKETS))
    assert mapper.map(mapper.decode(gzip.compress(b'{"ping":1630000000005}'))) == []
    frame = mapper.decode(frames()[3]["payload"])
    frame["tick"]["data"][0]["direction"] = "up"
    with pytest.raises(MapError, match="'direction'"):
        mapper.map(frame)
    delta = mapper.decode(frames()[5]["payload"])
    delta["tick"]["prevSeqNum"] = "x"
    with pytest.raises(MapError, match="'prevSeqNum'"):
        mapper.map(delta)
    delta["ch"] = "market"
    with pytest.raises(MapError, match="'ch'"):
        mapper.map(delta)
