"""Offline normalization: capture or frame files -> one file per output topic + a summary.

    summary = normalize_files([Path("capture.jsonl.gz")], Path("out"), fmt="parquet")

No Kafka: the frames go through the same pure :class:`~tapewire.streams.normalize.Normalizer`
as the live ``normalize`` stage (``tapewire normalize``, docs/offline.md).
"""

from tapewire.offline.run import normalize_files
from tapewire.offline.sources import FrameSource, OfflineInputError, detect_source
from tapewire.offline.topic_files import FORMATS, RECORD_TYPES

__all__ = [
    "FORMATS",
    "RECORD_TYPES",
    "FrameSource",
    "OfflineInputError",
    "detect_source",
    "normalize_files",
]
