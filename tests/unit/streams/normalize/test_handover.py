"""Market metadata and books when a worker takes a venue over mid-stream (rebalance, restart).

The pure core: ``Normalizer.load_markets`` / ``markets_path`` / ``handover``; the stage:
re-publishing market frames to ``md.markets``, loading them back, and detecting a hand-over
from the md.raw offsets. No Kafka here (tests/integration/streams/test_normalize_rebalance.py has
the real broker).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tapewire.connectors.capture.simulated import raw_frames
from tapewire.connectors.simulator import MarketSimulator, SimConfig
from tapewire.schemas.codec import Codec
from tapewire.streams.normalize import BookState, NormalizeError, Normalizer
from tapewire.streams.stages.base import InMsg, OutMsg
from tapewire.streams.stages.normalize import NormalizeStage
from tapewire.testing.frames import raw_frame, read_frames

CODEC = Codec()
FRAMES = Path(__file__).resolve().parents[3] / "data" / "frames"
T0 = 1_700_000_000_000_000_000
BTC = "BTC-USDT-SPOT"
SIM = list(raw_frames(MarketSimulator(SimConfig(seed=5, n_frames=3000)).frames()))
CUT = 1200
MARKET_PATHS = {"/api/v3/exchangeInfo", "/api/v5/public/instruments"}


def _is_market(frame: dict[str, Any]) -> bool:
    url = frame["rest_url"] or ""
    return any(url.split("?")[0].endswith(p) for p in MARKET_PATHS)


def _msgs(frames: list[dict[str, Any]], first_offset: int = 0) -> list[InMsg]:
    return [
        InMsg(0, first_offset + i, CODEC.key("md.raw", f), CODEC.encode("md.raw", f))
        for i, f in enumerate(frames)
    ]


def _out(out: list[OutMsg], topic: str) -> list[dict[str, Any]]:
    return [CODEC.decode(topic, v) for t, _, v, _ in out if t == topic]


def _ws(venue: str, obj: Any, seq: int, conn: str = "c1") -> dict[str, Any]:
    payload = json.dumps(obj).encode()
    return raw_frame(venue, payload, received_ns=T0 + seq, sequence=seq, connection_id=conn)


def _depth(u0: int, u1: int) -> dict[str, Any]:
    return {"e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": u0, "u": u1, "b": [], "a": []}


def _rest_depth(last: int, n: int) -> dict[str, Any]:
    body = json.dumps(
        {"lastUpdateId": last, "bids": [["100.00", "1.00"]], "asks": [["101.00", "1.00"]]}
    ).encode()
    url = "https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=100"
    return raw_frame("binance", body, received_ns=T0 + n, transport="REST", url=url)


def _binance_markets() -> dict[str, Any]:
    return read_frames(FRAMES / "binance" / "frames.jsonl", "binance")[0]


# --------------------------------------------------------------------------- core
def test_markets_path_picks_the_market_metadata_frames_only() -> None:
    norm = Normalizer()
    paths = Counter(norm.markets_path(f) for f in SIM)
    assert paths == {
        None: len(SIM) - 2,
        "/api/v3/exchangeInfo": 1,
        "/api/v5/public/instruments?instType=SPOT": 1,
    }
    info = next(f for f in SIM if _is_market(f) and f["venue"] == "binance")
    assert norm.markets_path(dict(info, rest_status=500)) is None
    assert norm.markets_path(dict(info, venue="nope")) is None
    assert norm.markets_path(dict(info, transport="WEBSOCKET")) is None


def test_load_markets_lets_a_fresh_normalizer_continue_the_stream() -> None:
    full = Normalizer().process_batch(SIM)
    assert full["dlq.normalize"] == []
    markets = [f for f in SIM[:CUT] if _is_market(f)]
    tail = SIM[CUT:]

    blind = Normalizer().process_batch(tail)  # what a worker without md.markets did
    ws_frames = sum(f["transport"] == "WEBSOCKET" for f in tail)
    assert Counter(d["error_type"] for d in blind["dlq.normalize"]) == {"NoMarkets": ws_frames}

    norm = Normalizer()
    assert not norm.has_markets("binance")
    assert norm.load_markets("binance", markets)
    assert norm.load_markets("okx", markets)
    assert not norm.load_markets("kraken", markets)  # none of its frames among them
    res = norm.process_batch(tail)
    assert res["dlq.normalize"] == []
    first_tail = {(f["connection_id"], f["sequence"]) for f in tail}
    want = [
        t["trade_id"]
        for t in full["md.trades"]
        if (t["connection_id"], t["frame_sequence"]) in first_tail
    ]
    assert [t["trade_id"] for t in res["md.trades"]] == want
    assert len(want) > 100


def test_load_markets_keeps_a_loaded_venue_and_rejects_garbage() -> None:
    norm = Normalizer()
    info = _binance_markets()
    assert norm.load_markets("binance", [info])
    venue = norm.venues["binance"]
    assert norm.load_markets("binance", [info])
    assert norm.venues["binance"] is venue  # books kept
    fresh = Normalizer()
    with pytest.raises(NormalizeError, match="markets of binance") as info_err:
        fresh.load_markets("binance", [dict(info, payload=b"{not json")])
    assert info_err.value.error_type == "MarketsError"
    assert not fresh.has_markets("binance")
    assert fresh.load_markets("binance", [info])  # a good frame later replaces the bad one


def test_handover_opens_a_rebalance_gap_that_the_next_snapshot_closes() -> None:
    norm = Normalizer()
    norm.load_markets("binance", [_binance_markets()])
    norm.handover("binance")
    res = norm.process(_ws("binance", _depth(10, 11), 5))  # a delta on a connection joined late
    assert res["md.book"] == []
    assert res["dlq.normalize"] == []
    assert [(c["event"], c["reason"], c["from_ns"], c["to_ns"]) for c in res["md.coverage"]] == [
        ("GAP", "rebalance", T0 + 5, None)
    ]
    assert norm.book_state("binance", BTC) is BookState.RESYNCING
    more = norm.process_batch([_ws("binance", _depth(12, 13), 6)])  # buffered by ccxt, no DLQ
    assert (more["md.book"], more["md.coverage"], more["dlq.normalize"]) == ([], [], [])
    res = norm.process(_rest_depth(11, 7))  # the next snapshot bridges to the buffered deltas
    assert [(b["kind"], b["last_sequence"]) for b in res["md.book"]] == [("SNAPSHOT", 13)]
    assert [(c["event"], c["from_ns"], c["to_ns"]) for c in res["md.coverage"]] == [
        ("RESYNC", T0 + 5, T0 + 7)
    ]
    assert norm.book_state("binance", BTC) is BookState.LIVE
    CODEC.encode("md.coverage", res["md.coverage"][0])


def test_okx_book_taken_over_mid_stream_resyncs_on_its_next_snapshot() -> None:
    okx = read_frames(FRAMES / "okx" / "frames.jsonl", "okx")
    markets, snapshot, update = okx[0], okx[2], okx[3]
    norm = Normalizer()
    norm.load_markets("okx", [markets])
    norm.handover("okx")
    res = norm.process(update)
    assert (res["md.book"], res["dlq.normalize"]) == ([], [])
    assert [(c["event"], c["reason"]) for c in res["md.coverage"]] == [("GAP", "rebalance")]
    again = dict(snapshot, sequence=9, receive_ts_ns=update["receive_ts_ns"] + 5)
    res = norm.process(again)
    assert [b["kind"] for b in res["md.book"]] == ["SNAPSHOT"]
    assert [(c["event"], c["from_ns"], c["to_ns"]) for c in res["md.coverage"]] == [
        ("RESYNC", update["receive_ts_ns"], again["receive_ts_ns"])
    ]


def test_no_rebalance_gap_for_a_connection_seen_from_its_start_or_without_handover() -> None:
    norm = Normalizer()
    norm.load_markets("binance", [_binance_markets()])
    norm.handover("binance")
    fresh = norm.process_batch([_ws("binance", {"result": None, "id": 1}, 0, conn="c9")])
    fresh.extend(norm.process(_ws("binance", _depth(10, 11), 1, conn="c9")))
    # deltas before the first snapshot of a new connection: waiting, not a rebalance hole
    assert [(c["event"], c["reason"]) for c in fresh["md.coverage"]] == [
        ("GAP", "waiting_for_snapshot")
    ]
    assert norm.book_state("binance", BTC) is BookState.SYNCING

    plain = Normalizer()
    plain.load_markets("binance", [_binance_markets()])
    assert [
        c["reason"] for c in plain.process(_ws("binance", _depth(10, 11), 5))["md.coverage"]
    ] == ["waiting_for_snapshot"]


def test_handover_forgets_books_but_keeps_markets() -> None:
    norm = Normalizer()
    norm.load_markets("binance", [_binance_markets()])
    norm.process(_ws("binance", _depth(10, 11), 0))
    norm.process(_rest_depth(10, 1))
    assert norm.book_state("binance", BTC) is BookState.LIVE
    norm.handover("binance")
    assert norm.book_state("binance", BTC) is None
    assert norm.has_markets("binance")
    res = norm.process(_ws("binance", _depth(30, 31), 40))  # not applied to the stale book
    assert res["md.book"] == []
    assert [c["reason"] for c in res["md.coverage"]] == ["rebalance"]


def test_deltas_buffered_before_a_snapshot_are_bounded() -> None:
    norm = Normalizer(snapshot_buffer_cap=5)
    norm.load_markets("binance", [_binance_markets()])
    for i in range(20):
        assert norm.process(_ws("binance", _depth(10 + i, 10 + i), i))["md.book"] == []
    buffer = norm.native["binance"].sync.books["BTC-USDT-SPOT"].buffer
    assert [event.first_sequence for event, _ in buffer] == [25, 26, 27, 28, 29]
    assert norm.process(_rest_depth(12, 30))["md.book"] == []  # older than what is kept
    (snap,) = norm.process(_rest_depth(26, 31))["md.book"]
    assert (snap["kind"], snap["last_sequence"]) == ("SNAPSHOT", 29)


# --------------------------------------------------------------------------- stage
def test_stage_republishes_market_frames_byte_for_byte() -> None:
    msgs = _msgs(SIM)
    out = NormalizeStage(CODEC, lambda t: f"p.{t}").process(msgs)
    markets = [(k, v) for t, k, v, _ in out if t == "p.md.markets"]
    want = [(m.value, f) for m, f in zip(msgs, SIM, strict=True) if _is_market(f)]
    assert [v for _, v in markets] == [v for v, _ in want]
    assert [k for k, _ in markets] == [f"{f['venue']}:{f['rest_url']}".encode() for _, f in want]
    assert _out(out, "p.dlq.normalize") == []
    silent = NormalizeStage(CODEC, republish_markets=False).process(msgs)
    assert not [t for t, _, _, _ in silent if t == "md.markets"]


def test_stage_taking_over_a_partition_loads_markets_and_reports_the_hole() -> None:
    first = NormalizeStage(CODEC)
    head = first.process(_msgs(SIM[:CUT]))
    stored = [CODEC.decode("md.markets", v) for t, _, v, _ in head if t == "md.markets"]
    assert len(stored) == 2
    assert first.handovers == []  # started at offset 0: nothing to hand over

    second = NormalizeStage(CODEC, markets_reader=lambda: stored)
    tail = _msgs(SIM[CUT:], first_offset=CUT)
    out = second.process(tail[:700]) + second.process(tail[700:])
    assert _out(out, "dlq.normalize") == []
    assert second.markets_loads == 1  # at the first batch; every venue had markets then
    assert sorted(second.handovers) == [(0, "binance"), (0, "okx")]
    full = Normalizer().process_batch(SIM)
    tail_ids = {(f["connection_id"], f["sequence"]) for f in SIM[CUT:]}
    want = [
        t["trade_id"]
        for t in full["md.trades"]
        if (t["connection_id"], t["frame_sequence"]) in tail_ids
    ]
    assert [t["trade_id"] for t in _out(out, "md.trades")] == want
    gaps = _out(out, "md.coverage")
    books = {(b["venue"], b["instrument"]) for b in full["md.book"]}
    assert {(g["venue"], g["instrument"]) for g in gaps} == books
    assert {(g["event"], g["reason"]) for g in gaps} == {("GAP", "rebalance")}
    assert len(gaps) == len(books) == 6


def test_stage_without_markets_topic_dead_letters_every_frame() -> None:
    blind = NormalizeStage(CODEC)  # the benchmark's finding, before md.markets
    out = blind.process(_msgs(SIM[CUT:], first_offset=CUT))
    dead = Counter(d["error_type"] for d in _out(out, "dlq.normalize"))
    assert dead == {"NoMarkets": sum(f["transport"] == "WEBSOCKET" for f in SIM[CUT:])}


def test_stage_hands_a_venue_over_when_its_partition_comes_back_after_others_had_it() -> None:
    stage = NormalizeStage(CODEC)
    stage.process(_msgs(SIM[:600]))
    stage.partitions_revoked({0})
    stage.process(_msgs(SIM[600:1200], first_offset=600))  # back where it left: state valid
    assert stage.handovers == []
    stage.process(_msgs(SIM[1200:1500], first_offset=1200))  # a jump, but never revoked
    assert stage.handovers == []
    stage.partitions_revoked({0, 3})
    stage.process([])  # batches without partition 0 keep the revocation pending
    out = stage.process(_msgs(SIM[1800:], first_offset=1800))  # 300 frames processed elsewhere
    assert sorted(stage.handovers) == [(0, "binance"), (0, "okx")]
    assert _out(out, "dlq.normalize") == []
    assert {g["reason"] for g in _out(out, "md.coverage")} == {"rebalance"}


def test_stage_reads_md_markets_only_when_needed() -> None:
    """A venue missing for the first time is polled for (``markets_wait_s``); afterwards
    md.markets is read again only at a (re)join or once ``markets_retry_s`` passed."""
    stored = [f for f in SIM[:CUT] if _is_market(f)]
    reads: list[float] = []
    sleeps: list[float] = []
    now = [100.0]

    def reader() -> list[dict[str, Any]]:
        reads.append(now[0])
        return [f for f in stored if f["venue"] == "okx"]  # binance's never reached it

    stage = NormalizeStage(
        CODEC,
        markets_reader=reader,
        markets_wait_s=0.5,
        monotonic=lambda: now[0],
        sleep=sleeps.append,
    )
    ws = [f for f in SIM[CUT:] if f["transport"] == "WEBSOCKET"]
    binance = [f for f in ws if f["venue"] == "binance"]
    okx = [f for f in ws if f["venue"] == "okx"]
    out = stage.process(_msgs(okx[:50], first_offset=CUT))  # take-over: read at once
    assert reads == [100.0]
    assert sleeps == []  # found at the first read
    assert _out(out, "dlq.normalize") == []
    stage.process(_msgs(okx[50:100], first_offset=CUT + 50))  # okx known: no read
    assert reads == [100.0]
    now[0] = 100.5
    out = stage.process(_msgs(binance[:10], first_offset=CUT + 100))  # first miss: polled
    assert reads == [100.0, 100.5, 100.5, 100.5]
    assert sleeps == [0.25, 0.25]
    assert {d["error_type"] for d in _out(out, "dlq.normalize")} == {"NoMarkets"}
    now[0] = 101.2
    out = stage.process(_msgs(binance[10:20], first_offset=CUT + 110))  # too soon
    assert reads == [100.0, 100.5, 100.5, 100.5]
    assert {d["error_type"] for d in _out(out, "dlq.normalize")} == {"NoMarkets"}
    now[0] = 101.6
    stage.process(_msgs(binance[20:30], first_offset=CUT + 120))  # retry is due: one read
    assert reads[4:] == [101.6]
    now[0] = 101.7
    stage.partitions_revoked({0})
    stage.process(_msgs(binance[30:40], first_offset=CUT + 500))  # back after others had it
    assert reads[4:] == [101.6, 101.7]
    assert len(sleeps) == 2


@pytest.mark.parametrize("venue", ["binance", "okx", "kraken", "coinbase", "bybit"])
def test_taking_a_venue_over_at_any_frame_adds_no_dead_letter(venue: str) -> None:
    """Cut each venue's fixture stream after every frame and hand the tail to a fresh
    normalizer: the only dead letters are the fixture's own bad frames; each book gets at
    most one rebalance GAP, closed by a RESYNC at the snapshot that follows (if any)."""
    frames = read_frames(FRAMES / venue / "frames.jsonl", venue)
    markets = [f for f in frames if Normalizer().markets_path(f)]
    stream = [f for f in frames if f not in markets]
    closed = 0
    for cut in range(1, len(stream)):
        tail = stream[cut:]
        alone = Counter(
            d["error_type"] for d in Normalizer().process_batch(markets + tail)["dlq.normalize"]
        )
        norm = Normalizer()
        assert norm.load_markets(venue, markets)
        norm.handover(venue)
        res = norm.process_batch(tail)
        assert Counter(d["error_type"] for d in res["dlq.normalize"]) == alone, cut
        events = [
            (c["instrument"], c["event"]) for c in res["md.coverage"] if c["reason"] == "rebalance"
        ]
        gaps = [inst for inst, event in events if event == "GAP"]
        assert len(gaps) == len(set(gaps)), cut
        for inst, event in events:
            if event == "RESYNC":
                assert inst in gaps, cut
                closed += 1
    assert closed > 0  # the recovery path ran for this venue


def test_connections_bounded_over_many_reconnects_a_live_connection_is_kept() -> None:
    norm = Normalizer(connections_cap=8)
    norm.load_markets("binance", [_binance_markets()])
    norm.handover("binance")
    norm.process(_ws("binance", {"result": None, "id": 0}, 0, conn="live"))  # seen from start
    for i in range(1, 2_000):
        ack = {"result": None, "id": i}
        out = norm.process_batch(
            [_ws("binance", ack, 0, conn=f"gone-{i}"), _ws("binance", ack, i, conn="live")]
        )
        assert out["dlq.normalize"] == []
        assert len(norm._joined_midway) <= 16
    res = norm.process(_ws("binance", _depth(10, 11), 2_000, conn="live"))
    assert [c["reason"] for c in res["md.coverage"]] == ["waiting_for_snapshot"]  # not rebalance


def _by_connection(frames: list[dict[str, Any]]) -> list[InMsg]:
    """``frames`` as a lone worker's md.raw messages: one partition per connection (the
    markets connections first, partition 0 and 1), offsets per partition."""
    conns = sorted({(f["symbol"] is not None, f["connection_id"]) for f in frames})
    partition = {c: i for i, (_, c) in enumerate(conns)}
    offsets: Counter[int] = Counter()
    out = []
    for f in frames:
        p = partition[f["connection_id"]]
        out.append(InMsg(p, offsets[p], CODEC.key("md.raw", f), CODEC.encode("md.raw", f)))
        offsets[p] += 1
    return out


def test_a_lone_worker_meeting_websocket_frames_before_the_market_frames_loses_none() -> None:
    """A lone worker at a group's start: its first batch holds the instrument partitions'
    frames, the markets partitions come in the next batch, and md.markets is empty (nobody
    else can publish them). It finds the market frames ahead of it on md.raw (the
    ``raw_markets_reader`` peek) instead of waiting and dead-lettering them as NoMarkets."""
    msgs = _by_connection(SIM)
    markets_first = [m for m in msgs if m.partition in (0, 1)]
    data_first = [m for m in msgs if m.partition not in (0, 1)]
    assert len(markets_first) == 2  # one market REST frame per venue
    ahead = [f for f in SIM if f["transport"] == "REST"]  # what md.raw holds, unprocessed
    peeks: list[set[str]] = []
    sleeps: list[float] = []

    def peek(venues: Any) -> list[dict[str, Any]]:
        peeks.append(set(venues))
        return [f for f in ahead if f["venue"] in venues]

    def run(raw_markets_reader: Any) -> list[OutMsg]:
        stage = NormalizeStage(
            CODEC,
            markets_reader=list,  # md.markets: empty
            raw_markets_reader=raw_markets_reader,
            markets_wait_s=1.0,
            sleep=sleeps.append,
        )
        return stage.process(data_first) + stage.process(markets_first)

    out = run(peek)
    assert _out(out, "dlq.normalize") == []
    assert peeks == [{"binance", "okx"}]  # once, at the first miss, after md.markets
    assert sleeps == []  # found at once: no wait for another worker
    full = Normalizer().process_batch(SIM)
    key = ("venue", "instrument", "trade_id")
    got = sorted(tuple(t[k] for k in key) for t in _out(out, "md.trades"))
    assert got == sorted(tuple(t[k] for k in key) for t in full["md.trades"])
    # the market frames are still re-published when their own batch is processed
    assert sorted(v for t, _, v, _ in out if t == "md.markets") == sorted(
        m.value or b"" for m in markets_first
    )

    # without the peek (as before): a wait, then every frame of the first batch is lost
    blind = run(None)
    dead = Counter(d["error_type"] for d in _out(blind, "dlq.normalize"))
    assert dead == {"NoMarkets": len(data_first)}  # the books' REST snapshots included
    assert sleeps == [0.25] * 4
