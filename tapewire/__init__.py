"""Tapewire: a Kafka-based streaming data platform for crypto trading.

One installed namespace, in layers from the bottom up (``docs/architecture.md``):

- :mod:`tapewire.core`: errors, settings, exact decimals, instruments, metrics, Kafka client
  config;
- :mod:`tapewire.schemas`: Avro schemas and the codec at the Kafka boundary;
- the domain cores in :mod:`tapewire.streams` (normalize, aggregate, oms, risk, execution,
  trading): pure, no Kafka, no Faust;
- the stages (:mod:`tapewire.streams.stages`, :mod:`tapewire.streams.router`): Kafka-free,
  shared by both shells;
- :mod:`tapewire.runtime`: Kafka plumbing (topics, produce/read helpers, the local broker);
- the shells: :mod:`tapewire.streams.agents` (Faust), :mod:`tapewire.streams.hotpath`
  (confluent-kafka), :mod:`tapewire.sinks`, :mod:`tapewire.connectors`;
- the entry points: :mod:`tapewire.cli` (and :mod:`tapewire.testing` for tests).

A package imports only from the layers below it; ``make lint`` enforces it.
"""

__version__ = "0.1.0"
