"""The /metrics endpoint serves Tapewire's registry with the common prefix."""

from __future__ import annotations

import socket
import urllib.request

from tapewire.core import metrics


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_every_metric_has_the_prefix_and_help() -> None:
    families = list(metrics.REGISTRY.collect())
    assert families
    for family in families:
        assert family.name.startswith("tapewire_"), family.name
        assert family.documentation


def test_metrics_endpoint_serves_registry() -> None:
    metrics.messages_processed.labels(stage="test", topic="md.raw").inc(3)
    server = metrics.serve_metrics("127.0.0.1", _free_port())
    assert server is not None
    try:
        with urllib.request.urlopen(server.url, timeout=5) as response:  # noqa: S310
            body = response.read().decode()
    finally:
        server.stop()
    assert 'tapewire_messages_processed_total{stage="test",topic="md.raw"} 3.0' in body
    assert "tapewire_build_info" in body


def test_port_zero_turns_endpoint_off() -> None:
    assert metrics.serve_metrics("127.0.0.1", 0) is None
