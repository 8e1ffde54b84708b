"""Real local receivers for the notifier's tests: an HTTP server and an SMTP server.

Both listen on 127.0.0.1 on a free port, run in a thread, and record what they received.
:class:`WebhookReceiver` answers each path from a script (``{"/flaky": [500]}``: the first
POST gets a 500, later ones 200; ``{"/gone": [404] * 99}``). :class:`MailReceiver` is an
``aiosmtpd`` server that keeps every message it accepts.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Post:
    """One request the webhook receiver got, and the status it answered."""

    path: str
    body: dict[str, Any]
    status: int


@dataclass
class WebhookReceiver:
    """A JSON webhook endpoint on loopback (see the module doc)."""

    url: str
    posts: list[Post] = field(default_factory=list)

    def bodies(self, path: str, status: int = 200) -> list[dict[str, Any]]:
        """Bodies POSTed to ``path`` that were answered with ``status``."""
        return [p.body for p in self.posts if p.path == path and p.status == status]


@contextmanager
def webhook_receiver(script: Mapping[str, Sequence[int]]) -> Iterator[WebhookReceiver]:
    """Serve until the block ends; each path answers its scripted statuses, then 200."""
    remaining = {path: list(codes) for path, codes in script.items()}
    lock = threading.Lock()
    receiver = WebhookReceiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            with lock:
                codes = remaining.get(self.path, [])
                status = codes.pop(0) if codes else 200
                receiver.posts.append(Post(self.path, body, status))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass
class MailReceiver:
    """An SMTP server on loopback; ``messages`` holds (envelope recipients, message)."""

    port: int
    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)


@contextmanager
def mail_receiver() -> Iterator[MailReceiver]:
    """An ``aiosmtpd`` server without TLS or login (``security = "none"``)."""
    with socket.socket() as probe:  # a free port: aiosmtpd checks readiness by connecting
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    receiver = MailReceiver(port)

    class Handler:
        async def handle_DATA(  # noqa: N802 - the aiosmtpd protocol
            self, server: SMTP, session: Session, envelope: Envelope
        ) -> str:
            content = envelope.content
            assert isinstance(content, bytes)
            message = message_from_bytes(content, policy=default)
            assert isinstance(message, EmailMessage)
            receiver.messages.append((list(envelope.rcpt_tos), message))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield receiver
    finally:
        controller.stop()


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    """Poll ``condition`` until true; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        time.sleep(0.05)
