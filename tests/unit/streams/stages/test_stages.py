"""The agents' pure shells (stages): decode, core, encode, dead letters; no Kafka."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from decimal import Decimal

from tapewire.connectors.capture.simulated import raw_frames
from tapewire.connectors.simulator import MarketSimulator, SimConfig
from tapewire.core.records import Record
from tapewire.records.market import Trade
from tapewire.schemas.codec import Codec
from tapewire.streams.aggregate import DepthConfig
from tapewire.streams.normalize import Normalizer
from tapewire.streams.stages.bars import BarsStage
from tapewire.streams.stages.base import InMsg
from tapewire.streams.stages.depth import DepthStage, depth_rekey
from tapewire.streams.stages.nbbo import NbboStage, RekeyStage
from tapewire.streams.stages.normalize import NormalizeStage
from tests.factories.market import book, quote, trade

CODEC = Codec()
T0 = 1_704_067_200_000_000_000


def _msgs(topic: str, records: Sequence[Record]) -> list[InMsg]:
    return [InMsg(0, i, CODEC.key(topic, r), CODEC.encode(topic, r)) for i, r in enumerate(records)]


def test_normalize_stage_emits_what_the_core_emits_and_dead_letters_bad_bytes() -> None:
    frames = list(raw_frames(MarketSimulator(SimConfig(seed=3, n_frames=2000)).frames()))
    msgs = _msgs("md.raw", frames)
    msgs.insert(5, InMsg(0, 99, b"binance", b"\x00garbage"))
    stage = NormalizeStage(CODEC, lambda t: f"p.{t}")
    out = stage.process(msgs[:1000]) + stage.process(msgs[1000:])
    expected = Normalizer().process_batch(frames)
    counts = Counter(topic for topic, _, _, _ in out)
    assert counts["p.md.trades"] == len(expected["md.trades"]) > 0
    assert counts["p.md.book"] == len(expected["md.book"]) > 0
    assert counts["p.md.quotes"] == len(expected["md.quotes"]) > 0
    assert counts["p.dlq.normalize"] == 1
    (dead,) = [CODEC.decode("dlq.normalize", v) for t, _, v, _ in out if t == "p.dlq.normalize"]
    assert dead["error_type"] == "DecodeError"
    assert dead["payload"] == b"\x00garbage"
    assert dead["source_offset"] == 99
    trades = [CODEC.decode("md.trades", v) for t, _, v, _ in out if t == "p.md.trades"]
    assert [t["trade_id"] for t in trades] == [t["trade_id"] for t in expected["md.trades"]]


def _trade(n: int, ts_s: float) -> Trade:
    """Trade ``n`` of 1 at 100, ``ts_s`` seconds after T0."""
    return trade(trade_id=str(n), ts=T0 + int(ts_s * 1e9), process_ts_ns=T0)


def test_bars_stage_closes_bars_and_dead_letters_late_trades() -> None:
    stage = BarsStage(CODEC)
    out = stage.process(_msgs("md.trades", [_trade(1, 0.1), _trade(2, 3.5), _trade(3, 0.2)]))
    topics = [t for t, _, _, _ in out]
    assert topics == ["md.bars.1s", "dlq.aggregate"]
    bar = CODEC.decode("md.bars.1s", out[0][2])
    assert (bar["start_ts_ns"], bar["trade_count"], bar["close"]) == (T0, 1, Decimal(100))
    dead = CODEC.decode("dlq.aggregate", out[1][2])
    assert (dead["error_type"], dead["source_offset"], dead["stage"]) == ("late", 2, "bars")


def test_rekey_and_nbbo_stages() -> None:
    quotes = [
        quote("binance", "100", "101", ts=T0 + 1, exchange_ts_ns=None, process_ts_ns=T0),
        quote("okx", "100.5", "102", ts=T0 + 2, exchange_ts_ns=None, process_ts_ns=T0),
    ]
    msgs = [*_msgs("md.quotes", quotes), InMsg(0, 7, b"x:NOT-AN-ID", b"v")]
    rekeyed = RekeyStage(CODEC).process(msgs)
    assert [(t, k) for t, k, _, _ in rekeyed[:2]] == [
        ("md.quotes.by-consolidated", b"BTC-USDT-SPOT")
    ] * 2
    assert rekeyed[2][0] == "dlq.aggregate"
    nbbo = NbboStage(CODEC).process(
        [InMsg(0, i, m.key, m.value) for i, m in enumerate(rekeyed[:2])]
    )
    last = CODEC.decode("md.nbbo", nbbo[-1][2])
    assert (last["bid_venue"], last["bid_price"], last["ask_venue"]) == (
        "okx",
        Decimal("100.5"),
        "binance",
    )
    assert nbbo[-1][1] == b"BTC-USDT-SPOT"


def test_depth_rekey_and_depth_stages_publish_one_snapshot_per_id_per_batch() -> None:
    books = [
        book("binance", [("100", "1")], [("101", "1")], ts=T0 + 1),
        book("okx", [("100.5", "2")], [("101.5", "2")], ts=T0 + 2),
        book("okx", [("100.5", "1")], [], kind="DELTA", ts=T0 + 3),
    ]
    msgs = [*_msgs("md.book", books), InMsg(0, 9, b"x:NOT-AN-ID", b"v")]
    rekeyed = depth_rekey(CODEC).process(msgs)
    assert [(t, k) for t, k, _, _ in rekeyed[:3]] == [
        ("md.book.by-consolidated", b"BTC-USDT-SPOT")
    ] * 3
    assert rekeyed[3][0] == "dlq.aggregate"
    stage = DepthStage(
        CODEC, config=DepthConfig(levels=5, taker_fee_bps={"okx": Decimal(10)}, interval_ns=0)
    )
    moved = [InMsg(0, i, m.key, m.value) for i, m in enumerate(rekeyed[:3])]
    out = stage.process([*moved, InMsg(0, 5, b"BTC-USDT-SPOT", b"\x00bad")])
    assert [t for t, _, _, _ in out] == ["dlq.aggregate", "md.depth"]  # conflated per batch
    depth = CODEC.decode("md.depth", out[1][2])
    assert out[1][1] == b"BTC-USDT-SPOT"
    assert [(x["venue"], x["size"]) for x in depth["bids"]] == [
        ("okx", Decimal(1)),  # 100.5 x (1 - 10 bp) = 100.3995 beats binance's 100
        ("binance", Decimal(1)),
    ]
    assert depth["bids"][0]["effective_price"] == Decimal("100.3995")
    assert stage.process(moved[2:]) == []  # the same levels again: nothing new


def test_a_market_rest_frame_too_large_to_republish_is_a_dead_letter_not_a_failed_produce() -> None:
    records = list(raw_frames(MarketSimulator(SimConfig(seed=1, n_frames=20)).frames()))
    rest = next(r for r in records if r["transport"] == "REST")
    # its size is what matters here (a valid market body: trailing blanks are still JSON)
    huge = rest | {"payload": rest["payload"] + b" " * (999_846 - len(rest["payload"]))}
    out = NormalizeStage(CODEC).process(_msgs("md.raw", [huge]))
    assert all(len(value) + len(key or b"") <= 950_000 for _, key, value, _ in out)
    assert not [t for t, _, _, _ in out if t == "md.markets"]
    dead = [CODEC.decode("dlq.normalize", v) for t, _, v, _ in out if t == "dlq.normalize"]
    too_large = [d for d in dead if d["error_type"] == "RecordTooLarge"]
    assert [d["source_topic"] for d in too_large] == ["md.markets"]
    assert too_large[0]["labels"]["payload_truncated"] == "true"


def test_nbbo_stage_batch_is_its_messages_one_by_one_rejects_in_place() -> None:
    quotes = [
        quote("binance", "100", "101", ts=T0 + 2, exchange_ts_ns=None, process_ts_ns=T0),
        quote("okx", "100.5", "102", ts=T0 + 3, exchange_ts_ns=None, process_ts_ns=T0),
        quote("binance", "99", "101", ts=T0 + 1, exchange_ts_ns=None, process_ts_ns=T0),  # late
        quote("okx", "100.7", "102", ts=T0 + 4, exchange_ts_ns=None, process_ts_ns=T0),
    ]
    msgs = [
        InMsg(0, i, b"BTC-USDT-SPOT", m.value) for i, m in enumerate(_msgs("md.quotes", quotes))
    ]
    batched = NbboStage(CODEC).process(msgs)
    alone = NbboStage(CODEC)
    one_by_one = [out for msg in msgs for out in alone.process([msg])]
    assert [t for t, _, _, _ in batched] == ["md.nbbo", "md.nbbo", "dlq.aggregate", "md.nbbo"]
    assert [(t, k) for t, k, _, _ in batched] == [(t, k) for t, k, _, _ in one_by_one]
    strip = {"process_ts_ns", "failed_ts_ns"}
    assert [
        {f: v for f, v in CODEC.decode(t, value).items() if f not in strip}
        for t, _, value, _ in batched
    ] == [
        {f: v for f, v in CODEC.decode(t, value).items() if f not in strip}
        for t, _, value, _ in one_by_one
    ]
