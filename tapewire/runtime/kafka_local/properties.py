"""What a local Kafka node is configured with: its ``server.properties`` (a combined broker +
controller with the dev settings of :mod:`tapewire.runtime.kafka_local`), the log4j files,
and a new KRaft cluster id.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from pathlib import Path


def server_properties(
    *,
    node_id: int,
    port: int,
    controller_port: int,
    voters: str,
    data_dir: Path,
    nodes: int,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The ``server.properties`` of one combined broker+controller node, as a dict."""
    replicas = min(3, nodes)
    props = {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(data_dir),
        "auto.create.topics.enable": "false",
        "delete.topic.enable": "true",
        "default.replication.factor": str(replicas),
        "min.insync.replicas": "2" if nodes >= 3 else "1",
        "offsets.topic.replication.factor": str(replicas),
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": str(replicas),
        "transaction.state.log.min.isr": str(min(2, replicas)),
        "transaction.state.log.num.partitions": "10",
        # Consumers join at once instead of after the 3 s default delay.
        "group.initial.rebalance.delay.ms": "0",
        "num.network.threads": "2",
        "num.io.threads": "4",
        "background.threads": "4",
        "num.replica.fetchers": "1",
        "num.recovery.threads.per.data.dir": "1",
        "log.cleaner.threads": "1",
        # The default 128 MiB is allocated up front, a quarter of the heap.
        "log.cleaner.dedupe.buffer.size": str(16 * 1024 * 1024),
        "log.segment.bytes": str(64 * 1024 * 1024),
        "log.retention.hours": "168",
        "log.retention.check.interval.ms": "60000",
    }
    props.update(extra or {})
    return props


def render_properties(props: Mapping[str, str]) -> str:
    """A Java properties file body (values here never need escaping beyond backslashes)."""
    lines = ["# Written by tapewire; rewritten at every start."]
    lines += [f"{key}={value.replace(chr(92), chr(92) * 2)}" for key, value in props.items()]
    return "\n".join(lines) + "\n"


LOG4J_PROPERTIES = """\
# Written by tapewire: everything a node logs goes to logs/<node>.log (rolled at 20 MB).
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=${kafka.logs.dir}/${tapewire.kafka.node}.log
log4j.appender.file.MaxFileSize=20MB
log4j.appender.file.MaxBackupIndex=3
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.kafka.clients.NetworkClient=WARN
"""

TOOLS_LOG4J_PROPERTIES = """\
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
"""


def new_cluster_id() -> str:
    """A random KRaft cluster id, as ``kafka-storage.sh random-uuid`` makes them."""
    while True:
        raw = uuid.uuid4().bytes
        cluster_id = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
        # Kafka's Uuid.randomUuid also rejects ids starting with '-' (they read as options).
        if not cluster_id.startswith("-"):
            return cluster_id
