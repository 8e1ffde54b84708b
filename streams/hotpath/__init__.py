"""The fused hot path: market frame to venue order in one process (``docs/hot-path.md``)."""

from tapewire.streams.hotpath.graph import Node, StageGraph, multi_topic, single_topic
from tapewire.streams.hotpath.worker import (
    HOTPATH_STAGES,
    HotPath,
    HotPathStats,
    HotPathWorker,
    build_hot_path,
    run_hot_path,
)

__all__ = [
    "HOTPATH_STAGES",
    "HotPath",
    "HotPathStats",
    "HotPathWorker",
    "Node",
    "StageGraph",
    "build_hot_path",
    "multi_topic",
    "run_hot_path",
    "single_topic",
]
