"""Row mapping and deterministic chunking/tokens of the ClickHouse sink (no I/O)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tapewire.core.errors import SchemaError
from tapewire.schemas.codec import Codec
from tapewire.sinks.clickhouse.batch import Batcher, Chunk
from tapewire.sinks.clickhouse.rows import MAPPINGS, mapping_for_topic
from tests.factories.market import trade

TRADE = trade(
    "0.00000812",
    "1.5",
    side="SELL",
    trade_id="42",
    ts=1_700_000_000_123_456_789,
    exchange_ts_ns=None,
    process_ts_ns=1_700_000_000_223_456_789,
)


def test_trade_row_is_exact_and_carries_provenance() -> None:
    codec = Codec()
    record = codec.decode("md.trades", codec.encode("md.trades", TRADE))
    mapping = mapping_for_topic("md.trades")
    row = mapping.row(record, "md.trades", 2, 77)
    values = dict(zip(mapping.columns, row, strict=True))
    assert values["price"] == Decimal("0.00000812")
    assert values["side"] == "sell"
    # no venue time: the receive time stands in (trades.exchange_ts is in the sort key)
    assert values["exchange_ts"] == values["receive_ts"] == 1_700_000_000_123_456_789
    assert (values["kafka_topic"], values["kafka_partition"], values["kafka_offset"]) == (
        "md.trades",
        2,
        77,
    )


def test_every_mapping_has_provenance_last_and_families_resolve() -> None:
    for mapping in MAPPINGS.values():
        assert mapping.columns[-3:] == ("kafka_topic", "kafka_partition", "kafka_offset")
    assert mapping_for_topic("md.bars.1m").table == "bars"
    assert mapping_for_topic("dlq.normalize").table == "dead_letters"
    assert mapping_for_topic("oms.fills").table == "fills"
    with pytest.raises(SchemaError, match="no table for topic"):
        mapping_for_topic("md.unknown")


def _chunks(offsets: list[int], grid: int, drain_after: set[int]) -> list[Chunk]:
    batcher = Batcher(grid)
    out: list[Chunk] = []
    for offset in offsets:
        closed = batcher.add("trades", "md.trades", 0, offset, (offset,))
        if closed is not None:
            out.append(closed)
        if offset in drain_after:
            out.extend(batcher.drain())
    return out + batcher.drain()


@settings(deadline=None, max_examples=60)
@given(
    start=st.integers(0, 5_000),
    length=st.integers(1, 3_000),
    grid=st.integers(1, 700),
)
def test_chunks_close_on_the_grid_and_cover_every_offset_once(
    start: int, length: int, grid: int
) -> None:
    offsets = list(range(start, start + length))
    chunks = _chunks(offsets, grid, set())
    covered = [row[0] for chunk in chunks for row in chunk.rows]
    assert covered == offsets
    for chunk in chunks[:-1]:
        assert chunk.next_offset % grid == 0
    # A restart from any committed chunk boundary re-cuts the same chunks, same tokens.
    for k, chunk in list(enumerate(chunks))[:4]:
        again = _chunks(list(range(chunk.first_offset, start + length)), grid, set())
        assert [c.token for c in again] == [c.token for c in chunks[k:]]


def test_token_names_table_topic_partition_and_offsets() -> None:
    (chunk,) = _chunks(list(range(10, 20)), 1000, set())
    assert chunk.token == "tapewire-sink:trades:md.trades:0:10-19"
    dead_lettered = Batcher(10)
    assert dead_lettered.add("trades", "md.trades", 0, 8, None) is None
    closed = dead_lettered.add("trades", "md.trades", 0, 9, None)
    assert closed is not None
    assert (closed.rows, closed.first_offset, closed.next_offset) == ([], 8, 10)
