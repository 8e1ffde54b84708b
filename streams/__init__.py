"""Stream processing (installed as ``tapewire.streams``), in layers from the bottom up:

- domain cores, pure (no Kafka, no Faust): :mod:`~tapewire.streams.normalize`,
  :mod:`~tapewire.streams.aggregate`, :mod:`~tapewire.streams.oms`,
  :mod:`~tapewire.streams.risk`, :mod:`~tapewire.streams.execution`,
  :mod:`~tapewire.streams.trading`;
- stages, Kafka-free batch functions over those cores: :mod:`~tapewire.streams.stages` and
  the router (:mod:`~tapewire.streams.router`);
- the two shells that run the same stage objects: :mod:`~tapewire.streams.agents` (Faust)
  and :mod:`~tapewire.streams.hotpath` (one confluent-kafka loop).

Each subpackage's docstring says what it may import; ``make lint`` checks it.
"""
