"""The Faust app class every agent registers on: an idempotent producer and the agents'
shared context (config, codec, executors)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import faust
from faust.transport.drivers.aiokafka import Producer as AIOKafkaProducer

from tapewire.schemas.codec import Codec
from tapewire.streams.stages.config import StreamsConfig


class IdempotentProducer(AIOKafkaProducer):
    """Faust's aiokafka producer with ``enable_idempotence`` and ``acks=all``.

    Faust turns idempotence on only with ``processing_guarantee="exactly_once"`` (which we
    avoid, see the brief); without it a retried batch can be written twice.
    """

    def _settings_extra(self) -> dict[str, Any]:
        return {"acks": "all", "enable_idempotence": True}


class TapewireApp(faust.App):
    """``faust.App`` whose producer is idempotent; carries the agents' shared context."""

    streams_config: StreamsConfig
    codec: Codec
    executors: list[ThreadPoolExecutor]
    bootstrap: str = ""
    """The brokers (``host:port,...``), for reads a stage needs before it starts."""

    def _new_producer(self) -> Any:
        transport = self.producer_transport
        return IdempotentProducer(transport, loop=self.loop, beacon=self.beacon)
