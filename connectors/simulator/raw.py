"""Simulator frames as ``md.raw`` RawFrame records, exactly as a live connector would publish."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from connectors.simulator.frames import SimFrame

_REST_CHANNELS = frozenset({"rest_snapshot", "rest_markets"})


def raw_frame_record(frame: SimFrame, *, sequence: int, connection_id: str) -> dict[str, Any]:
    """One RawFrame record for ``frame``; ``receive_ts_ns`` is the simulator's clock."""
    rest = frame.channel in _REST_CHANNELS
    return {
        "venue": frame.venue,
        "connection_id": connection_id,
        "sequence": sequence,
        "transport": "REST" if rest else "WEBSOCKET",
        "origin": "SIMULATOR",
        "channel": frame.channel,
        "symbol": frame.symbol,
        "payload": frame.payload,
        "binary": False,
        "receive_ts_ns": frame.sim_ts_ns,
        "request_ts_ns": frame.sim_ts_ns if rest else None,
        "rest_url": frame.url_path if rest else None,
        "rest_status": 200 if rest else None,
    }


def raw_frame_records(
    frames: Iterable[SimFrame], *, connection_prefix: str = "sim"
) -> Iterator[dict[str, Any]]:
    """RawFrame records with one simulated connection per venue (websocket) and one per
    venue for REST, each with its own contiguous ``sequence`` from 0."""
    sequences: dict[str, int] = {}
    for frame in frames:
        kind = "rest" if frame.channel in _REST_CHANNELS else "ws"
        connection = f"{connection_prefix}-{frame.venue}-{kind}"
        sequence = sequences.get(connection, 0)
        sequences[connection] = sequence + 1
        yield raw_frame_record(frame, sequence=sequence, connection_id=connection)
