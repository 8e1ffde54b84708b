"""The generated codec on real records: what the normalizer makes of recorded Binance and
OKX sessions (trades, book snapshots and deltas, quotes) is written byte for byte as
fastavro writes it, and the stage's batch emit gives the same messages as one-by-one."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tapewire.schemas.codec import Codec
from tapewire.schemas.compiled import compile_writer, write_long
from tapewire.schemas.registry import (
    _KEYS_REMEMBERED,
    TOPICS,
    key_function,
    message_key,
    topic_spec,
)
from tapewire.streams.normalize import Normalizer
from tapewire.streams.normalize.normalizer import BOOK, COVERAGE, QUOTES, TRADES
from tapewire.streams.stages.base import Emitter
from tapewire.testing.frames import read_frames

REAL = Path(__file__).resolve().parents[2] / "data" / "real"


def _records(venue: str) -> dict[str, list[Any]]:
    norm = Normalizer()
    out = norm.process_batch(read_frames(REAL / venue / "frames.jsonl", venue))
    return {topic: out.records[topic] for topic in (TRADES, BOOK, QUOTES, COVERAGE)}


@pytest.mark.parametrize("venue", ["binance", "okx"])
def test_generated_writer_equals_fastavro_on_real_records(venue: str) -> None:
    fast, slow = Codec(), Codec(compiled=False)
    records = _records(venue)
    assert records[TRADES]
    assert records[BOOK]
    written = 0
    for topic, items in records.items():
        writer = fast.for_topic(topic).fast_writer
        assert writer is not None
        for record in items:
            expected = slow.encode(topic, record)
            assert writer(record) == expected  # the generated code itself, no fallback
            assert fast.encode(topic, record) == expected
            assert fast.read(topic, expected) == record
            assert fast.decode(topic, expected) == slow.decode(topic, expected)
            written += 1
    assert written > 100


def test_batch_emit_equals_one_by_one_and_dead_letters_what_does_not_fit() -> None:
    codec = Codec()
    records = _records("binance")[TRADES]
    one, many = (Emitter(codec, "normalize", "x.{}".format, "dlq.normalize") for _ in "ab")
    bad = records[0].replace(price=Decimal("NaN"))
    for record in [*records, bad]:
        one.emit(TRADES, record)
    many.emit_many(TRADES, [*records, bad])
    got, expected = many.take(), one.take()
    assert [m[:3] for m in got[:-1]] == [m[:3] for m in expected[:-1]]
    assert got[-1][:2] == expected[-1][:2] == ("x.dlq.normalize", b"md.trades")  # its time differs
    assert [m.record for m in got[:-1]] == records


def test_decimals_in_every_notation_are_written_as_by_their_ratio() -> None:
    decimal = {"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 18}
    schema = {"type": "record", "name": "D", "fields": [{"name": "d", "type": decimal}]}
    write = compile_writer(schema, b"")
    assert write is not None
    for text in ["16541.12", "-0.00", "1E-8", "8.12E-7", "1.0000000000000000000", "-3", "5E+3"]:
        value = Decimal(text)
        numerator, denominator = value.as_integer_ratio()
        unscaled = numerator * 10**18 // denominator
        size = (unscaled.bit_length() + 8) >> 3
        assert write({"d": value}) == write_long(size) + unscaled.to_bytes(size, "big", signed=True)
    for text in ["NaN", "Infinity", "1.0000000000000000001"]:
        with pytest.raises((ValueError, KeyError, OverflowError)):  # the checked path explains
            write({"d": Decimal(text)})


def test_keys_and_topic_specs_are_looked_up_once_and_still_explain_errors() -> None:
    trade = _records("binance")[TRADES][0]
    key = key_function(TRADES)
    assert key(trade) == message_key(TRADES, trade)
    assert key(dict(trade)) == key(trade)
    assert topic_spec("md.bars.1m") is topic_spec("md.bars.1m")
    assert topic_spec("md.trades") is next(s for s in TOPICS if s.topic == "md.trades")
    with pytest.raises(Exception, match="instrument"):
        key_function(TRADES)({"venue": "binance", "instrument": None})
    with pytest.raises(Exception, match="no schema"):
        topic_spec("md.unknown")


def test_remembered_keys_equal_message_key_and_are_bounded() -> None:
    books = _records("okx")[BOOK]
    key = key_function(BOOK)
    for record in books * 2:  # the second time from what the function remembers
        assert key(record) == message_key(BOOK, record)
    first = books[0]
    many = [first.replace(instrument=f"X{n}-USDT-SPOT") for n in range(_KEYS_REMEMBERED + 5)]
    for record in many:
        assert key(record) == message_key(BOOK, record)
    known = next(
        c.cell_contents for c in key.__closure__ or () if isinstance(c.cell_contents, dict)
    )
    assert 0 < len(known) <= _KEYS_REMEMBERED
    with pytest.raises(Exception, match="instrument"):  # not remembered: still explained
        key(first.replace(instrument=None))
