"""Read stored ``raw_frames`` back as RawFrame records, in md.raw order, exactly.

Rows are read ``FINAL`` (a frame the sink stored twice is one frame) in the table's sort
order ``(receive_ts, connection_id, sequence)`` per venue, which is each connection's
sequence order whenever its receive times do not go backwards (the connector stamps them
in order). Pages are keyset-paginated, so memory stays bounded on long ranges. Payloads
come back as the exact bytes; times as integer ns.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from clickhouse_connect.driver.client import Client

__all__ = [
    "StoredFrame",
    "count_frames",
    "iter_frames",
    "market_candidates",
    "venues_in_range",
    "warmup_start_ns",
]

_COLUMNS = (
    "venue, connection_id, sequence, transport, origin, channel, symbol, payload, binary, "
    "toUnixTimestamp64Nano(receive_ts), toUnixTimestamp64Nano(request_ts), rest_url, "
    "rest_status, kafka_partition, kafka_offset"
)
_FORMATS: dict[str, str | dict[str, str]] = {"payload": "bytes"}


def _ns(name: str) -> str:
    """SQL: the Int64 parameter ``name`` (ns) as a DateTime64(9, 'UTC'), exactly."""
    return f"fromUnixTimestamp64Nano({{{name}:Int64}}, 'UTC')"


@dataclass(frozen=True, slots=True)
class StoredFrame:
    """One stored frame: its RawFrame record and where the sink read it (md.raw)."""

    frame: dict[str, Any]
    kafka_partition: int
    kafka_offset: int

    @property
    def receive_ts_ns(self) -> int:
        """The frame's receive time, ns."""
        value: int = self.frame["receive_ts_ns"]
        return value


def _stored(row: Sequence[Any]) -> StoredFrame:
    (venue, connection, sequence, transport, origin, channel, symbol, payload, binary) = row[:9]
    receive_ns, request_ns, url, status, partition, offset = row[9:]
    frame = {
        "venue": venue,
        "connection_id": connection,
        "sequence": int(sequence),
        "transport": transport,
        "origin": origin,
        "channel": channel,
        "symbol": symbol,
        "payload": bytes(payload),
        "binary": bool(binary),
        "receive_ts_ns": int(receive_ns),
        "request_ts_ns": None if request_ns is None else int(request_ns),
        "rest_url": url,
        "rest_status": None if status is None else int(status),
    }
    return StoredFrame(frame, int(partition), int(offset))


def venues_in_range(client: Client, from_ns: int, to_ns: int) -> list[str]:
    """Venues with at least one frame received in ``[from_ns, to_ns)``, sorted."""
    result = client.query(
        f"SELECT DISTINCT venue FROM raw_frames WHERE receive_ts >= {_ns('f')} "
        f"AND receive_ts < {_ns('t')} ORDER BY venue",
        parameters={"f": from_ns, "t": to_ns},
    )
    return [str(row[0]) for row in result.result_rows]


def warmup_start_ns(client: Client, venue: str, from_ns: int, to_ns: int) -> int | None:
    """The first stored receive time of any ``venue`` connection with a frame in the range
    (where processing must start so that books and dedup are in the state they had); None
    when the venue has no frame in the range."""
    result = client.query(
        "SELECT toUnixTimestamp64Nano(min(receive_ts)), count() FROM raw_frames "
        "WHERE venue = {v:String} AND connection_id IN (SELECT connection_id FROM raw_frames "
        f"WHERE venue = {{v:String}} AND receive_ts >= {_ns('f')} AND receive_ts < {_ns('t')})",
        parameters={"v": venue, "f": from_ns, "t": to_ns},
    )
    first, count = result.result_rows[0]
    return int(first) if int(count) else None


def count_frames(client: Client, venue: str, from_ns: int, to_ns: int) -> int:
    """Stored frames of ``venue`` received in ``[from_ns, to_ns)`` (duplicates once)."""
    result = client.query(
        f"SELECT count() FROM raw_frames FINAL WHERE venue = {{v:String}} "
        f"AND receive_ts >= {_ns('f')} AND receive_ts < {_ns('t')}",
        parameters={"v": venue, "f": from_ns, "t": to_ns},
    )
    return int(result.result_rows[0][0])


def market_candidates(client: Client, venue: str, before_ns: int) -> list[StoredFrame]:
    """The latest successful REST frame per URL of ``venue`` received before ``before_ns``,
    oldest first: the candidates for its market metadata (the normalizer picks its own)."""
    result = client.query(
        f"SELECT {_COLUMNS} FROM raw_frames FINAL WHERE venue = {{v:String}} "
        f"AND transport = 'REST' AND rest_url IS NOT NULL AND coalesce(rest_status, 200) = 200 "
        f"AND receive_ts < {_ns('t')} "
        "ORDER BY receive_ts DESC, connection_id DESC, sequence DESC LIMIT 1 BY rest_url",
        parameters={"v": venue, "t": before_ns},
        column_formats=_FORMATS,
    )
    frames = [_stored(row) for row in result.result_rows]
    frames.reverse()
    return frames


def iter_frames(
    client: Client, venue: str, from_ns: int, to_ns: int, *, page: int = 2_000
) -> Iterator[StoredFrame]:
    """``venue``'s stored frames received in ``[from_ns, to_ns)``, in md.raw order."""
    after: tuple[int, str, int] | None = None
    while True:
        where = f"venue = {{v:String}} AND receive_ts >= {_ns('f')} AND receive_ts < {_ns('t')}"
        parameters: dict[str, Any] = {"v": venue, "f": from_ns, "t": to_ns, "n": page}
        if after is not None:
            key = f"({_ns('after_ts')}, {{after_conn:String}}, {{after_seq:Int64}})"
            where += f" AND (receive_ts, connection_id, sequence) > {key}"
            parameters |= {"after_ts": after[0], "after_conn": after[1], "after_seq": after[2]}
        result = client.query(
            f"SELECT {_COLUMNS} FROM raw_frames FINAL WHERE {where} "
            "ORDER BY receive_ts, connection_id, sequence LIMIT {n:UInt32}",
            parameters=parameters,
            column_formats=_FORMATS,
        )
        rows = result.result_rows
        for row in rows:
            yield _stored(row)
        if len(rows) < page:
            return
        last = rows[-1]
        after = (int(last[9]), str(last[1]), int(last[2]))
