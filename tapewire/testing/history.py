"""Stored market history for tests and benchmarks: the seeded simulator, normalized
offline, written straight into the md tables (``trades``, ``book_updates``, ``quotes``).

    stats = store_simulated_history(client, frames=3_000, seed=7)

No Kafka: the RawFrames go through the same :class:`~tapewire.streams.normalize.Normalizer`
as the live ``normalize`` stage, and each record becomes the row the sink would write
(:data:`tapewire.sinks.clickhouse.rows.MAPPINGS`), with a synthetic provenance
(topic, partition 0, the record's index as offset). Same seed and frames, same rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from clickhouse_connect.driver.client import Client

from tapewire.connectors.capture.simulated import raw_frames
from tapewire.connectors.simulator import MarketSimulator, SimConfig
from tapewire.core.records import TypedRecord
from tapewire.sinks.clickhouse.rows import MAPPINGS
from tapewire.streams.normalize import Normalizer

STORED_TOPICS = ("md.trades", "md.book", "md.quotes")
"""The normalized topics a backtest replays."""
CHUNK = 20_000
"""Rows per insert."""


@dataclass
class HistoryStats:
    """What was stored: rows per topic and the receive-time span."""

    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STORED_TOPICS, 0))
    first_ns: int | None = None
    last_ns: int | None = None

    @property
    def events(self) -> int:
        """Market events stored (every row of the three tables)."""
        return sum(self.rows.values())


def simulated_frames(
    *, frames: int = 3_000, seed: int = 7, spread_ticks: int = 100, rate: int = 2_000
) -> Iterator[dict[str, Any]]:
    """The RawFrame records of the demo's market: the simulator's default venues (binance,
    and okx quoted 0.5 bp above it) and ``spread_ticks`` wide quotes (an uncrossed NBBO)."""
    sim = MarketSimulator(
        SimConfig(
            seed=seed,
            n_frames=frames,
            spread_ticks=spread_ticks,
            rate=rate,
            ground_truth=False,
        )
    )
    return raw_frames(sim.frames())


def simulated_records(
    *, frames: int = 3_000, seed: int = 7, spread_ticks: int = 100, rate: int = 2_000
) -> Iterator[tuple[str, TypedRecord]]:
    """(topic, record) of the md topics a backtest replays from :func:`simulated_frames`,
    normalized, in the normalizer's emission order."""
    normalizer = Normalizer()
    for frame in simulated_frames(frames=frames, seed=seed, spread_ticks=spread_ticks, rate=rate):
        result = normalizer.process(frame)
        for topic in STORED_TOPICS:
            for record in result.records[topic]:
                yield topic, record


def store_simulated_history(
    client: Client,
    *,
    frames: int = 3_000,
    seed: int = 7,
    spread_ticks: int = 100,
    rate: int = 2_000,
) -> HistoryStats:
    """Insert the md rows of :func:`simulated_records` into ``client``'s database
    (migrated); each topic's records numbered from 0 as Kafka offsets of partition 0."""
    stats = HistoryStats()
    pending: dict[str, list[tuple[Any, ...]]] = {t: [] for t in STORED_TOPICS}
    records = simulated_records(frames=frames, seed=seed, spread_ticks=spread_ticks, rate=rate)
    for topic, record in records:
        rows = pending[topic]
        rows.append(MAPPINGS[topic].row(record, topic, 0, stats.rows[topic]))
        stats.rows[topic] += 1
        ts = int(record["receive_ts_ns"])
        stats.first_ns = ts if stats.first_ns is None else min(stats.first_ns, ts)
        stats.last_ns = ts if stats.last_ns is None else max(stats.last_ns, ts)
        if len(rows) >= CHUNK:
            _insert(client, topic, rows)
    for topic, rows in pending.items():
        _insert(client, topic, rows)
    return stats


def _insert(client: Client, topic: str, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        mapping = MAPPINGS[topic]
        client.insert(mapping.table, rows, column_names=list(mapping.columns))
        rows.clear()
