"""The graph's delivery order on random acyclic graphs equals the plain queue algorithm its
docstring states (every delivery queued, hot before deferred, breadth first), timed or
not: the cheap path that runs subscribers before queueing anything changes no order."""

from __future__ import annotations

import random
from collections import deque

import pytest

from tapewire.streams.hotpath.graph import Node, StageGraph
from tapewire.streams.stages.base import InMsg, OutMsg

TOPICS = [f"t{i}" for i in range(6)]


def _graph(seed: int, calls: list[str]) -> list[Node]:
    rng = random.Random(seed)
    nodes = []
    for n in range(rng.randint(1, 7)):
        low = rng.randrange(len(TOPICS) - 1)
        inputs = tuple(sorted(rng.sample(TOPICS[low : low + 3], k=rng.randint(1, 2))))
        top = max(TOPICS.index(t) for t in inputs)
        above: list[str | None] = [*TOPICS[top + 1 :]] or [None]  # outputs go up: no cycle
        emits = [t for t in (rng.choice(above) for _ in range(rng.choice((0, 0, 1, 2)))) if t]

        def run(
            topic: str, msg: InMsg, name: str = f"n{n}", emits: list[str] = emits
        ) -> list[OutMsg]:
            calls.append(f"{name}<{topic}:{msg.value!r}")
            return [OutMsg(t, None, (msg.value or b"") + name.encode()) for t in emits]

        nodes.append(Node(f"n{n}", inputs, run, deferred=rng.random() < 0.3))
    return nodes


def _reference(nodes: list[Node], topic: str, msg: InMsg, published: list[str]) -> int:
    subscribers: dict[str, list[Node]] = {}
    for node in nodes:
        for t in node.inputs:
            subscribers.setdefault(t, []).append(node)
    pending: deque[tuple[Node, str, InMsg]] = deque()
    later: deque[tuple[Node, str, InMsg]] = deque()

    def route(current: str, message: InMsg) -> None:
        for node in subscribers.get(current, ()):
            (later if node.deferred else pending).append((node, current, message))

    route(topic, msg)
    count = 0
    while pending or later:
        node, current, message = pending.popleft() if pending else later.popleft()
        for out in node.run(current, message):
            published.append(f"{out.topic}:{out.value!r}")
            count += 1
            route(out.topic, InMsg(None, None, out.key, out.value, out.record))
    return count


@pytest.mark.parametrize("timed", [False, True])
@pytest.mark.parametrize("seed", range(60))
def test_delivery_and_publish_order_equal_the_queue_algorithm(seed: int, timed: bool) -> None:
    expected_calls: list[str] = []
    expected: list[str] = []
    entry = random.Random(seed).choice(TOPICS[:3])
    want = _reference(_graph(seed, expected_calls), entry, InMsg(0, 0, None, b"m"), expected)
    calls: list[str] = []
    published: list[str] = []
    graph = StageGraph(_graph(seed, calls), timed=timed)
    got = graph.push(
        entry, InMsg(0, 0, None, b"m"), lambda t, o: published.append(f"{t}:{o.value!r}")
    )
    assert (got, calls, published) == (want, expected_calls, expected)


def test_some_random_graphs_cascade() -> None:
    """The seeds above include graphs where hot and deferred nodes emit."""
    cascades = 0
    for seed in range(60):
        calls: list[str] = []
        published: list[str] = []
        entry = random.Random(seed).choice(TOPICS[:3])
        cascades += _reference(_graph(seed, calls), entry, InMsg(0, 0, None, b"m"), published) > 1
    assert cascades >= 10
