"""Kafka plumbing: the local broker from jars (process, properties, state), choosing which
Kafka to use, topic declaration and the small produce/read helpers.

May import: :mod:`tapewire.core`, :mod:`tapewire.schemas`. Imported by the shells and the
entry points, never by a domain core or a stage.
"""
