"""Turn market-simulator output into capture files (for the demo and the benchmarks)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from connectors.capture.format import CaptureWriter
from connectors.simulator import MarketSimulator, SimConfig


def simulator_records(config: SimConfig) -> Iterator[dict[str, Any]]:
    """RawFrames (``origin=SIMULATOR``) of a simulator run, exactly as the demo publishes
    them (:func:`streams.wiring.simulated.raw_frames`)."""
    from streams.wiring.simulated import raw_frames

    return raw_frames(MarketSimulator(config).frames())


def simulator_capture(path: Path, config: SimConfig) -> int:
    """Write a simulator run to a capture file; returns the number of frames."""
    with CaptureWriter(path, source=f"simulator:seed={config.seed}") as writer:
        for record in simulator_records(config):
            writer(record)
        return writer.count
