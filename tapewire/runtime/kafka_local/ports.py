"""Ports of a local cluster on 127.0.0.1: a block from a base port when it is free, else
ports the OS picks; and whether a node's port listens yet.
"""

from __future__ import annotations

import logging
import socket

log = logging.getLogger(__name__)

CONTROLLER_PORT_OFFSET = 100


def choose_ports(nodes: int, base_port: int | None) -> list[tuple[int, int]]:
    """(client port, controller port) per node on 127.0.0.1.

    Prefers ``base_port + i`` and ``base_port + 100 + i``; if any of those is taken (or
    ``base_port`` is None) every port is a free one picked by the OS instead.
    """
    if base_port is not None:
        preferred = [(base_port + i, base_port + CONTROLLER_PORT_OFFSET + i) for i in range(nodes)]
        if all(_port_free(p) for pair in preferred for p in pair):
            return preferred
        log.info("ports from %d are busy; using free ports instead", base_port)
    free = _free_ports(2 * nodes)
    return [(free[2 * i], free[2 * i + 1]) for i in range(nodes)]


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the JVM does, so a port in TIME_WAIT after a restart still counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports(count: int) -> list[int]:
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(sock)
            sock.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def port_open(port: int) -> bool:
    """Does something accept connections on ``127.0.0.1:port`` right now?"""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False
