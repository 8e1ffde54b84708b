"""The normalize stage's batched wiring: a dead letter made by the normalizer still names
the md.raw message it came from, and every output decodes to what the core made."""

from __future__ import annotations

from pathlib import Path

from tapewire.schemas.codec import Codec
from tapewire.streams.normalize import Normalizer
from tapewire.streams.stages.base import InMsg
from tapewire.streams.stages.normalize import NormalizeStage
from tapewire.testing.frames import raw_frame, read_frames

FRAMES = Path(__file__).resolve().parents[3] / "data" / "real" / "binance" / "frames.jsonl"


def test_normalizer_dead_letters_name_their_message_and_outputs_match_the_core() -> None:
    codec = Codec()
    frames = read_frames(FRAMES, "binance")
    bad = raw_frame("binance", b'{"e":"trade","s":', received_ns=1, sequence=len(frames))
    msgs = [
        InMsg(3, 7 + i, b"binance:c", codec.encode("md.raw", f))
        for i, f in enumerate([*frames, bad])
    ]
    out = NormalizeStage(codec, republish_markets=False).process(msgs)
    dead = [codec.decode("dlq.normalize", m.value) for m in out if m.topic == "dlq.normalize"]
    assert [(d["source_partition"], d["source_offset"], d["key"]) for d in dead] == [
        (3, 7 + len(frames), b"binance:c")
    ]
    assert dead[0]["payload"] == msgs[-1].value
    core = Normalizer().process_batch(frames)
    for topic in ("md.trades", "md.book", "md.quotes"):
        got = [codec.read(topic, m.value) for m in out if m.topic == topic]
        assert got
        assert [r.replace(process_ts_ns=0) for r in got] == [
            r.replace(process_ts_ns=0) for r in core.records[topic]
        ]
