"""Avro encoding of Tapewire records by topic, in the Confluent wire format, with schemas
parsed once: :class:`Codec`, the front the rest of Tapewire uses. Typical use::

    codec = Codec.from_settings(settings)          # or Codec() for deterministic local ids
    value = codec.encode("md.trades", trade)       # dict -> bytes
    key = codec.key("md.trades", trade)            # b"binance:<instrument>"
    trade = codec.read("md.trades", value)         # bytes -> tapewire.records.market.Trade
    record = codec.decode("md.trades", value)      # bytes -> dict (tools, any schema)

Encode takes a typed record (``tapewire.records``) or a dict. In both, decimals are
:class:`decimal.Decimal` (never float), timestamps are ``int`` nanoseconds, enums are their
symbol strings, ``bytes`` fields are ``bytes``.

Every record is checked before it is written: a bad record raises
:class:`~tapewire.core.errors.SchemaError` naming the schema, the field path
(``bids[3].price``) and the value; nothing is ever rounded. The parts: schema files in
:mod:`tapewire.schemas.loading`, record checks in :mod:`tapewire.schemas.validation`, one
schema under one id on the wire in :mod:`tapewire.schemas.wire`, and which schema and key
go on which topic in :mod:`tapewire.schemas.registry`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tapewire.core.errors import SchemaError
from tapewire.core.records import Record, TypedRecord
from tapewire.schemas.loading import SCHEMA_DIR, fullname_of, load_schemas
from tapewire.schemas.registry import (
    TOPICS,
    AvroSchema,
    LocalSchemaRegistry,
    SchemaRegistry,
    key_function,
    registry_from_settings,
    schema_name_for_topic,
    subject_for_topic,
)
from tapewire.schemas.wire import HEADER_SIZE, AvroSerde

if TYPE_CHECKING:
    from tapewire.core.settings import Settings


class Codec:
    """Every Tapewire schema with one registry: encode and decode by topic.

    With a :class:`~tapewire.schemas.registry.LocalSchemaRegistry` (the default) ids are
    deterministic; with a :class:`~tapewire.schemas.registry.ConfluentSchemaRegistry` a topic's
    schema is registered under ``<topic>-value`` the first time the topic is used.
    """

    def __init__(
        self,
        registry: SchemaRegistry | None = None,
        *,
        directory: Path = SCHEMA_DIR,
        compiled: bool = True,
    ) -> None:
        self.compiled = compiled
        """Use the generated writers/readers (:mod:`tapewire.schemas.compiled`); False:
        fastavro only (benchmarks compare the two)."""
        self.schemas: Mapping[str, AvroSchema] = load_schemas(directory)
        self.registry: SchemaRegistry = registry if registry is not None else LocalSchemaRegistry()
        self._serdes: dict[str, AvroSerde] = {}
        self._keys: dict[str, Callable[[Record], bytes]] = {}
        self._lock = threading.Lock()
        if isinstance(self.registry, LocalSchemaRegistry):
            for spec in TOPICS:
                self.registry.register("", self.schemas[spec.schema])

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Codec:
        """A codec using the registry the settings name (``SCHEMA_REGISTRY_URL``), if any."""
        return cls(registry_from_settings(settings))

    def for_topic(self, topic: str) -> AvroSerde:
        """The serde for ``topic`` (built, and registered if needed, on first use)."""
        serde = self._serdes.get(topic)
        if serde is not None:
            return serde
        name = schema_name_for_topic(topic)
        schema = self.schemas[name]
        schema_id = self.registry.register(subject_for_topic(topic), schema)
        serde = AvroSerde(
            name, schema, schema_id, self.registry.get_schema, label=topic, compiled=self.compiled
        )
        with self._lock:
            return self._serdes.setdefault(topic, serde)

    def preload(self, topics: Iterable[str] | None = None) -> dict[str, int]:
        """Build (and register) the serdes of ``topics`` now; by default every exact topic.

        Call at start-up so a registry problem fails there, not on the first message.
        """
        names = (
            list(topics)
            if topics is not None
            else [spec.topic for spec in TOPICS if not spec.topic.endswith("*")]
        )
        return {topic: self.for_topic(topic).schema_id for topic in names}

    def encode(self, topic: str, record: Record) -> bytes:
        """Message value for ``record`` (a typed record or a dict) on ``topic``."""
        return self.for_topic(topic).encode(record)

    def check(self, topic: str, record: Record) -> None:
        """Raise :class:`SchemaError` if ``record`` could not be encoded for ``topic``."""
        self.for_topic(topic).check(record)

    def read(self, topic: str, data: bytes) -> TypedRecord:
        """Typed record (``tapewire.records``) from a message value read from ``topic``."""
        return self.for_topic(topic).read(data)

    def decode(self, topic: str, data: bytes) -> dict[str, Any]:
        """Record from a message value read from ``topic`` (in the current schema)."""
        return self.for_topic(topic).decode(data)

    def key(self, topic: str, record: Record) -> bytes:
        """Message key for ``record`` on ``topic`` (see ``tapewire.schemas.registry.TOPICS``)."""
        return self.key_of(topic)(record)

    def key_of(self, topic: str) -> Callable[[Record], bytes]:
        """The function :meth:`key` calls for ``topic`` (to look it up once per batch)."""
        key = self._keys.get(topic)
        if key is None:
            key = self._keys.setdefault(topic, key_function(topic))
        return key

    def decode_any(self, data: bytes) -> tuple[str, dict[str, Any]]:
        """Full name of the writer schema and the record as written, for any topic."""
        if not isinstance(data, bytes | bytearray) or len(data) < HEADER_SIZE or data[0]:
            raise SchemaError(
                "not a Confluent wire-format message (magic byte 0 + 4-byte schema id)",
                value=bytes(data[:HEADER_SIZE]) if isinstance(data, bytes | bytearray) else data,
                hint="pass the Kafka message value as bytes",
            )
        schema_id = int.from_bytes(data[1:HEADER_SIZE], "big")
        writer = self.registry.get_schema(schema_id)
        name = fullname_of(writer)
        serde = AvroSerde(name, writer, schema_id, self.registry.get_schema, compiled=False)
        return name, serde.decode(data)
