"""Typed event records, one module per family: what passes between stages.

Every class is a :class:`~tapewire.core.records.TypedRecord` whose fields are its Avro
schema's (``schemas/avro/io.tapewire.<Name>.avsc``), in order, with the same defaults; a
test keeps them in step. The Avro codec converts them at the Kafka boundary only
(:meth:`tapewire.schemas.codec.Codec.read`); inside a process stages pass the objects.

May import: ``tapewire.core`` and the standard library (no schemas, no Kafka).
"""
