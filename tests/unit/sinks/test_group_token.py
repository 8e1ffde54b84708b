"""The token of one INSERT covering several partitions' chunks: a pure function of the
offset ranges (same ranges, same token, in any order), and a single chunk keeps its own."""

from __future__ import annotations

from tapewire.sinks.clickhouse.batch import Chunk, group_token


def _chunk(partition: int, first: int, last: int, topic: str = "md.trades") -> Chunk:
    return Chunk("trades", topic, partition, first, last)


def test_one_chunk_keeps_its_token() -> None:
    chunk = _chunk(2, 10, 19)
    assert group_token([chunk]) == chunk.token == "tapewire-sink:trades:md.trades:2:10-19"


def test_several_chunks_name_every_range_in_partition_order() -> None:
    chunks = [_chunk(3, 5, 9), _chunk(0, 100, 140), _chunk(1, 7, 7)]
    token = group_token(chunks)
    assert token == "tapewire-sink:trades:md.trades:0:100-140,1:7-7,3:5-9"
    assert group_token(list(reversed(chunks))) == token


def test_any_other_cut_gives_another_token() -> None:
    token = group_token([_chunk(0, 0, 9), _chunk(1, 0, 9)])
    assert group_token([_chunk(0, 0, 9), _chunk(1, 0, 8)]) != token
    assert group_token([_chunk(0, 0, 9)]) != token
    assert group_token([_chunk(0, 0, 9), _chunk(1, 0, 9), _chunk(2, 0, 0)]) != token


def test_many_partitions_are_hashed_deterministically() -> None:
    chunks = [_chunk(p, 1_000_000 * p, 1_000_000 * p + 999) for p in range(64)]
    token = group_token(chunks)
    assert len(token) < 100
    assert token == group_token(chunks[::-1])
    assert token != group_token(chunks[:-1])
