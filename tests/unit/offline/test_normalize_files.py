"""``tapewire normalize`` core on the recorded real frames of ``tests/data/real``: the topic
files hold exactly what the Normalizer produces on the same frames, the summary counts
them per venue and channel, Parquet keeps the decimals exact, and bad input is one clear
error naming the file."""

from __future__ import annotations

import functools
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tapewire.connectors.capture import CaptureWriter
from tapewire.connectors.capture.format import CaptureError
from tapewire.connectors.capture.frame_lines import iter_frame_lines
from tapewire.offline import OfflineInputError, normalize_files
from tapewire.offline.topic_files import record_json
from tapewire.streams.normalize import Normalizer, NormalizeResult
from tapewire.streams.normalize.normalizer import TOPICS

REAL = Path(__file__).resolve().parents[2] / "data" / "real"
FIXED = 42


def normalizer() -> Normalizer:
    return Normalizer(clock=lambda: FIXED)


def fixture(venue: str, name: str = "frames") -> Path:
    return REAL / venue / f"{name}.jsonl"


@functools.cache
def direct(venue: str) -> NormalizeResult:
    """The Normalizer's own output on the fixture's frames."""
    with fixture(venue).open("rb") as file:
        return normalizer().process_batch(list(iter_frame_lines(file, venue)))


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("normalized")
    paths = [fixture("binance"), fixture("okx"), fixture("bybit", "bbo")]
    return out, normalize_files(paths, out, normalizer=normalizer())


def test_topic_files_hold_exactly_what_the_normalizer_produces(
    both: tuple[Path, dict[str, Any]],
) -> None:
    out, _summary = both
    binance, okx = direct("binance"), direct("okx")
    for topic in TOPICS:
        lines = (out / f"{topic}.jsonl").read_bytes()
        if topic != "dlq.normalize":
            expected = b"".join(record_json(r) for r in binance[topic] + okx[topic])
            assert lines == expected, topic
    counts = {venue: {t: len(direct(venue)[t]) for t in TOPICS} for venue in ("binance", "okx")}
    assert counts == {
        "binance": {"md.trades": 2, "md.book": 176, "md.quotes": 84, "md.coverage": 8,
                    "dlq.normalize": 0, "md.derivatives": 0},
        "okx": {"md.trades": 69, "md.book": 98, "md.quotes": 25, "md.coverage": 0,
                "dlq.normalize": 0, "md.derivatives": 0},
    }  # fmt: skip
    trade = json.loads((out / "md.trades.jsonl").read_bytes().splitlines()[0])
    assert trade | {"process_ts_ns": 0} == {
        "venue": "binance",
        "instrument": "NKN-USDT-SPOT",
        "trade_id": "15683430",
        "price": "0.35280000",  # exact wire text
        "size": "58.00000000",
        "side": "BUY",
        "exchange_ts_ns": 1633998523963 * 1_000_000,
        "receive_ts_ns": 1633998523_957215000,
        "process_ts_ns": 0,
        "connection_id": "BINANCE.ws.1",
        "frame_sequence": 108,  # per connection (109th ws frame), as the connector numbers
    }


def test_summary_per_venue_and_channel(both: tuple[Path, dict[str, Any]]) -> None:
    out, summary = both
    assert json.loads((out / "summary.json").read_bytes()) == summary
    assert [(f["format"], f["venue"], f["frames"]) for f in summary["files"]] == [
        ("frames", "binance", 270),
        ("frames", "okx", 199),
        ("frames", "bybit", 145),
    ]
    assert summary["frames"] == 614
    assert summary["records"] == {
        "md.trades": 71,
        "md.book": 274,
        "md.quotes": 109,
        "md.coverage": 8,  # each Binance book waited for its REST snapshot: GAP + RESYNC
        "dlq.normalize": 145,
        "md.derivatives": 0,  # spot only
    }
    binance = summary["venues"]["binance"]
    assert binance["frames"] == 270
    assert binance["dead_letters"] == {}
    assert binance["channels"]["rest"]["frames"] == 5  # exchangeInfo + 4 depth snapshots
    assert binance["channels"]["rest"]["records"]["md.book"] == 4
    depth = binance["channels"]["nknusdt@depth@100ms"]
    assert (depth["frames"], depth["records"]["md.book"]) == (150, 149)
    assert binance["channels"]["nknusdt@bookTicker"]["records"]["md.quotes"] == 74
    assert binance["book_states"] == {"LIVE": 4}
    nkn = binance["books"]["NKN-USDT-SPOT"]
    assert (nkn["state"], nkn["snapshots"], nkn["deltas"]) == ("LIVE", 1, 149)
    assert (nkn["bid_levels"], nkn["ask_levels"]) == (614, 994)
    okx = summary["venues"]["okx"]
    assert okx["channels"]["websocket"]["frames"] == 198  # no channel hint: the transport
    btc = okx["books"]["BTC-USDT-SPOT"]
    assert (btc["state"], btc["snapshots"], btc["deltas"]) == ("LIVE", 1, 97)
    assert (btc["best_bid"], btc["best_ask"]) == ("30236.1", "30236.2")
    # Bybit orderbook.1 without its markets (not in the capture): one dead letter per frame
    bybit = summary["venues"]["bybit"]
    assert bybit["dead_letters"] == {"NoMarkets": 145}
    assert bybit["channels"]["websocket"]["dead_letters"] == {"NoMarkets": 145}
    assert bybit["books"] == {}
    assert bybit["coverage"] == {"events": [], "counts": {}}


def test_a_gap_is_a_coverage_event_and_a_resyncing_book(tmp_path: Path) -> None:
    with fixture("okx").open("rb") as file:
        frames = list(iter_frame_lines(file, "okx"))
    updates = [i for i, f in enumerate(frames) if b'"action":"update"' in f["payload"]]
    del frames[updates[30]]  # a lost book update: the next checksum fails
    capture = tmp_path / "okx.jsonl.gz"
    with CaptureWriter(capture, source="test") as writer:
        for frame in frames:
            writer(frame)
    summary = normalize_files([capture], tmp_path / "out", normalizer=normalizer())
    okx = summary["venues"]["okx"]
    assert okx["coverage"]["counts"] == {"GAP:checksum": 1}
    (gap,) = okx["coverage"]["events"]
    assert (gap["instrument"], gap["event"], gap["to_ns"]) == ("BTC-USDT-SPOT", "GAP", None)
    assert okx["books"]["BTC-USDT-SPOT"]["state"] == "RESYNCING"
    assert summary["files"] == [{"path": str(capture), "format": "capture", "frames": 198}]


def test_parquet_keeps_decimals_exact(tmp_path: Path) -> None:
    summary = normalize_files([fixture("okx")], tmp_path, fmt="parquet", normalizer=normalizer())
    assert summary["records"]["md.trades"] == 69
    trades = pq.read_table(tmp_path / "md.trades.parquet")
    assert str(trades.schema.field("price").type) == "decimal128(38, 18)"
    assert trades.column("price").to_pylist() == [t["price"] for t in direct("okx")["md.trades"]]
    book = pq.read_table(tmp_path / "md.book.parquet").to_pylist()
    first = direct("okx")["md.book"][0]
    assert [lv["price"] for lv in book[0]["bids"]] == [lv["price"] for lv in first["bids"]]
    assert isinstance(book[0]["bids"][0]["size"], Decimal)
    assert pq.read_table(tmp_path / "dlq.normalize.parquet").num_rows == 0


def test_bad_input_is_one_error_naming_the_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(OfflineInputError, match=r"nope\.jsonl\.gz: no such file"):
        normalize_files([tmp_path / "nope.jsonl.gz"], out)
    (tmp_path / "OKX.ws.1.0").write_text('1652459225.5037491: {"event":"subscribe"}\n')
    with pytest.raises(OfflineInputError, match=r"cryptofeed.*tapewire import cryptofeed"):
        normalize_files([tmp_path / "OKX.ws.1.0"], out)
    (tmp_path / "frames.jsonl").write_text('{"received_ns": 1, "payload": "{}"}\n')
    with pytest.raises(OfflineInputError, match=r"names no venue.*--venue"):
        normalize_files([tmp_path / "frames.jsonl"], out)
    (tmp_path / "bad.jsonl.gz").write_bytes(b"\x1f\x8bnot gzip")
    with pytest.raises(CaptureError, match=r"bad\.jsonl\.gz"):
        normalize_files([tmp_path / "bad.jsonl.gz"], out)
    assert not out.exists()  # every input is checked before anything is written
