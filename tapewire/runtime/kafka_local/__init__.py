"""A real Apache Kafka broker (KRaft mode) run from its jars on loopback: 1 node or a cluster.

Every node is a combined broker + controller; the controller quorum is all nodes. Layout of
the working directory (``<data_dir>/kafka`` for the CLI)::

    cluster.json        state while running: pids, ports, bootstrap (read by other processes)
    cluster.id          the cluster id and node count the storage was formatted with
    log4j.properties    broker logging, one file per node under logs/
    logs/node-<i>.log   the broker's log; logs/node-<i>.out its stdout/stderr (JVM errors)
    node-<i>/server.properties, node-<i>/data/   config and log dir (topics and metadata)

Data is kept between runs; remove the directory to start from an empty cluster.

Dev settings chosen here: ``auto.create.topics.enable=false`` (topics are declared with
their partition count on purpose, and a typo in a topic name should fail rather than create
a one-partition topic), internal topics replicated ``min(3, nodes)`` times, few threads and
a ``512m`` heap per node to suit a 2-core machine.

The package's modules: :mod:`.cluster` (the process manager and the CLI's start/stop/status),
:mod:`.properties` (node configuration), :mod:`.ports`, :mod:`.state` (the state file and
status) and :mod:`.processes` (the node JVMs as processes).

Part of :mod:`tapewire.runtime` (may import :mod:`tapewire.core` and
:mod:`tapewire.runtime.kafka_jars`).
"""

from tapewire.runtime.kafka_local.cluster import (
    CLUSTER_ID_FILE,
    DEFAULT_START_TIMEOUT_S,
    DEFAULT_STOP_TIMEOUT_S,
    KafkaAlreadyRunningError,
    LocalKafkaCluster,
    Progress,
    local_status,
    local_work_dir,
    start_local,
    stop_local,
)
from tapewire.runtime.kafka_local.ports import CONTROLLER_PORT_OFFSET, choose_ports
from tapewire.runtime.kafka_local.properties import (
    new_cluster_id,
    render_properties,
    server_properties,
)
from tapewire.runtime.kafka_local.state import STATE_FILE, LocalKafkaStatus, NodeStatus

__all__ = [
    "CLUSTER_ID_FILE",
    "CONTROLLER_PORT_OFFSET",
    "DEFAULT_START_TIMEOUT_S",
    "DEFAULT_STOP_TIMEOUT_S",
    "STATE_FILE",
    "KafkaAlreadyRunningError",
    "LocalKafkaCluster",
    "LocalKafkaStatus",
    "NodeStatus",
    "Progress",
    "choose_ports",
    "local_status",
    "local_work_dir",
    "new_cluster_id",
    "render_properties",
    "server_properties",
    "start_local",
    "stop_local",
]
