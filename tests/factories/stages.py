"""A stage's input messages and output records (stages run without Kafka)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from tapewire.core.records import Record
from tapewire.schemas.codec import Codec
from tapewire.streams.stages.base import OutMsg, TopicMsg

CODEC = Codec()
"""The codec of :func:`msgs` and :func:`decoded`."""


def msgs(topic: str, records: Iterable[Record]) -> list[TopicMsg]:
    """``records`` encoded as messages of ``topic`` (partition 0, offsets from 0, no key)."""
    return [TopicMsg(topic, 0, i, None, CODEC.encode(topic, r)) for i, r in enumerate(records)]


def decoded(out: Sequence[OutMsg], topic: str) -> list[dict[str, Any]]:
    """The records a stage emitted on ``topic``, decoded, in order."""
    return [CODEC.decode(topic, v) for t, _, v, _ in out if t == topic]
