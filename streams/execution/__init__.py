"""Execution pure core: paper venue (matching against an L2 book) and venue rules adapter.

No Kafka here: records in and out are the Avro record dicts of ``schemas/avro``
(``OrderRequest`` in; ``OrderEvent`` and ``Fill`` out; ``BookUpdate`` and ``Trade`` consumed).
See ``docs/paper-venue.md``.

May import: :mod:`tapewire.streams.oms`, :mod:`tapewire.schemas`, :mod:`tapewire.core`.
Pure: no Kafka client, no Faust.
"""
