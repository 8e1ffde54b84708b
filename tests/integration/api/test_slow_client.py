"""A WebSocket client that stops reading is dropped with close code 4429 instead of
holding anything up: the API served by uvicorn on 127.0.0.1, a real client whose socket
stops reading, market data produced to the real broker."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tapewire.api.config import ApiConfig
from tapewire.api.events import SLOW_CLIENT_CODE
from tapewire.api.server import api_services, serve
from tapewire.runtime.kafka_io import produce_all
from tapewire.schemas.codec import Codec
from tests.factories import INST, T0
from tests.factories.market import quote
from tests.fixtures.prometheus import free_port
from tests.integration.api.conftest import PASSWORDS

QUEUE = 8
QUOTES = 30_000
"""About 10 MB of JSON: more than the kernel buffers a stalled loopback socket takes."""


@pytest.fixture
def served(
    api_config: ApiConfig, api_db_url: str, kafka_bootstrap: str
) -> Iterator[tuple[str, str]]:
    prefix = f"slow{uuid.uuid4().hex[:8]}."
    config = api_config.model_copy(update={"port": free_port(), "stream_queue_size": QUEUE})
    stop = threading.Event()
    with api_services(
        config,
        clickhouse_url=api_db_url,
        bootstrap=kafka_bootstrap,
        codec=Codec(),
        topic_name=lambda t: prefix + t,
        partitions=1,
    ) as services:
        thread = threading.Thread(target=serve, args=(services, config, stop), daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", config.port)) == 0:
                    break
            assert time.monotonic() < deadline, "the API did not listen in 30 s"
            time.sleep(0.1)
        try:
            yield f"127.0.0.1:{config.port}", prefix
        finally:
            stop.set()
            thread.join(timeout=20)
    assert not thread.is_alive()


def _token(address: str) -> str:
    import httpx

    response = httpx.post(
        f"http://{address}/v1/auth/token",
        json={"username": "viewer", "password": PASSWORDS["viewer"]},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_a_client_that_stops_reading_is_closed_with_4429(
    served: tuple[str, str], kafka_bootstrap: str
) -> None:
    address, prefix = served
    token = _token(address)
    host, port = address.split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # stalls quickly
    sock.connect((host, int(port)))
    slow = connect(
        f"ws://{address}/v1/stream?types=quote&instruments={INST}",
        sock=sock,
        additional_headers={"Authorization": f"Bearer {token}"},
        compression=None,
        ping_interval=None,
        max_queue=1,  # the client's reader thread stops taking frames: the socket stalls
        open_timeout=30,
    )
    with slow:
        assert '"subscribed"' in str(slow.recv(timeout=30))
        codec = Codec()
        quotes = [quote("binance", "100", "101", ts=T0 + i) for i in range(QUOTES)]
        produce_all(
            kafka_bootstrap,
            prefix + "md.quotes",
            [(codec.key("md.quotes", q), codec.encode("md.quotes", q)) for q in quotes],
        )
        time.sleep(5)  # the hub offers them; the stalled socket lets the queue overflow
        received, closed = _read_until_closed(slow)
    assert closed.rcvd is not None, closed
    assert closed.rcvd.code == SLOW_CLIENT_CODE
    assert f"more than {QUEUE} messages behind" in closed.rcvd.reason
    assert 0 < received < QUOTES  # it got what was sent before it fell behind, not all


def _read_until_closed(client: ClientConnection) -> tuple[int, ConnectionClosed]:
    """Messages read until the server closed the connection (bounded), and the close."""
    received = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            client.recv(timeout=30)
        except ConnectionClosed as closed:
            return received, closed
        received += 1
    raise AssertionError(f"still open after {received} messages")
