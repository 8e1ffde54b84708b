"""``tapewire_normalize_generic_frames_total{venue}``: the frames a venue's typed fast path
handed to the generic decode + map, counted by the normalize stage per batch. A frame with a
field the fast path does not know (a venue adding one) is counted once and still gives the
same records."""

from __future__ import annotations

from tapewire.core import metrics
from tapewire.schemas.codec import Codec
from tapewire.streams.stages.base import InMsg, OutMsg
from tapewire.streams.stages.normalize import NormalizeStage
from tests.hotpath_cases import frames

CODEC = Codec()
RAW = CODEC.for_topic("md.raw")
NAME = "tapewire_normalize_generic_frames_total"


def _count(venue: str) -> float:
    return metrics.REGISTRY.get_sample_value(NAME, {"venue": venue}) or 0.0


def _run(msgs: list[InMsg], batch: int) -> tuple[list[OutMsg], dict[str, float]]:
    """The messages through a new stage in batches; its outputs and the counter's growth."""
    before = {v: _count(v) for v in ("binance", "okx")}
    stage = NormalizeStage(CODEC)
    out = [o for at in range(0, len(msgs), batch) for o in stage.process(msgs[at : at + batch])]
    return out, {v: _count(v) - before[v] for v in before}


def _with_new_field(msg: InMsg) -> InMsg:
    record = RAW.decode(msg.value)
    payload = record["payload"]
    record["payload"] = payload[:-2] + b',"newField":1}}'  # in the stream's data object
    return InMsg(msg.partition, msg.offset, msg.key, RAW.encode(record))


def _values(out: list[OutMsg]) -> list[tuple[str, bytes | None, dict[str, object]]]:
    """Topic, key and decoded value of every output, without the processing time."""
    return [
        (topic, key, {k: v for k, v in CODEC.decode(topic, value).items() if k != "process_ts_ns"})
        for topic, key, value, _ in out
    ]


def test_frames_the_fast_path_hands_over_are_counted_once_per_venue() -> None:
    msgs = frames(400)
    changed = [
        i
        for i, m in enumerate(msgs)
        if RAW.decode(m.value)["venue"] == "binance"
        and b"@bookTicker" in RAW.decode(m.value)["payload"]
    ][:25]
    assert len(changed) == 25
    altered = [_with_new_field(m) if i in changed else m for i, m in enumerate(msgs)]
    for batch in (1, 50):  # the stage's one-message path and its one-run path
        plain, plain_counts = _run(msgs, batch)
        new, new_counts = _run(altered, batch)
        assert new_counts["binance"] - plain_counts["binance"] == 25
        assert new_counts["okx"] == plain_counts["okx"]
        assert _values(new) == _values(plain)  # the generic path maps the frames alike
        assert sum(o[0] == "md.quotes" for o in new) >= 25
