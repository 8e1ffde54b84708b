"""Bitfinex frames (documentation-derived, ``tests/data/frames/bitfinex``) through the
native mapper: exact counts and values, channel ids per connection, the ``cs`` checksum.

Markets: ``Normalizer(markets=...)`` with the unified markets of ``markets.json`` (built by
ccxt's ``fetch_markets`` from a trimmed ``/v2/conf/pub:info:pair,...`` body; REST market
loading for venues without market paths is being reworked)."""

from __future__ import annotations

import binascii
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tapewire.streams.normalize import Normalizer, NormalizeResult
from tapewire.streams.normalize.books import BookState
from tapewire.streams.normalize.mappers import MapError, MarketIndex
from tapewire.streams.normalize.mappers.bitfinex import BitfinexMapper, checksum, js_number
from tapewire.testing.frames import raw_frame, read_frames

DIR = Path(__file__).resolve().parents[4] / "data" / "frames" / "bitfinex"
MARKETS = json.loads((DIR / "markets.json").read_text(encoding="utf-8"))
SPOT, SWAP = "BTC-USD-SPOT", "BTC-USDT-PERP-USDT"
T0 = 1_654_702_500_000_000_000
MS = 1_000_000


def frames() -> list[dict[str, Any]]:
    return read_frames(DIR / "frames.jsonl", "bitfinex")


def run(batch: list[dict[str, Any]]) -> NormalizeResult:
    return Normalizer(clock=lambda: 1, markets={"bitfinex": MARKETS}).process_batch(batch)


def lv(side: list[dict[str, Decimal]]) -> list[tuple[str, str]]:
    return [(format(x["price"], "f"), format(x["size"], "f")) for x in side]


def test_counts_and_values() -> None:
    out = run(frames())
    counts = {t: len(r) for t, r in out.records.items() if r}
    assert counts == {
        "md.trades": 5,
        "md.book": 6,
        "md.quotes": 1,
        "md.coverage": 2,
        "dlq.normalize": 2,
    }
    assert out.duplicates == 1  # the te of 1128060969 again
    got = [
        (t["instrument"], t["trade_id"], t["side"], t["price"], t["size"], t["exchange_ts_ns"])
        for t in out["md.trades"]
    ]
    assert got == [  # the subscription's trade snapshot oldest first, then te frames
        (SPOT, "1128060665", "SELL", Decimal("1814.1"), Decimal("0.00280472"), 1654701551231 * MS),
        (SPOT, "1128060675", "BUY", Decimal("1815.3"), Decimal("0.00217533"), 1654701572690 * MS),
        (SPOT, "1128060969", "BUY", Decimal("1818.5"), Decimal("0.00325131"), 1654702500098 * MS),
        (SPOT, "1128060970", "SELL", Decimal("1818.4"), Decimal("0.5"), 1654702500512 * MS),
        (SWAP, "401597395", "SELL", Decimal("7244.9"), Decimal("0.005"), 1574694475039 * MS),
    ]  # fmt: skip
    snap, d1, d2, d3, snap2, d4 = out["md.book"]
    assert (snap["kind"], snap["depth"], snap["instrument"]) == ("SNAPSHOT", 25, SPOT)
    assert lv(snap["bids"]) == [
        ("7364.8", "4.354802"),
        ("7364.7", "0.00288831"),
        ("7364.3", "0.048"),
    ]
    assert lv(snap["asks"]) == [
        ("7364.9", "0.42028976"),
        ("7365", "0.25"),
        ("7365.5", "0.00371937"),
    ]
    assert (lv(d1["bids"]), lv(d1["asks"])) == ([("7364.6", "1.5")], [])
    assert (lv(d2["bids"]), lv(d2["asks"])) == ([], [("7364.9", "0")])  # count 0: delete
    assert (lv(d3["bids"]), lv(d3["asks"])) == ([], [("7365.5", "0.1")])
    assert [b["checksum"] for b in out["md.book"]] == [None] * 6  # cs frames publish nothing
    assert lv(snap2["bids"]) == [("7364.8", "4.0"), ("7364.6", "1.5")]
    assert (lv(d4["bids"]), lv(d4["asks"])) == ([], [("7365", "0")])
    (quote,) = out["md.quotes"]
    assert (quote["bid_price"], quote["bid_size"], quote["ask_price"], quote["ask_size"]) == (
        Decimal("7364.8"), Decimal("4.354802"), Decimal("7365"), Decimal("0.25"))  # fmt: skip
    assert quote["exchange_ts_ns"] is None
    # a delta was lost before 7365.5: the following cs fails; the resubscription resyncs
    gap, resync = out["md.coverage"]
    assert (gap["event"], gap["reason"], gap["from_ns"]) == ("GAP", "checksum", T0 + 19 * MS)
    assert (resync["event"], resync["reason"], resync["to_ns"]) == (
        "RESYNC", "checksum", T0 + 24 * MS)  # fmt: skip
    assert [d["error_type"] for d in out["dlq.normalize"]] == ["UnknownInstrument", "DecodeError"]


def test_checksum_matches_the_documented_algorithm() -> None:
    # docs.bitfinex.com "Order Books checksums": bid p:a, ask p:-a, interleaved, top 25
    bids = [(Decimal("7364.8"), Decimal("4.354802"))]
    asks = [(Decimal("7364.9"), Decimal("0.42028976")), (Decimal("7365"), Decimal("0.25"))]
    crc = binascii.crc32(b"7364.8:4.354802:7364.9:-0.42028976:7365:-0.25")
    assert checksum(bids, asks) == crc - (1 << 32) if crc >= 1 << 31 else crc
    assert js_number(Decimal("0.00000012")) == "1.2e-7"
    assert js_number(Decimal("0.000001")) == "0.000001"
    assert js_number(Decimal("4.0")) == "4"


def test_checksum_only_frame_verifies_without_publishing() -> None:
    out = run(frames()[:13])  # up to the first cs after the snapshot
    assert [b["kind"] for b in out["md.book"]] == ["SNAPSHOT"]
    assert out["md.coverage"] == []
    bad = raw_frame("bitfinex", b'[18691,"cs",12345]', received_ns=T0 + 99 * MS, sequence=99)
    norm = Normalizer(clock=lambda: 1, markets={"bitfinex": MARKETS})
    norm.process_batch(frames()[:13])
    res = norm.process(bad)
    assert res["md.book"] == []
    assert [(c["event"], c["reason"]) for c in res["md.coverage"]] == [("GAP", "checksum")]
    assert norm.book_state("bitfinex", SPOT) is BookState.RESYNCING


def test_channel_ids_are_per_connection() -> None:
    batch = frames()[:14]
    other = raw_frame(
        "bitfinex", b"[18691,[7364.6,2,1.5]]", received_ns=T0 + 50 * MS, connection_id="c2"
    )
    out = run([*batch, other])
    (dead,) = out["dlq.normalize"]
    assert "chanId" in dead["reason"]


def test_bad_input_names_the_field() -> None:
    mapper = BitfinexMapper(MarketIndex(MARKETS))
    mapper.connection_id = "c1"
    for f in frames()[:6]:
        assert mapper.map(mapper.decode(f["payload"])) == []
    assert mapper.map(mapper.decode(b'[17470,"hb"]')) == []
    with pytest.raises(MapError, match="'amount'"):
        mapper.map(mapper.decode(b'[17470,"te",[1,1654702500098,"x",1818.5]]'))
    with pytest.raises(MapError, match="'count'"):
        mapper.map(mapper.decode(b"[18691,[7364.6,-2,1.5]]"))
    with pytest.raises(MapError, match="'chanId'"):
        mapper.map(mapper.decode(b"[1,[7364.6,2,1.5]]"))
    info = b'{"event":"info","version":2,"platform":{"status":1}}'
    assert mapper.map(mapper.decode(info)) == []  # a new connection: its channel ids go
    with pytest.raises(MapError, match="'chanId'"):
        mapper.map(mapper.decode(b"[18691,[7364.6,2,1.5]]"))
