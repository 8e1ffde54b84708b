"""Simulator output as ``md.raw`` RawFrame records: to capture files or straight to Kafka.

A simulated run looks to the normalizer like a capture: one connection per venue and
instrument (its websocket frames and its REST book snapshots, as a connector subscribed one
instrument per connection would see them) plus one per venue for market metadata, a
per-connection sequence from 0, the simulator's receive clock as ``receive_ts_ns``, REST
bodies with the full URL a connector would have requested. md.raw is keyed by
``venue:connection_id``, so a run spreads over partitions by instrument.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from tapewire.connectors.capture.format import CaptureWriter
from tapewire.connectors.markets import MARKETS_TOPIC, is_venue_metadata
from tapewire.connectors.simulator import MarketSimulator, SimConfig, SimFrame
from tapewire.runtime.kafka_io import Record, produce_all
from tapewire.schemas.codec import Codec

REST_HOSTS = {"binance": "https://api.binance.com", "okx": "https://www.okx.com"}
"""Scheme and host each simulated venue's REST paths are served from."""


def raw_frames(frames: Iterable[SimFrame], connection: str = "sim-1") -> Iterator[dict[str, Any]]:
    """RawFrame records (``origin = SIMULATOR``) for ``frames``, in order."""
    sequences: dict[str, int] = {}
    for frame in frames:
        venue = frame.venue
        symbol = frame.native_symbol
        conn_id = f"{venue}-{connection}" if symbol is None else f"{venue}-{connection}-{symbol}"
        sequence = sequences.get(conn_id, 0)
        sequences[conn_id] = sequence + 1
        rest = frame.url_path is not None
        ts = frame.sim_ts_ns
        yield {
            "venue": venue,
            "connection_id": conn_id,
            "sequence": sequence,
            "transport": "REST" if rest else "WEBSOCKET",
            "origin": "SIMULATOR",
            "channel": frame.channel,
            "symbol": symbol,
            "payload": frame.payload,
            "binary": False,
            "receive_ts_ns": ts,
            "request_ts_ns": ts if rest else None,
            "rest_url": f"{REST_HOSTS.get(venue, 'https://' + venue)}{frame.url_path}"
            if rest
            else None,
            "rest_status": 200 if rest else None,
        }


def publish_raw(
    bootstrap: str,
    topic: str,
    records: Iterable[dict[str, Any]],
    codec: Codec,
    *,
    markets_topic: str | None = None,
) -> list[Record]:
    """Encode RawFrames and produce them to ``topic`` keyed by ``venue:connection_id``
    (idempotent, acks=all); with ``markets_topic``, the venue-wide REST frames first go
    there too (as a connector publishes them, :mod:`tapewire.connectors.markets`)."""
    encode = codec.for_topic("md.raw").encode
    records = list(records)
    if markets_topic is not None:
        metadata = [r for r in records if is_venue_metadata(r)]
        produce_all(
            bootstrap, markets_topic, [(codec.key(MARKETS_TOPIC, r), encode(r)) for r in metadata]
        )
    items = [(codec.key("md.raw", r), encode(r)) for r in records]
    return produce_all(bootstrap, topic, items)


def simulator_records(config: SimConfig) -> Iterator[dict[str, Any]]:
    """RawFrames (``origin=SIMULATOR``) of a simulator run, exactly as the demo publishes
    them (:func:`raw_frames`)."""
    return raw_frames(MarketSimulator(config).frames())


def simulator_capture(path: Path, config: SimConfig) -> int:
    """Write a simulator run to a capture file; returns the number of frames."""
    with CaptureWriter(path, source=f"simulator:seed={config.seed}") as writer:
        for record in simulator_records(config):
            writer(record)
        return writer.count
