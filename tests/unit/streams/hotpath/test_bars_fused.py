"""Bars fused into the hot path (``[normalize] fuse = ["bars"]``): a graph of normalize →
bars makes the same ``md.bars.<interval>`` records, in the same order, as the bars stage
alone over the trades the normalize stage alone makes (what the Faust bars agent reads
from ``md.trades``), fed message by message or in the worker's market batches."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tapewire.streams.aggregate import BarConfig
from tapewire.streams.hotpath import build_hot_path
from tapewire.streams.stages.bars import BarsStage
from tapewire.streams.stages.base import InMsg, OutMsg
from tapewire.streams.stages.config import StreamsConfig
from tapewire.streams.stages.normalize import NormalizeStage
from tests.hotpath_cases import CODEC, config, frames

PREFIX = "t."
# the seeded run spans 0.6 s: short bars, so that many close (the graph uses config.bars)
BARS = BarConfig.from_strings(("20ms", "100ms"), allowed_lateness_ns=5_000_000)


def streams() -> StreamsConfig:
    return replace(config(PREFIX), bars=BARS)


def bars_of(out: list[tuple[str, OutMsg]]) -> dict[str, list[dict[str, Any]]]:
    """Kafka topic -> its bar records (``process_ts_ns`` is the wall clock: dropped)."""
    bars: dict[str, list[dict[str, Any]]] = {}
    for topic, msg in out:
        canonical = topic.removeprefix(PREFIX)
        if canonical.startswith("md.bars."):
            record = CODEC.decode(canonical, msg.value)
            record.pop("process_ts_ns", None)
            bars.setdefault(topic, []).append({"key": msg.key, **record})
    return bars


def fused(msgs: list[InMsg], batch: int) -> dict[str, list[dict[str, Any]]]:
    hot = build_hot_path(CODEC, streams(), stages=("normalize", "bars"))
    assert hot.external == frozenset({"md.raw"})  # md.trades comes from the graph
    out: list[tuple[str, OutMsg]] = []
    for i in range(0, len(msgs), batch):
        hot.graph.push_batch("md.raw", msgs[i : i + batch], lambda _t, m: out.append((m.topic, m)))
    return bars_of(out)


def alone(msgs: list[InMsg]) -> dict[str, list[dict[str, Any]]]:
    name = streams().topics.name
    normalized = NormalizeStage(CODEC, name).process(msgs)
    trades = [
        InMsg(0, i, m.key, m.value)
        for i, m in enumerate(m for m in normalized if m.topic == name("md.trades"))
    ]
    bars = BarsStage(CODEC, name, config=BARS).process(trades)
    return bars_of([(m.topic, m) for m in bars])


def test_fused_bars_equal_the_bars_stage_over_the_normalized_trades() -> None:
    msgs = frames(6000)
    expected = alone(msgs)
    assert set(expected) == {"t.md.bars.20ms", "t.md.bars.100ms"}
    assert len(expected["t.md.bars.20ms"]) > 20
    assert any(r["trade_count"] > 1 for r in expected["t.md.bars.100ms"])
    for batch in (1, 500):
        assert fused(msgs, batch) == expected
