"""Capture files of RawFrames: record, read, replay, and build from the simulator.

    with CaptureWriter(path, source="live:binance") as writer:
        writer(record)                        # a FrameSink
    for record in read_capture(path): ...
    replay_capture(path, sink, speed=10.0)    # None = as fast as allowed

Format (docs/connectors.md): gzip-compressed JSON lines; line 1 is a header.

Part of the connectors shell (see :mod:`tapewire.connectors` for what it may import).
"""

from tapewire.connectors.capture.format import (
    FORMAT,
    VERSION,
    CaptureHeader,
    CaptureWriter,
    read_capture,
    read_header,
    record_from_json,
    record_to_json,
)
from tapewire.connectors.capture.replay import ReplayStats, parse_speed, replay_capture
from tapewire.connectors.capture.simulated import (
    publish_raw,
    raw_frames,
    simulator_capture,
    simulator_records,
)

__all__ = [
    "FORMAT",
    "VERSION",
    "CaptureHeader",
    "CaptureWriter",
    "ReplayStats",
    "parse_speed",
    "publish_raw",
    "raw_frames",
    "read_capture",
    "read_header",
    "record_from_json",
    "record_to_json",
    "replay_capture",
    "simulator_capture",
    "simulator_records",
]
