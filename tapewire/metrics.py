"""The one place that defines Tapewire's Prometheus metrics, and the ``/metrics`` endpoint.

Every metric is named ``tapewire_<full_words>`` and lives in :data:`REGISTRY` (not the
global default registry), so tests and embedded runs never collide. Later stages add
their metrics here, next to the ones that exist, so the catalogue stays in one file
(see ``docs/metrics.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from threading import Thread
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, start_http_server

PREFIX = "tapewire"

REGISTRY = CollectorRegistry(auto_describe=True)

# Latency buckets in seconds: 100 µs .. 10 s, dense below 10 ms where tick-to-order lives.
LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    10.0,
)

build_info = Info(f"{PREFIX}_build", "Tapewire version and runtime.", registry=REGISTRY)

messages_processed = Counter(
    f"{PREFIX}_messages_processed",
    "Messages a stage has processed, by stage and topic.",
    ["stage", "topic"],
    registry=REGISTRY,
)
messages_rejected = Counter(
    f"{PREFIX}_messages_rejected",
    "Messages a stage sent to a dead-letter topic, by stage and reason.",
    ["stage", "reason"],
    registry=REGISTRY,
)
stage_latency_seconds = Histogram(
    f"{PREFIX}_stage_latency_seconds",
    "Time from a reference timestamp (exchange or receive) to the end of a stage.",
    ["stage", "reference"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
consumer_lag_messages = Gauge(
    f"{PREFIX}_consumer_lag_messages",
    "Messages between a consumer group's committed offset and the partition's end.",
    ["group", "topic", "partition"],
    registry=REGISTRY,
)
component_up = Gauge(
    f"{PREFIX}_component_up",
    "1 while a component (broker, sink, agent) is running and healthy, else 0.",
    ["component"],
    registry=REGISTRY,
)


@dataclass
class MetricsServer:
    """A running ``/metrics`` endpoint; call :meth:`stop` to close it."""

    host: str
    port: int
    _server: WSGIServer
    _thread: Thread

    @property
    def url(self) -> str:
        """The scrape URL."""
        return f"http://{self.host}:{self.port}/metrics"

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_metrics(host: str, port: int) -> MetricsServer | None:
    """Serve :data:`REGISTRY` on ``http://host:port/metrics``; port 0 means "don't serve".

    Every long-running Tapewire process calls this with ``settings.metrics_port``.
    """
    if port == 0:
        return None
    from tapewire import __version__

    build_info.info({"version": __version__})
    server, thread = start_http_server(port, addr=host, registry=REGISTRY)
    return MetricsServer(host=host, port=server.server_port, _server=server, _thread=thread)
