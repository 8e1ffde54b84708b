"""The fused hot path: market frame to venue order in one process (``docs/hot-path.md``).

The confluent-kafka shell: runs the Kafka-free stages of :mod:`tapewire.streams.stages` and
:mod:`tapewire.streams.router` as one graph of function calls.

May import: the stages, the router, the domain cores, :mod:`tapewire.runtime`,
:mod:`tapewire.schemas`, :mod:`tapewire.core`. Not Faust, not the other shells.
"""

from tapewire.streams.hotpath.graph import Node, StageGraph, multi_topic, single_topic
from tapewire.streams.hotpath.worker import (
    DEFAULT_STAGES,
    HOTPATH_STAGES,
    HotPath,
    HotPathStats,
    HotPathWorker,
    build_hot_path,
    run_hot_path,
)

__all__ = [
    "DEFAULT_STAGES",
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
