"""``record_command`` against the fake exchange and ``replay_command`` to the real broker."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tapewire.connectors.capture import read_capture
from tapewire.connectors.commands import record_command, replay_command
from tapewire.schemas.codec import Codec
from tapewire.testing.fake_exchange import FakeBinance
from tests.fixtures.kafka import TopicFactory, consume_n

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def fake_in_thread() -> Iterator[FakeBinance]:
    """A fake Binance served by its own event loop in a thread (the commands run theirs)."""
    fake = FakeBinance()
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(fake.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(10)
    yield fake
    asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def app_of() -> typer.Typer:
    app = typer.Typer()
    app.command("record")(record_command)
    app.command("replay")(replay_command)
    return app


def test_record_then_replay_commands(
    fake_in_thread: FakeBinance,
    tmp_path: Path,
    kafka_bootstrap: str,
    kafka_topic: TopicFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "rec.jsonl.gz"
    runner = CliRunner()
    app = app_of()
    fake = fake_in_thread
    result = runner.invoke(
        app,
        [
            "record",
            "binance",
            "--symbols",
            "BTC/USDT",
            "--channels",
            "trades,book",
            "--out",
            str(out),
            "--duration",
            "2",
            "--ws-url",
            fake.ws_url,
            "--rest-url",
            fake.rest_url,
        ],
    )
    assert result.exit_code == 0, result.output
    recorded = list(read_capture(out))
    assert len(recorded) > 50
    assert {r["transport"] for r in recorded} == {"WEBSOCKET", "REST"}

    topic = kafka_topic("md.raw")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    result = runner.invoke(app, ["replay", str(out), "--speed", "max", "--topic", topic])
    assert result.exit_code == 0, result.output
    codec = Codec()
    records = consume_n(kafka_bootstrap, topic, len(recorded))
    assert [r.value for r in records] == [codec.encode("md.raw", r) for r in recorded]


def test_replay_command_rejects_a_bad_speed(tmp_path: Path) -> None:
    result = CliRunner().invoke(app_of(), ["replay", str(tmp_path / "x.gz"), "--speed", "fast"])
    assert result.exit_code != 0
    assert "speed" in str(result.exception)
