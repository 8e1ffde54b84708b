"""``StageGraph.push_batch`` on the market stages: the same records per topic as
message by message (a seeded two-venue simulator run through normalize → NBBO → depth),
and a graph whose input has several subscribers falls back to one message at a time;
deliveries grouped per stage (NBBO, bars) publish what one by one does, in the same order."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tapewire.streams.aggregate import BarConfig
from tapewire.streams.hotpath import build_hot_path
from tapewire.streams.stages.base import OutMsg
from tests.hotpath_cases import CODEC, config, frames

MARKET = ("normalize", "nbbo", "depth")


def by_topic(out: list[tuple[str, OutMsg]]) -> dict[str, list[dict[str, Any]]]:
    topics: dict[str, list[dict[str, Any]]] = {}
    for topic, msg in out:
        record = CODEC.decode(topic, msg.value) if topic != "md.markets" else {"v": msg.value}
        record.pop("process_ts_ns", None)
        topics.setdefault(topic, []).append({"key": msg.key, **record})
    return topics


def run(batch: int) -> dict[str, list[dict[str, Any]]]:
    graph = build_hot_path(CODEC, config(), stages=MARKET).graph
    out: list[tuple[str, OutMsg]] = []
    msgs = list(frames())
    published = 0
    for i in range(0, len(msgs), batch):
        published += graph.push_batch(
            "md.raw", msgs[i : i + batch], lambda t, m: out.append((t, m))
        )
    assert published == len(out)
    return by_topic(out)


def test_batches_give_every_topic_the_same_records_in_the_same_order() -> None:
    one = run(1)
    assert len(one["md.nbbo"]) > 50
    assert len(one["md.quotes"]) > 200
    for batch in (7, 500):
        assert run(batch) == one


def test_batch_through_several_subscribers_is_message_by_message() -> None:
    hot = build_hot_path(CODEC, config(), stages=MARKET)
    normalize = hot.graph.subscribers["md.raw"][0]
    hot.graph.subscribers = {**hot.graph.subscribers, "md.raw": [normalize, normalize]}
    msgs = list(frames())[:50]
    batched: list[tuple[str, OutMsg]] = []
    hot.graph.push_batch("md.raw", msgs, lambda t, m: batched.append((t, m)))
    again = build_hot_path(CODEC, config(), stages=MARKET)
    twice = again.graph.subscribers["md.raw"][0]
    again.graph.subscribers = {**again.graph.subscribers, "md.raw": [twice, twice]}
    single: list[tuple[str, OutMsg]] = []
    for msg in msgs:
        again.graph.push("md.raw", msg, lambda t, m: single.append((t, m)))
    assert by_topic(batched) == by_topic(single)
    assert batched


def published(batch: int, *, group: bool) -> list[tuple[str, bytes | None, dict[str, Any]]]:
    """Every output of normalize → NBBO, bars (short bars, so many close) in publish order;
    ``group=False`` runs each delivery to the NBBO and bars stages on its own."""
    streams = replace(
        config(), bars=BarConfig.from_strings(("20ms", "100ms"), allowed_lateness_ns=5_000_000)
    )
    graph = build_hot_path(CODEC, streams, stages=("normalize", "nbbo", "bars")).graph
    if not group:
        graph.subscribers = {
            topic: [replace(n, per_message=False) for n in nodes]
            for topic, nodes in graph.subscribers.items()
        }
    out: list[tuple[str, OutMsg]] = []
    msgs = list(frames(6000))
    for i in range(0, len(msgs), batch):
        graph.push_batch("md.raw", msgs[i : i + batch], lambda t, m: out.append((t, m)))
    return [(t, m.key, CODEC.decode(t, m.value) if t != "md.markets" else {}) for t, m in out]


def test_grouped_deliveries_publish_the_same_records_in_the_same_order() -> None:
    for batch in (1, 500):
        grouped = published(batch, group=True)
        topics = {t for t, _k, _r in grouped}
        assert {"md.nbbo", "md.bars.20ms", "md.bars.100ms"} <= topics
        for _t, _k, record in grouped:
            record.pop("process_ts_ns", None)
        alone = published(batch, group=False)
        for _t, _k, record in alone:
            record.pop("process_ts_ns", None)
        assert grouped == alone
