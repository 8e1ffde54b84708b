"""MEXC spot frames (documentation-derived protobuf pushes in ``tests/data/frames/mexc``,
``payload_b64``, built by ``mexc_proto.py``) through the native mapper: exact counts and
values, deltas buffered until the REST ``/api/v3/depth`` snapshot, a version gap and its
resync, the hand-written wire decoder against the protobuf package.

Markets: ``Normalizer(markets=...)`` with the unified markets of ``markets.json`` (ccxt's
``fetch_spot_markets`` on a trimmed ``/api/v3/exchangeInfo`` body; ccxt's ``load_markets``
for MEXC also fetches the contract endpoints, and REST market loading for venues without
market paths is being reworked)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ccxt.protobuf.mexc import PushDataV3ApiWrapper_pb2
from google.protobuf.json_format import ParseDict

from tapewire.streams.normalize import Normalizer, NormalizeResult
from tapewire.streams.normalize.books import BookState
from tapewire.streams.normalize.mappers import MapError, MarketIndex
from tapewire.streams.normalize.mappers.mexc import MexcMapper, Push, fields
from tapewire.testing.frames import raw_frame, read_frames
from tests.unit.streams.normalize.mappers import mexc_proto
from tests.unit.streams.normalize.mappers.mexc_proto import encode_push, varint

DIR = Path(__file__).resolve().parents[4] / "data" / "frames" / "mexc"
MARKETS = json.loads((DIR / "markets.json").read_text(encoding="utf-8"))
INST = "BTC-USDT-SPOT"
T0 = mexc_proto.T0_MS * 1_000_000
MS = 1_000_000
V = mexc_proto.V


def frames() -> list[dict[str, Any]]:
    return read_frames(DIR / "frames.jsonl", "mexc")


def run(batch: list[dict[str, Any]]) -> NormalizeResult:
    return Normalizer(clock=lambda: 1, markets={"mexc": MARKETS}).process_batch(batch)


def lv(side: list[dict[str, Decimal]]) -> list[tuple[str, str]]:
    return [(format(x["price"], "f"), format(x["size"], "f")) for x in side]


def test_frame_file_is_built_from_the_examples() -> None:
    assert (DIR / "frames.jsonl").read_text(encoding="utf-8") == mexc_proto.frame_file_text()
    first_push = frames()[3]
    assert first_push["binary"] is True
    assert first_push["payload"][:1] == b"\x0a"  # field 1 (channel), length-delimited


def test_encoder_agrees_with_protobuf_and_ccxts_definitions() -> None:
    pushes = [m for _, kind, m in mexc_proto.examples() if kind == "pb"]
    assert len(pushes) == 10
    for push in pushes:
        reference = ParseDict(push, PushDataV3ApiWrapper_pb2.PushDataV3ApiWrapper())
        assert reference.SerializeToString() == encode_push(push)


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
        "1736409765051-0", "BUY", Decimal("93220.00"), Decimal("0.04438243"), INST)  # fmt: skip
    assert str(buy["price"]) == "93220.00"  # the wire text, trailing zeros kept
    assert buy["exchange_ts_ns"] == T0 + 51 * MS
    assert (sell["trade_id"], sell["side"], sell["price"], sell["size"]) == (
        "1736409765051-1", "SELL", Decimal("93219.99"), Decimal("0.0015"))  # fmt: skip
    (quote,) = out["md.quotes"]
    bbo = (quote["bid_price"], quote["bid_size"], quote["ask_price"], quote["ask_size"])
    assert bbo == tuple(map(Decimal, ("93387.28", "3.73485", "93387.29", "7.669875")))
    assert quote["exchange_ts_ns"] == T0 + 433 * MS  # sendTime
    snap, d1, snap2, d2 = out["md.book"]
    # REST lastUpdateId V+360, buffered V+359..361 (bridging) and 362..365 replayed onto it
    assert (snap["kind"], snap["depth"], snap["last_sequence"]) == ("SNAPSHOT", 5000, V + 365)
    assert snap["exchange_ts_ns"] == T0 + 200 * MS  # the last delta replayed
    assert lv(snap["bids"]) == [("93387.28", "3.73485"), ("93386.5", "0.2")]
    assert lv(snap["asks"]) == [("93387.29", "7.669875"), ("93388.1", "0.5"), ("93390", "1.5")]
    assert (d1["kind"], d1["first_sequence"], d1["last_sequence"], d1["prev_sequence"]) == (
        "DELTA", V + 366, V + 366, None)  # fmt: skip
    assert (lv(d1["bids"]), lv(d1["asks"])) == ([], [("93387.29", "0")])  # a delete
    # V+370 after 366 (367..369 lost): gap; 373..375 buffered; snapshot 374 resyncs
    assert (snap2["last_sequence"], snap2["exchange_ts_ns"]) == (V + 375, T0 + 600 * MS)
    assert lv(snap2["asks"]) == [("93388.1", "0.5"), ("93389", "2"), ("93390", "1.5")]
    assert lv(snap2["bids"]) == [("93387.28", "3.73485"), ("93386.9", "0.8")]
    assert (d2["first_sequence"], d2["last_sequence"], d2["bids"][0]["size"]) == (
        V + 376, V + 376, Decimal(0))  # fmt: skip
    cov = [(c["event"], c["reason"], c["from_ns"], c["to_ns"]) for c in out["md.coverage"]]
    assert cov == [
        ("GAP", "waiting_for_snapshot", T0 + 5 * MS, None),
        ("RESYNC", "waiting_for_snapshot", T0 + 5 * MS, T0 + 7 * MS),
        ("GAP", "sequence_gap", T0 + 8 * MS, None),
        ("RESYNC", "sequence_gap", T0 + 8 * MS, T0 + 12 * MS),
    ]
    assert [d["error_type"] for d in out["dlq.normalize"]] == ["UnknownInstrument", "DecodeError"]


def test_snapshot_older_than_the_buffer_is_refused() -> None:
    batch = frames()[:7]  # deltas V+359..361, 362..365 buffered
    old = {"lastUpdateId": V + 350, "bids": [["93380", "1"]], "asks": [["93390", "1"]]}
    frame = raw_frame(
        "mexc",
        json.dumps(old).encode(),
        received_ns=T0 + 50 * MS,
        sequence=50,
        transport="REST",
        url=mexc_proto.REST_DEPTH,
    )
    norm = Normalizer(clock=lambda: 1, markets={"mexc": MARKETS})
    norm.process_batch(batch)
    assert norm.process(frame)["md.book"] == []
    assert norm.book_state("mexc", INST) is BookState.SYNCING


def test_bad_input_names_the_field() -> None:
    mapper = MexcMapper(MarketIndex(MARKETS))
    assert mapper.map(mapper.decode(b'{"id":0,"code":0,"msg":"PONG"}')) == []
    kline = encode_push({"channel": "spot@public.kline.v3.api.pb@BTCUSDT@Min1"})
    kline += varint(308 << 3 | 2) + varint(2) + b"\x0a\x00"  # publicSpotKline body
    assert mapper.map(mapper.decode(kline)) == []
    trade: dict[str, Any] = json.loads(json.dumps(mexc_proto.TRADES))
    trade["publicAggreDeals"]["deals"][0]["tradeType"] = 3
    with pytest.raises(MapError, match="'tradeType'"):
        mapper.map(mapper.decode(encode_push(trade)))
    trade["publicAggreDeals"]["deals"][0] |= {"tradeType": 1, "price": ""}  # missing
    with pytest.raises(MapError, match="'price'"):
        mapper.map(mapper.decode(encode_push(trade)))
    depth = mexc_proto._depth(1, V, V, [["1", "1"]], [])
    depth["publicAggreDepths"]["fromVersion"] = "x"
    with pytest.raises(MapError, match="'fromVersion'"):
        mapper.map(mapper.decode(encode_push(depth)))
    with pytest.raises(MapError, match="'PushDataV3ApiWrapper'"):
        mapper.decode(b"\x0a\x80")  # a length varint cut short
    with pytest.raises(MapError, match="wire type"):
        fields(b"\x0b", "x")  # field 1 as a group: not proto3
    assert mapper.map(Push()) == []
    assert mapper.map_rest("https://api.mexc.com/api/v3/exchangeInfo", {}) == []


def test_subscriptions() -> None:
    subscribe = MexcMapper.spec.subscribe
    assert subscribe is not None
    (message,) = subscribe("book", ["BTCUSDT"])
    assert message == {
        "method": "SUBSCRIPTION",
        "params": ["spot@public.aggre.depth.v3.api.pb@100ms@BTCUSDT"],
    }
    many = subscribe("trades", [f"C{n}USDT" for n in range(31)])
    assert [len(m["params"]) for m in many] == [30, 1]  # 30 subscriptions per connection
