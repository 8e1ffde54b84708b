"""The fused hot path's core: the stages of several agents chained by function calls.

A :class:`StageGraph` holds the same stage objects the Faust agents run (normalize, NBBO,
strategy, risk, router, positions), each subscribed to its canonical input topics. Pushing
one message runs every stage subscribed to its topic; each output is handed to ``publish``
(the Kafka record) *before* it is routed on to the stages that read its topic, so a
decision is on its way to ``oms.approved`` before the router acts on it. Messages are
routed breadth first, in emission order: every stage sees its inputs in the order they
were produced, as it would reading the topics (an NBBO reaches the risk gate before the
strategy's request made from it). A *deferred* node (positions) also sees its inputs in
emission order, but only once everything else caused by the current message has run.
No Kafka, no threads: the same graph runs under the
Kafka shell (:mod:`tapewire.streams.hotpath.worker`) and in tests.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from tapewire.core import metrics
from tapewire.streams.stages.base import (
    Emitter,
    InMsg,
    OutMsg,
    Stage,
    TopicMsg,
    TopicStage,
    failed_topics,
    safe_process,
)

Publish = Callable[[str, OutMsg], None]
"""Called with (canonical topic, Kafka message) for every output, in emission order."""


@dataclass(frozen=True, slots=True)
class Node:
    """One stage in the graph: its name, its canonical input topics and how to call it."""

    name: str
    inputs: tuple[str, ...]
    run: Callable[[str, InMsg], list[OutMsg]]
    deferred: bool = False
    """Off the order path (positions): runs once the current message's other work is done."""
    run_batch: Callable[[str, Sequence[InMsg]], list[OutMsg]] | None = None
    """Several messages of one topic in one call (a one-topic stage), for
    :meth:`StageGraph.push_batch`."""
    per_message: bool = False
    """``run_batch`` gives the outputs of ``run`` on each message in turn, concatenated
    (the stage's ``per_message``; not a stage that conflates a batch, as depth does): the
    graph then runs consecutive deliveries to it in one call."""


def single_topic(stage: Stage, emitter: Emitter, topic: str | None = None) -> Node:
    """A one-topic :class:`Stage` (normalize, nbbo, bars): fed one message at a time.

    ``topic`` overrides the stage's own source (the NBBO stage reads its re-keyed topic in
    the Faust topology; in-process it reads ``md.quotes`` directly).
    """

    def run(_topic: str, msg: InMsg) -> list[OutMsg]:
        return safe_process(stage, emitter, (msg,))

    def run_batch(_topic: str, msgs: Sequence[InMsg]) -> list[OutMsg]:
        return safe_process(stage, emitter, msgs)

    per_message = bool(getattr(stage, "per_message", False))
    return Node(
        stage.name,
        (topic or stage.source_topic,),
        run,
        run_batch=run_batch,
        per_message=per_message,
    )


def multi_topic(stage: TopicStage, inputs: Sequence[str], *, deferred: bool = False) -> Node:
    """A multi-topic stage (strategy, risk, router, positions) reading ``inputs``."""

    def run(topic: str, msg: InMsg) -> list[OutMsg]:
        batch = (TopicMsg(topic, msg.partition, msg.offset, msg.key, msg.value, msg.record),)
        try:  # safe_topics, inlined: one call less per message and stage
            return stage.process(batch)
        except Exception as exc:
            return failed_topics(stage, batch, exc)

    return Node(stage.name, tuple(inputs), run, deferred)


def keyed(node: Node, topic: str, accept: Callable[[bytes | None], bool]) -> Node:
    """``node`` reading only the messages of ``topic`` whose Kafka key ``accept`` takes
    (its other inputs unchanged): a sharded trade process's risk gate decides only the
    requests of its own accounts (``streams/trading/shard.py``)."""
    inner = node.run

    def run(current: str, msg: InMsg) -> list[OutMsg]:
        if current == topic and not accept(msg.key):
            return []
        return inner(current, msg)

    return Node(node.name, node.inputs, run, node.deferred)  # per message: no run_batch


class StageGraph:
    """Stages wired by topic; :meth:`push` runs one input message through all of them.

    ``canonical`` maps the Kafka topic names the stages emit (possibly prefixed) back to
    canonical names. Outputs on topics no stage reads only go to ``publish``.
    """

    def __init__(
        self, nodes: Iterable[Node], canonical: Callable[[str], str] = str, *, timed: bool = True
    ) -> None:
        self.nodes = list(nodes)
        self.canonical = canonical
        self.timed = timed
        """Observe each node's time (``tapewire_stream_batch_seconds``); a backtest, which
        measures its own loop, turns it off (two clock reads and a histogram a node)."""
        subscribers: dict[str, list[Node]] = {}
        for node in self.nodes:
            for topic in node.inputs:
                subscribers.setdefault(topic, []).append(node)
        self.subscribers = subscribers
        self._seconds = {
            n.name: metrics.stream_batch_seconds.labels(f"hotpath:{n.name}", "process")
            for n in self.nodes
        }
        self._canonical: dict[str, str] = {}
        """``canonical`` per Kafka topic name met (a pure function of the name)."""

    @property
    def subscribers(self) -> dict[str, list[Node]]:
        """The nodes reading each canonical topic, in subscription order."""
        return self._subscribers

    @subscribers.setter
    def subscribers(self, subscribers: dict[str, list[Node]]) -> None:
        self._subscribers = subscribers
        self._routes: dict[str, tuple[tuple[Node, ...], tuple[Node, ...]]] = {
            topic: (
                tuple(n for n in nodes if not n.deferred),
                tuple(n for n in nodes if n.deferred),
            )
            for topic, nodes in subscribers.items()
        }
        """Per topic: its (immediate, deferred) subscribers, in subscription order."""

    @property
    def inputs(self) -> frozenset[str]:
        """Every canonical topic some stage reads."""
        return frozenset(self.subscribers)

    def push(self, topic: str, msg: InMsg, publish: Publish) -> int:
        """Run ``msg`` (read from canonical ``topic``) and everything it causes; returns
        the number of outputs published.

        Deliveries to ``deferred`` nodes wait (in their own emission order) until nothing
        else is pending, so a monitoring stage never sits between a quote and its order.
        """
        route = self._routes.get(topic)
        if route is None:
            return 0
        immediate, deferred = route
        # most messages cause nothing: run the subscribers in turn, queueing only once
        # one of them has outputs (then the rest of this level goes first, as queued)
        for index, node in enumerate(immediate):
            outputs = self._run(node, topic, msg)
            if outputs:
                pending: Queue = deque((n, topic, [msg]) for n in immediate[index + 1 :])
                later: Queue = deque((n, topic, [msg]) for n in deferred)
                return self._drain(outputs, pending, later, publish)
        for index, node in enumerate(deferred):
            outputs = self._run(node, topic, msg)
            if outputs:
                later = deque((n, topic, [msg]) for n in deferred[index + 1 :])
                return self._drain(outputs, deque(), later, publish)
        return 0

    def push_batch(self, topic: str, msgs: Sequence[InMsg], publish: Publish) -> int:
        """:meth:`push` for several messages of ``topic``, in order; returns the number of
        outputs published.

        When ``topic``'s only subscriber is a one-topic stage (normalize reading md.raw),
        it gets the whole batch in one call, as a Faust agent does, and its outputs are
        then published and routed in emission order: every topic receives the same
        records in the same order as message by message, only interleaved differently
        across topics. So the caller batches only graphs where that interleaving cannot
        change a decision (no stage reads two topics: the market stages).
        """
        route = self._routes.get(topic)
        if route is None:
            return 0
        immediate, deferred = route
        if len(msgs) == 1 or deferred or len(immediate) != 1 or immediate[0].run_batch is None:
            return sum(self.push(topic, msg, publish) for msg in msgs)
        outputs = self._run_batch(immediate[0], topic, msgs)
        if not outputs:
            return 0
        return self._drain(outputs, deque(), deque(), publish)

    def _run(self, node: Node, topic: str, msg: InMsg) -> list[OutMsg]:
        if not self.timed:
            return node.run(topic, msg)
        t0 = time.perf_counter()
        outputs = node.run(topic, msg)
        self._seconds[node.name].observe(time.perf_counter() - t0)
        return outputs

    def _drain(self, outputs: list[OutMsg], pending: Queue, later: Queue, publish: Publish) -> int:
        """Publish and route ``outputs``, then run everything queued (``pending`` first,
        ``later`` once nothing is pending) and what it causes; the outputs published.

        Consecutive deliveries to one ``per_message`` node on one topic (the quotes of a
        normalize batch to the NBBO, its trades to the bars) are queued as one entry and
        run in one call: nothing runs between them either way (each one's outputs are
        queued behind them), so every stage sees the same inputs in the same order and
        the outputs are published in the same order as one by one. (An unexpected
        exception in the stage dead-letters the entry's messages, as a Faust agent's
        batch.)"""
        routes, names = self._routes, self._canonical
        published = 0
        while True:
            published += len(outputs)
            for out in outputs:
                canonical = names.get(out.topic)
                if canonical is None:
                    canonical = names[out.topic] = self.canonical(out.topic)
                publish(canonical, out)
                route = routes.get(canonical)
                if route is not None:  # the object, not its bytes (encode once)
                    routed = InMsg(None, None, out.key, out.value, out.record)
                    for node in route[0]:
                        _enqueue(pending, node, canonical, routed)
                    for node in route[1]:
                        _enqueue(later, node, canonical, routed)
            if pending:
                node, current, messages = pending.popleft()
            elif later:
                node, current, messages = later.popleft()
            else:
                return published
            if len(messages) == 1:
                outputs = self._run(node, current, messages[0])
            else:
                outputs = self._run_batch(node, current, messages)

    def _run_batch(self, node: Node, topic: str, msgs: Sequence[InMsg]) -> list[OutMsg]:
        run_batch = node.run_batch
        assert run_batch is not None
        if not self.timed:
            return run_batch(topic, msgs)
        t0 = time.perf_counter()
        outputs = run_batch(topic, msgs)
        self._seconds[node.name].observe(time.perf_counter() - t0)
        return outputs


Queue = deque[tuple[Node, str, list[InMsg]]]
"""Deliveries waiting in :meth:`StageGraph._drain`: a node, its input topic and the
messages (several only for a ``per_message`` node)."""


def _enqueue(queue: Queue, node: Node, topic: str, msg: InMsg) -> None:
    """Queue ``msg`` for ``node``, joining the last entry when it is the same
    ``per_message`` node on the same topic (they would run back to back anyway)."""
    if queue and node.per_message:
        last = queue[-1]
        if last[0] is node and last[1] == topic:
            last[2].append(msg)
            return
    queue.append((node, topic, [msg]))
