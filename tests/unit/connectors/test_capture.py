"""Capture file format, replay pacing and the simulator-to-capture path (no Kafka)."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from tapewire.connectors.capture import (
    CaptureWriter,
    parse_speed,
    read_capture,
    read_header,
    replay_capture,
    simulator_capture,
)
from tapewire.connectors.capture.format import CaptureError
from tapewire.connectors.simulator import SimConfig
from tapewire.core.errors import ConfigError
from tapewire.schemas.codec import Codec


def frame(seq: int, ts_ns: int, payload: bytes = b'{"a":"0.00000812"}') -> dict[str, Any]:
    return {
        "venue": "binance",
        "connection_id": "binance-ws-1",
        "sequence": seq,
        "transport": "WEBSOCKET",
        "origin": "LIVE",
        "channel": None,
        "symbol": None,
        "payload": payload,
        "binary": False,
        "receive_ts_ns": ts_ns,
        "request_ts_ns": None,
        "rest_url": None,
        "rest_status": None,
    }


def test_round_trip_is_exact_including_binary_payloads(tmp_path: Path) -> None:
    records = [frame(0, 1_000), frame(1, 2_000, b"\x1f\x8b\x00\xff\xfe"), frame(2, 3_000, b"")]
    records[1]["binary"] = True
    rest = frame(3, 4_000, b'{"lastUpdateId":1}')
    rest |= {"transport": "REST", "rest_url": "http://x/api", "rest_status": 200}
    rest["request_ts_ns"] = 3_500
    records.append(rest)
    path = tmp_path / "c.jsonl.gz"
    with CaptureWriter(path, source="test") as writer:
        for record in records:
            writer(record)
    assert read_header(path).source == "test"
    back = list(read_capture(path))
    assert back == records
    codec = Codec()
    assert [codec.encode("md.raw", r) for r in back] == [codec.encode("md.raw", r) for r in records]
    # any language: gzip + JSON lines + base64
    lines = gzip.decompress(path.read_bytes()).splitlines()
    assert orjson.loads(lines[0])["format"] == "tapewire-capture"
    assert len(lines) == 1 + len(records)


def test_bad_files_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="no such file"):
        list(read_capture(tmp_path / "missing.gz"))
    notgz = tmp_path / "plain.txt"
    notgz.write_text("hello\n")
    with pytest.raises(CaptureError, match="not gzip"):
        list(read_capture(notgz))
    wrong = tmp_path / "wrong.gz"
    wrong.write_bytes(gzip.compress(b'{"format":"other"}\n'))
    with pytest.raises(CaptureError, match="bad header"):
        list(read_capture(wrong))
    corrupt = tmp_path / "corrupt.gz"
    header = b'{"format":"tapewire-capture","version":1}\n'
    corrupt.write_bytes(gzip.compress(header + b'{"venue":"x"}\n'))
    with pytest.raises(CaptureError) as info:
        list(read_capture(corrupt))
    assert info.value.line == 2
    truncated = tmp_path / "truncated.gz"
    full = gzip.compress(header + orjson.dumps({"payload_b64": ""}) * 1000)
    truncated.write_bytes(full[: len(full) // 2])
    with pytest.raises(CaptureError):
        list(read_capture(truncated))


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _capture(tmp_path: Path, count: int, gap_ns: int) -> Path:
    path = tmp_path / "paced.jsonl.gz"
    with CaptureWriter(path, source="test") as writer:
        for i in range(count):
            writer(frame(i, 1_000_000_000 + i * gap_ns))
    return path


@pytest.mark.parametrize(
    ("speed", "max_rate", "expected_s"),
    [(1.0, None, 9.0), (10.0, None, 0.9), (None, None, 0.0), (None, 2.0, 4.5), (1.0, 0.5, 18.0)],
)
def test_replay_paces_by_receive_time_speed_and_rate_bound(
    tmp_path: Path, speed: float | None, max_rate: float | None, expected_s: float
) -> None:
    path = _capture(tmp_path, 10, 1_000_000_000)  # 10 frames, 1 s apart
    fake = FakeTime()
    out: list[dict[str, Any]] = []
    stats = replay_capture(
        path, out.append, speed=speed, max_rate=max_rate, clock=fake.clock, sleep=fake.sleep
    )
    assert stats.frames == 10
    assert stats.capture_span_s == 9.0
    assert fake.now == pytest.approx(expected_s)
    assert [r["sequence"] for r in out] == list(range(10))


def test_replay_keeps_frames_unless_marked(tmp_path: Path) -> None:
    path = _capture(tmp_path, 3, 1)
    kept: list[dict[str, Any]] = []
    replay_capture(path, kept.append, speed=None)
    assert {r["origin"] for r in kept} == {"LIVE"}
    marked: list[dict[str, Any]] = []
    progress: list[tuple[int, int, int]] = []
    replay_capture(
        path,
        marked.append,
        speed=None,
        mark_replay=True,
        limit=2,
        progress=lambda *a: progress.append(a),
    )
    assert [r["origin"] for r in marked] == ["REPLAY", "REPLAY"]
    assert progress[-1][0] == 2
    assert progress[-1][1] == progress[-1][2] == path.stat().st_size


def test_parse_speed() -> None:
    assert parse_speed("1") == 1.0
    assert parse_speed("10") == 10.0
    assert parse_speed("MAX") is None
    for bad in ("0", "-1", "fast", "nan", "inf"):
        with pytest.raises(ConfigError) as info:
            parse_speed(bad)
        assert info.value.field == "speed"


def test_simulator_capture_matches_the_simulator(tmp_path: Path) -> None:
    path = tmp_path / "sim.jsonl.gz"
    count = simulator_capture(path, SimConfig(seed=3, n_frames=500))
    records = list(read_capture(path))
    assert count == len(records) >= 500
    assert {r["origin"] for r in records} == {"SIMULATOR"}
    assert {r["venue"] for r in records} == {"binance", "okx"}
    connections = {r["connection_id"] for r in records}
    # one connection per venue for markets, one per venue and instrument (3 of them)
    assert len(connections) == 2 * (1 + 3)
    for connection in connections:
        seqs = [r["sequence"] for r in records if r["connection_id"] == connection]
        assert seqs == list(range(len(seqs)))
    for record in records:
        assert record["connection_id"].startswith(record["venue"] + "-")
        if record["symbol"] is not None:
            assert record["connection_id"].endswith("-" + record["symbol"])
    ts = [r["receive_ts_ns"] for r in records]
    assert ts == sorted(ts)
    codec = Codec()
    for record in records[:50]:
        assert codec.decode("md.raw", codec.encode("md.raw", record)) == record


def test_capture_sim_command(tmp_path: Path) -> None:
    import typer

    from tapewire.connectors.commands import capture_sim_command

    app = typer.Typer()
    app.command()(capture_sim_command)
    out = tmp_path / "cli.jsonl.gz"
    result = CliRunner().invoke(app, [str(out), "--frames", "200", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert len(list(read_capture(out))) >= 200
