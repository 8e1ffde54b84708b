"""The normalize stage's two paths give the same outputs and state: a batch of one
partition and one venue without REST frames runs in one step, any other batch (REST
frames, several venues or partitions, a dead letter, a revoked partition) frame by frame.
And the emitter's batch emit gives what one-by-one emits give, whatever the records."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tapewire.core.kafka import MAX_MESSAGE_BYTES
from tapewire.schemas.codec import Codec
from tapewire.streams.normalize import Normalizer
from tapewire.streams.normalize.normalizer import TRADES
from tapewire.streams.stages.base import Emitter, InMsg, OutMsg
from tapewire.streams.stages.normalize import NormalizeStage
from tapewire.testing.frames import read_frames
from tests.hotpath_cases import frames

CODEC = Codec()
TIME_FIELDS = frozenset(("process_ts_ns", "failed_ts_ns"))
REAL = Path(__file__).resolve().parents[3] / "data" / "real"


def _by_topic(out: list[OutMsg]) -> dict[str, list[tuple[bytes | None, Any]]]:
    """Per topic, in order: key and the decoded value without the stage's own times."""
    topics: dict[str, list[tuple[bytes | None, Any]]] = {}
    for topic, key, value, _ in out:
        record = CODEC.decode(topic, value)
        comparable = {k: v for k, v in record.items() if k not in TIME_FIELDS}
        topics.setdefault(topic, []).append((key, comparable))
    return topics


def _state(stage: NormalizeStage) -> tuple[Any, ...]:
    return (
        stage._next_offset,
        stage._midway,
        stage._venues,
        stage.handovers,
        stage._revoked,
        sorted(stage.normalizers),
    )


@pytest.mark.parametrize("cuts", [(), (20, 150, 151)], ids=["one batch", "four batches"])
def test_one_message_batches_give_what_larger_mixed_batches_give(cuts: tuple[int, ...]) -> None:
    """Two venues interleaved on one partition, their market REST frames, a tombstone; in
    one batch, or cut in batches of which two have several venues and no REST frame."""
    simulated = frames(300)
    tombstone = InMsg(None, None, b"binance:c", None)
    mixed = [
        InMsg(2, 5 + i, m.key, m.value)  # from offset 5: joined mid-way
        for i, m in enumerate([*simulated[:150], tombstone, *simulated[150:]])
    ]
    whole, single = NormalizeStage(CODEC), NormalizeStage(CODEC)
    for stage in (whole, single):
        stage.partitions_revoked({2})  # revoked before it is first seen: no effect either way
    bounds = [0, *cuts, len(mixed)]
    got_whole = [out for a, b in itertools.pairwise(bounds) for out in whole.process(mixed[a:b])]
    got_single = [out for msg in mixed for out in single.process([msg])]
    assert _by_topic(got_whole) == _by_topic(got_single)
    assert {"md.trades", "md.book", "md.quotes", "md.markets", "dlq.normalize"} <= set(
        _by_topic(got_whole)
    )
    assert _state(whole) == _state(single)
    assert whole.handovers == [(2, "binance"), (2, "okx")]  # joined mid-way, at offset 5


def test_a_revoked_partition_back_elsewhere_is_handed_over_on_both_paths() -> None:
    msgs = [InMsg(0, i, m.key, m.value) for i, m in enumerate(frames(400))]
    whole, single = NormalizeStage(CODEC), NormalizeStage(CODEC)
    whole.process(msgs[:200])
    for msg in msgs[:200]:
        single.process([msg])
    # processed elsewhere meanwhile: back at a later offset than expected
    later = [InMsg(0, 1_000 + i, m.key, m.value) for i, m in enumerate(msgs[200:])]
    for stage in (whole, single):
        stage.partitions_revoked({0})
    got_whole = whole.process(later)
    got_single = [out for msg in later for out in single.process([msg])]
    assert _by_topic(got_whole) == _by_topic(got_single)
    assert _state(whole) == _state(single)
    assert whole.handovers


def test_a_one_venue_batch_in_one_step_equals_the_core() -> None:
    recorded = read_frames(REAL / "binance" / "frames.jsonl", "binance")
    head = [f for f in recorded if f["transport"] == "REST"]
    rest = [f for f in recorded if f["transport"] != "REST"]
    assert head
    assert rest
    stage = NormalizeStage(CODEC, republish_markets=False)
    stage.process([InMsg(1, i, None, CODEC.encode("md.raw", f)) for i, f in enumerate(head)])
    msgs = [InMsg(1, len(head) + i, None, CODEC.encode("md.raw", f)) for i, f in enumerate(rest)]
    got = _by_topic(stage.process(msgs))
    core = Normalizer()
    core.process_batch(head)
    expected = core.process_batch(rest)
    for topic in ("md.trades", "md.book"):
        assert expected.records[topic]
        assert got[topic] == [
            (
                CODEC.key(topic, r),
                {
                    k: v
                    for k, v in CODEC.decode(topic, CODEC.encode(topic, r)).items()
                    if k not in TIME_FIELDS
                },
            )
            for r in expected.records[topic]
        ]
    assert stage._next_offset == {1: len(head) + len(rest)}


def test_batch_emit_equals_one_by_one_with_bad_untyped_and_too_large_records() -> None:
    norm = Normalizer()
    records: list[Any] = norm.process_batch(
        read_frames(REAL / "okx" / "frames.jsonl", "okx")
    ).records[TRADES]
    assert len(records) > 3
    bad = records[0].replace(price=Decimal("NaN"))
    huge = records[1].replace(trade_id="x" * MAX_MESSAGE_BYTES)
    untyped = CODEC.decode(TRADES, CODEC.encode(TRADES, records[2]))
    mixed = [records[0], bad, *records[1:3], huge, untyped, *records[3:]]
    one, many = (Emitter(CODEC, "normalize", "x.{}".format, "dlq.normalize") for _ in "ab")
    for record in mixed:
        one.emit(TRADES, record)
    many.emit_many(TRADES, mixed)
    got, expected = many.take(), one.take()
    assert [(m.topic, m.key) for m in got] == [(m.topic, m.key) for m in expected]
    assert [m.record for m in got] == [m.record for m in expected]
    dead = [CODEC.decode("dlq.normalize", m.value) for m in got if m.topic == "x.dlq.normalize"]
    assert [d["error_type"] for d in dead] == ["EncodeError", "RecordTooLarge"]
    assert [m.value for m in got if m.topic == "x.md.trades"] == [
        m.value for m in expected if m.topic == "x.md.trades"
    ]
    many.emit_many(TRADES, records)
    assert many.take() == [
        (
            "x.md.trades",
            CODEC.key(TRADES, r),
            CODEC.encode(TRADES, r),
            r,
        )
        for r in records
    ]


@pytest.mark.parametrize("venue", ["binance", "okx"])
def test_stage_outputs_are_fastavros_bytes_on_recorded_books(venue: str) -> None:
    """Every message the stage writes from recorded book and trade frames is, byte for
    byte, what fastavro writes for its record (the generated writer's remembered decimals
    warm on the second stage, which shares the codec)."""
    recorded = read_frames(REAL / venue / "frames.jsonl", venue)
    msgs = [InMsg(1, i, None, CODEC.encode("md.raw", f)) for i, f in enumerate(recorded)]
    slow = Codec(compiled=False)
    counted: dict[str, int] = {}
    for _ in range(2):
        stage = NormalizeStage(CODEC, republish_markets=False)
        for topic, key, value, record in stage.process(msgs):
            if topic in ("md.book", "md.trades"):
                assert record is not None
                assert value == slow.encode(topic, record)
                assert key == slow.key(topic, record)
                counted[topic] = counted.get(topic, 0) + 1
    assert counted["md.book"] > 100
    assert counted["md.trades"] > 0
