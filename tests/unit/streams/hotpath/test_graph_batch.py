"""``StageGraph.push_batch`` on the market stages: the same records per topic as
message by message (a seeded two-venue simulator run through normalize → NBBO → depth),
and a graph whose input has several subscribers falls back to one message at a time."""

from __future__ import annotations

from typing import Any

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
