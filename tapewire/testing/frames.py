"""Read fixture frame files (JSON lines) into RawFrame records.

The format and the readers live in :mod:`tapewire.connectors.capture.frame_lines` (``tapewire
normalize`` reads these files too); re-exported here for the tests
(``tests/data/frames/<venue>/frames.jsonl``) and ``bench/bench_normalize.py``.
"""

from tapewire.connectors.capture.frame_lines import raw_frame, read_frames

__all__ = ["raw_frame", "read_frames"]
