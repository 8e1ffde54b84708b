"""Avro schemas of every canonical event and the codec at the Kafka boundary
(installed as ``tapewire.schemas``).

May import: :mod:`tapewire.core`.
"""
