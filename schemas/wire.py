"""The Confluent wire format: one schema under one schema id, encoded and decoded.

A message value is ``0x00`` (:data:`MAGIC_BYTE`), the writer schema's id as 4 bytes
big-endian, then the record in Avro binary encoding (:data:`HEADER_SIZE` is the 5 bytes
before the record). :class:`AvroSerde` checks every record before writing it
(:mod:`tapewire.schemas.validation`), and reads data written with another version of its
schema by resolving the writer schema its header names.

Records and messages in the common case (a well-formed record; a message written with
the current schema) take the generated writer and readers of
:mod:`tapewire.schemas.compiled`, which produce the same bytes and records; everything
else (a record to check and explain, another writer schema, corrupt data) takes fastavro.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from io import BytesIO
from typing import Any, cast

import msgspec
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from tapewire.core.errors import SchemaError
from tapewire.core.records import Record, TypedRecord
from tapewire.records.catalog import RECORD_TYPES
from tapewire.schemas.compiled import compile_reader, compile_writer
from tapewire.schemas.loading import for_fastavro, fullname_of
from tapewire.schemas.registry import AvroSchema, canonical_form
from tapewire.schemas.validation import (
    BadValueError,
    Compiler,
    DecimalReader,
    with_written_scales,
)

MAGIC_BYTE = 0
HEADER_SIZE = 5
_Reader = tuple[Any, Any, Callable[[Any], Any] | None]
"""(fastavro writer schema, reader schema or None, decimal converter or None)."""


class AvroSerde:
    """Encoder/decoder of one schema under one schema id (a ``Codec`` holds one per topic)."""

    def __init__(
        self,
        name: str,
        schema: AvroSchema,
        schema_id: int,
        writer_schema: Callable[[int], AvroSchema],
        *,
        label: str | None = None,
        compiled: bool = True,
    ) -> None:
        self.name = name
        self.schema = schema
        self.schema_id = schema_id
        self.label = label or name
        self._header = bytes((MAGIC_BYTE,)) + schema_id.to_bytes(4, "big")
        self._prepare = Compiler(RECORD_TYPES).compile(schema)
        self.record_type: type[TypedRecord] | None = RECORD_TYPES.get(name)
        # fastavro reads and writes decimals as plain bytes (same encoding); the
        # conversion to and from Decimal is done here, exactly and faster.
        self._wire = parse_schema(for_fastavro(schema, decimals=False))
        self._read_decimals = DecimalReader().compile(schema)
        self._form = canonical_form(schema)
        self._writer_schema = writer_schema
        self._readers: dict[int, _Reader] = {schema_id: (self._wire, None, self._read_decimals)}
        self._lock = threading.Lock()
        self._fast_write = compile_writer(schema, self._header, RECORD_TYPES) if compiled else None
        self._fast_read = (
            compile_reader(schema, RECORD_TYPES, typed=True)
            if compiled and self.record_type is not None
            else None
        )
        self._fast_decode = compile_reader(schema, typed=False) if compiled else None

    @property
    def fast_writer(self) -> Callable[[Any], bytes] | None:
        """The generated writer (no checks, no error messages: it raises for any record it
        does not take, which :meth:`encode` then writes or explains), or None."""
        return self._fast_write

    @property
    def fast_decoder(self) -> Callable[[bytes], dict[str, Any]] | None:
        """The generated dict reader of a whole message whose header is :attr:`header`
        (it raises for anything it does not take, which :meth:`decode` then reads or
        explains), or None."""
        return self._fast_decode

    @property
    def header(self) -> bytes:
        """The 5 bytes every message written with this schema starts with."""
        return self._header

    def check(self, record: Record) -> None:
        """The checks of :meth:`encode` without writing bytes: :class:`SchemaError` if
        ``record`` does not fit (an in-process consumer, e.g. a backtest, keeps the same
        dead letters as the Kafka path without the Avro cost)."""
        try:
            self._prepare(record)
        except BadValueError as exc:
            raise exc.to_schema_error(self.name) from None

    def encode(self, record: Record) -> bytes:
        """``record`` in the Confluent wire format; :class:`SchemaError` if it does not fit."""
        fast = self._fast_write
        if fast is not None:
            try:
                return fast(record)
            except Exception:  # noqa: S110 - the checked path below writes it or says why not
                pass
        try:
            prepared = self._prepare(record)
        except BadValueError as exc:
            raise exc.to_schema_error(self.name) from None
        buffer = BytesIO()
        buffer.write(self._header)
        try:
            schemaless_writer(buffer, self._wire, prepared)
        except Exception as exc:  # the checks above should make this unreachable
            raise SchemaError(
                f"{self.name}: fastavro could not write the record: {exc}",
                schema=self.name,
                hint="this is a bug in tapewire.schemas: please report it with the record",
            ) from exc
        return buffer.getvalue()

    def decode(self, data: bytes) -> dict[str, Any]:
        """The record in a Confluent wire-format message, read into the current schema.

        Data written with an older (or any backward-compatible) version of the schema is
        resolved into this one: fields added since are filled with their defaults.
        """
        fast = self._fast_decode
        if fast is not None and type(data) is bytes and data[:HEADER_SIZE] == self._header:
            try:
                return cast(dict[str, Any], fast(data))
            except Exception:  # noqa: S110 - fastavro below reads it or says what is wrong
                pass
        if type(data) is bytes and data[:HEADER_SIZE] == self._header:
            schema_id = self.schema_id  # the common case: written with the current schema
        else:
            schema_id = self._check_header(data)
        reader = self._readers.get(schema_id)
        if reader is None:
            reader = self._resolve(schema_id)
        buffer = BytesIO(data)
        buffer.seek(HEADER_SIZE)
        try:
            record: Any = schemaless_reader(buffer, reader[0], reader[1])
            if reader[2] is not None:
                record = reader[2](record)
        except Exception as exc:
            raise self._corrupt(data, schema_id, exc) from exc
        if buffer.tell() != len(data):
            raise SchemaError(
                f"{self.label}: {len(data) - buffer.tell()} bytes left over after the record "
                f"(schema id {schema_id})",
                schema=self.name,
                value=schema_id,
                hint="the payload is corrupt, or was written with a different schema than its "
                "id says",
            )
        return cast(dict[str, Any], record)

    def read(self, data: bytes) -> TypedRecord:
        """The record in a Confluent wire-format message as its typed record class."""
        fast = self._fast_read
        if fast is not None and type(data) is bytes and data[:HEADER_SIZE] == self._header:
            try:
                return cast(TypedRecord, fast(data))
            except Exception:  # noqa: S110 - fastavro below reads it or says what is wrong
                pass
        record = self.decode(data)
        if self.record_type is None:
            raise SchemaError(
                f"{self.label}: {self.name} has no typed record class",
                schema=self.name,
                hint="add it to tapewire.records.catalog.RECORD_TYPES",
            )
        try:
            return msgspec.convert(record, self.record_type)
        except msgspec.ValidationError as exc:  # the schema and the class disagree: a bug
            raise SchemaError(
                f"{self.label}: the decoded record does not fit {self.record_type.__name__}: {exc}",
                schema=self.name,
                hint="tapewire.records and schemas/avro are out of step: please report it",
            ) from exc

    def _check_header(self, data: bytes) -> int:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise SchemaError(
                f"{self.label}: expected bytes, got {type(data).__name__}",
                schema=self.name,
                value=data,
                hint="pass the Kafka message value (bytes)",
            )
        if len(data) < HEADER_SIZE:
            raise SchemaError(
                f"{self.label}: payload of {len(data)} bytes is too short for the Confluent "
                "wire format (1 magic byte + 4-byte schema id + Avro record)",
                schema=self.name,
                value=bytes(data),
                hint="the message is truncated, or was not written by an Avro serializer",
            )
        if data[0] != MAGIC_BYTE:
            raise SchemaError(
                f"{self.label}: unknown magic byte 0x{data[0]:02x} (expected 0x00)",
                schema=self.name,
                value=bytes(data[:HEADER_SIZE]),
                hint="the message was not written in the Confluent Avro wire format (JSON or "
                "raw bytes on an Avro topic?)",
            )
        return int.from_bytes(data[1:HEADER_SIZE], "big")

    def _resolve(self, schema_id: int) -> _Reader:
        try:
            writer = self._writer_schema(schema_id)
        except SchemaError as exc:
            raise SchemaError(
                f"{self.label}: cannot decode: {exc.message}",
                schema=self.name,
                value=schema_id,
                hint=exc.hint,
            ) from exc
        if canonical_form(writer) == self._form:
            found: _Reader = (self._wire, None, self._read_decimals)  # same bytes, same meaning
        else:
            writer_name = fullname_of(writer)
            if writer_name != self.name:
                raise SchemaError(
                    f"{self.label}: the message was written with {writer_name} (schema id "
                    f"{schema_id}), not {self.name}",
                    schema=self.name,
                    value=schema_id,
                    hint="a producer wrote the wrong record type to this topic",
                )
            # decimals are read at the writer's scale and must fit the reader's exactly
            decimals = DecimalReader().compile(with_written_scales(self.schema, writer))
            found = (parse_schema(for_fastavro(writer, decimals=False)), self._wire, decimals)
        with self._lock:
            self._readers[schema_id] = found
        return found

    def _corrupt(self, data: bytes, schema_id: int, exc: Exception) -> SchemaError:
        if isinstance(exc, EOFError | StopIteration) or "EOF" in type(exc).__name__:
            problem = f"the payload ends early ({len(data)} bytes): truncated"
            hint = "the message was cut short; check the producer and any proxy in between"
        elif type(exc).__name__ == "SchemaResolutionError":
            problem = f"written with schema id {schema_id}, which cannot be read as the current "
            problem += f"{self.name}: {exc}"
            hint = "the writer's schema is not backward compatible with this reader"
        else:
            problem = f"corrupt payload ({type(exc).__name__}: {exc})"
            hint = "the bytes do not match the schema named by the id in the header"
        return SchemaError(
            f"{self.label}: cannot decode: {problem}",
            schema=self.name,
            value=schema_id,
            hint=hint,
        )
