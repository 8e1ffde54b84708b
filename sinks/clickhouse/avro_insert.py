"""Let ClickHouse decode the Avro: a chunk's message values go into one INSERT ... SELECT.

The per-record Python work of the sink (fastavro decode, Decimal conversion, row tuple,
clickhouse-connect's column encoding) costs ~10 us per record; ClickHouse's own Avro
reader does the same in well under 2 us. For the chunks of one topic (one or several of its
partitions), this module writes
the message values, unchanged, as the records of one block of an Avro object container
file, and inserts it with ``INSERT INTO <table> SELECT <expressions> FROM file(...)``.

Each Confluent wire-format message is ``0x00`` + 4-byte schema id + the Avro record. The
container's schema therefore declares every record as::

    __tapewire_header fixed(5)    the magic byte and schema id, checked in SQL
    <the writer schema's fields>  the message's Avro record, byte for byte
    __tapewire_sink fixed(16)     appended by the sink: partition and record index, Kafka offset

so the message bytes are used as they are (no slicing), and the SELECT checks per row, before
anything is written, that

* the header is the current schema's (else the chunk takes the Python path, which resolves
  older schema versions),
* the record index in the appended field equals the row number: a record that is shorter
  or longer than its schema says shifts every following field, so it cannot pass,
* every string is valid UTF-8 and every decimal within decimal(38, 18), the checks the
  Python decoder makes (fastavro decodes strings strictly; ``tapewire.schemas.codec`` refuses
  decimals of more than 38 digits), also inside arrays, records and maps (``arrayExists``
  over the elements, map keys and values),
* no map repeats a key (fastavro keeps the last value of a repeated key, a ClickHouse
  ``Map`` would keep them all).

Any failure (those checks, an Avro error, an enum index out of range, a decimal ClickHouse
cannot read) fails the whole INSERT before any row is written; the sink then decodes that
chunk record by record in Python, dead-letters the bad records and inserts the rest under
the same deduplication token. So the rows, tokens and dead letters are the same as with the
Python path; only the time differs. Equivalence, exactness and fallback are tested in
``tests/integration/sinks/test_sink_avro_insert.py``.

Handled: ``string``, ``bytes`` (a ``String`` of any bytes), ``int``, ``long``, ``boolean``,
enum symbols, decimal(38, 18) bytes, ``[null, <a scalar>]``, arrays (``Array``), maps
(``Map(String, T)``) and records (``Tuple`` with named elements, e.g. the book's
``Array(Tuple(price Decimal(38, 18), size Decimal(38, 18)))``), including named types
referenced again later (``asks``: ``"io.tapewire.PriceLevel"``). Other types (float,
double, fixed, unions of two non-null types, nullable arrays/maps/records) keep the Python
path, and so does a ClickHouse server over HTTP (``file()`` reads the embedded engine's
local files; the server would need ``FROM input()`` with the container as the request
body).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from struct import Struct
from typing import Any

from clickhouse_connect.driver.client import Client

from tapewire.schemas.registry import AvroSchema

__all__ = ["HEADER_FIELD", "SENTINEL_FIELD", "AvroInsert", "UnsupportedSchemaError"]

HEADER_FIELD = "__tapewire_header"
SENTINEL_FIELD = "__tapewire_sink"
_SENTINEL = Struct(">QQ")  # Kafka partition << 32 | record index in the insert, Kafka offset
_DECIMAL_MAX = "99999999999999999999.999999999999999999"  # 10**20 - 10**-18
_NANOS = frozenset(("timestamp-nanos", "local-timestamp-nanos"))
_PRIMITIVE_TYPES = {
    "string": "String",
    "bytes": "String",
    "int": "Int32",
    "long": "Int64",
    "boolean": "Bool",
}
_SYNC = b"tapewire-sink-01"  # any 16 bytes; the container is read once, by us


class UnsupportedSchemaError(ValueError):
    """The schema has a field type the SQL path does not decode."""


def _zigzag(value: int) -> bytes:
    """An Avro ``long`` (zig-zag varint)."""
    n = (value << 1) ^ (value >> 63)
    out = bytearray()
    while n & ~0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _avro_bytes(data: bytes) -> bytes:
    return _zigzag(len(data)) + data


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _setting_name(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a setting name: {name!r}")
    return name


class _Fields:
    """Maps the writer schema's field types to ClickHouse types, checks and container types.

    Named types (records, enums) are defined once in the writer schema and referenced by
    name afterwards (``asks: {"type": "array", "items": "io.tapewire.PriceLevel"}``); the
    container schema keeps that order, so a reference stays a reference.
    """

    def __init__(self) -> None:
        self._named: dict[str, Any] = {}
        self._depth = 0  # lambda nesting, for unique variable names

    def _define(self, node: Mapping[str, Any], namespace: str) -> tuple[str, str]:
        name = str(node["name"])
        space = str(node.get("namespace", namespace)) if "." not in name else ""
        full = f"{space}.{name}" if space else name
        self._named[full] = node
        return full, full.rpartition(".")[0]

    def _lookup(self, name: str, namespace: str) -> tuple[Any, str] | None:
        # an unqualified name is looked up in the enclosing namespace first (Avro spec)
        for full in (f"{namespace}.{name}" if namespace and "." not in name else name, name):
            if full in self._named:
                return self._named[full], full.rpartition(".")[0]
        return None

    def column(self, expr: str, node: Any, namespace: str) -> tuple[str, list[str], Any]:
        """(ClickHouse type, per-row checks over ``expr``, container schema node)."""
        if isinstance(node, list):
            branches = [b for b in node if b != "null"]
            if len(node) != 2 or len(branches) != 1 or node[0] != "null":
                raise UnsupportedSchemaError(f"{expr}: only [null, T] unions are supported")
            inner, checks, plain = self.column(expr, branches[0], namespace)
            if inner.startswith(("Array(", "Map(", "Tuple(")):
                raise UnsupportedSchemaError(f"{expr}: a nullable {inner} is not supported")
            # NULL passes: a check of a NULL value is NULL, made false here
            return f"Nullable({inner})", [f"ifNull({c}, 0)" for c in checks], ["null", plain]
        if isinstance(node, str):
            if node in _PRIMITIVE_TYPES:
                checks = [f"NOT isValidUTF8({expr})"] if node == "string" else []
                return _PRIMITIVE_TYPES[node], checks, node
            found = self._lookup(node, namespace)
            if found is None:
                raise UnsupportedSchemaError(f"{expr}: type {node!r} is not supported")
            column_type, checks, _plain = self.column(expr, found[0], found[1])
            return column_type, checks, node  # defined earlier in the container schema
        kind = node.get("type")
        logical = node.get("logicalType")
        if kind == "long" and logical in _NANOS:
            # a plain long for ClickHouse, converted with fromUnixTimestamp64Nano in SQL
            return "Int64", [], "long"
        if kind == "bytes" and logical == "decimal":
            if (int(node["precision"]), int(node.get("scale", 0))) != (38, 18):
                raise UnsupportedSchemaError(f"{expr}: only decimal(38, 18) is supported")
            bound = f"toDecimal128('{_DECIMAL_MAX}', 18)"
            return "Decimal(38, 18)", [f"({expr} > {bound} OR {expr} < -{bound})"], node
        if kind == "enum":
            self._define(node, namespace)
            return "String", [], node
        if kind == "array":
            return self._array(expr, node["items"], namespace)
        if kind == "map":
            return self._map(expr, node["values"], namespace)
        if kind == "record":
            return self._record(expr, node, namespace)
        if isinstance(kind, str) and kind in _PRIMITIVE_TYPES and logical is None:
            return self.column(expr, kind, namespace)
        raise UnsupportedSchemaError(f"{expr}: type {kind!r} ({logical}) is not supported")

    def _each(self, expr: str, items: Any, namespace: str) -> tuple[str, str | None, Any]:
        """(item type, check of any item of the array ``expr`` or None, item node)."""
        self._depth += 1
        var = f"_x{self._depth}"
        try:
            item_type, checks, plain = self.column(var, items, namespace)
        finally:
            self._depth -= 1
        if not checks:
            return item_type, None, plain
        return item_type, f"arrayExists({var} -> {' OR '.join(checks)}, {expr})", plain

    def _array(self, expr: str, items: Any, namespace: str) -> tuple[str, list[str], Any]:
        item_type, check, plain = self._each(expr, items, namespace)
        return (
            f"Array({item_type})",
            [] if check is None else [check],
            {
                "type": "array",
                "items": plain,
            },
        )

    def _map(self, expr: str, values: Any, namespace: str) -> tuple[str, list[str], Any]:
        value_type, check, plain = self._each(f"mapValues({expr})", values, namespace)
        keys = f"mapKeys({expr})"
        checks = [
            f"NOT arrayAll(_k -> isValidUTF8(_k), {keys})",
            # fastavro keeps the last of repeated keys, a ClickHouse Map keeps them all
            f"length(arrayDistinct({keys})) != length({keys})",
        ]
        if check is not None:
            checks.append(check)
        return f"Map(String, {value_type})", checks, {"type": "map", "values": plain}

    def _record(
        self, expr: str, node: Mapping[str, Any], namespace: str
    ) -> tuple[str, list[str], Any]:
        _full, space = self._define(node, namespace)
        elements: list[str] = []
        checks: list[str] = []
        fields: list[Mapping[str, Any]] = []
        for field in node["fields"]:
            name = str(field["name"])
            element_type, element_checks, plain = self.column(
                f"tupleElement({expr}, {_literal(name)})", field["type"], space
            )
            elements.append(f"{name} {element_type}")
            checks.extend(element_checks)
            fields.append({"name": name, "type": plain})
        plain_record = {key: node[key] for key in ("type", "name", "namespace") if key in node}
        return f"Tuple({', '.join(elements)})", checks, {**plain_record, "fields": fields}


class AvroInsert:
    """The SQL path for one table mapping and one writer schema (the current one).

    ``schema`` is the self-contained writer schema, ``schema_id`` its registry id,
    ``columns`` the table columns before the Kafka provenance and ``expressions`` one SQL
    expression per column over the record's field names.
    """

    def __init__(
        self,
        table: str,
        schema: AvroSchema,
        schema_id: int,
        columns: Sequence[str],
        expressions: Sequence[str],
    ) -> None:
        if len(columns) != len(expressions):
            raise ValueError(f"{table}: {len(columns)} columns, {len(expressions)} expressions")
        self.table = table
        self.header = bytes((0,)) + schema_id.to_bytes(4, "big")
        structure = [f"{HEADER_FIELD} FixedString(5)"]
        checks: list[str] = []
        fields: list[Mapping[str, Any]] = [
            {"name": HEADER_FIELD, "type": {"type": "fixed", "name": "TapewireHeader", "size": 5}}
        ]
        types = _Fields()
        namespace = str(schema.get("namespace", ""))
        for field in schema["fields"]:
            name = field["name"]
            column_type, field_checks, plain = types.column(name, field["type"], namespace)
            structure.append(f"{name} {column_type}")
            checks.extend(field_checks)
            fields.append({"name": name, "type": plain})
        fields.append(
            {"name": SENTINEL_FIELD, "type": {"type": "fixed", "name": "TapewireSink", "size": 16}}
        )
        structure.append(f"{SENTINEL_FIELD} FixedString(16)")
        container_schema = {
            "type": "record",
            "name": schema["name"],
            "namespace": schema.get("namespace", ""),
            "fields": fields,
        }
        self._file_header = self._make_file_header(json.dumps(container_schema).encode())
        self._structure = ", ".join(structure)
        # the first 8 bytes: the Kafka partition in the high 32 bits, the record index in
        # the low 32 (one INSERT may hold the records of several partitions of one topic)
        slot = f"reinterpretAsUInt64(reverse(substring({SENTINEL_FIELD}, 1, 8)))"
        index = f"bitAnd({slot}, 4294967295)"
        self._partition = f"toInt32(bitShiftRight({slot}, 32))"
        self._offset = f"reinterpretAsUInt64(reverse(substring({SENTINEL_FIELD}, 9, 8)))"
        header_literal = "unhex('" + self.header.hex() + "')"
        row_checks = [
            f"{HEADER_FIELD} != {header_literal}",
            f"{index} != rowNumberInAllBlocks()",
            *checks,
        ]
        # The checks are part of a column expression, not a WHERE: a row can fail the
        # INSERT but never be filtered out. A NULL condition counts as failed.
        failed = " OR ".join(f"({c})" for c in row_checks)
        self._checked_offset = (
            f"{self._offset} + throwIf(ifNull({failed}, 1), 'tapewire sink: a record does "
            "not pass the checks of the Avro insert')"
        )
        self._columns = ", ".join((*columns, "kafka_topic", "kafka_partition", "kafka_offset"))
        self._expressions = ", ".join(expressions)

    @staticmethod
    def _make_file_header(schema_json: bytes) -> bytes:
        meta = {b"avro.schema": schema_json, b"avro.codec": b"null"}
        out = bytearray(b"Obj\x01")
        out += _zigzag(len(meta))
        for key, value in meta.items():
            out += _avro_bytes(key) + _avro_bytes(value)
        out += b"\x00" + _SYNC
        return bytes(out)

    def container(
        self,
        values: Sequence[bytes],
        offsets: Sequence[int],
        partitions: Sequence[tuple[int, int]] | None = None,
    ) -> bytes:
        """The Avro object container file of these message values (one block).

        ``partitions`` lists ``(partition, count)`` runs covering the values in order (the
        default: all from partition 0).
        """
        if len(values) >= 1 << 32:
            raise ValueError(f"{len(values)} records in one insert (at most 2**32 - 1)")
        runs = [(0, len(values))] if partitions is None else partitions
        pack = _SENTINEL.pack
        parts: list[bytes] = []
        append = parts.append
        index = 0
        for partition, count in runs:
            high = partition << 32
            for value, offset in zip(
                values[index : index + count], offsets[index : index + count], strict=True
            ):
                append(value)
                append(pack(high | index, offset))
                index += 1
        if index != len(values):
            raise ValueError(f"partition runs cover {index} of {len(values)} records")
        body = b"".join(parts)
        return b"".join((self._file_header, _zigzag(len(values)), _zigzag(len(body)), body, _SYNC))

    def sql(
        self,
        path: str,
        topic: str,
        settings: Mapping[str, str | int] | None = None,
    ) -> str:
        """The INSERT of the container at ``path`` read from ``topic`` (each record's
        partition is in its sentinel), with ``settings`` in its own SETTINGS clause (they
        apply to this statement only)."""
        clause = ""
        if settings:
            clause = "SETTINGS " + ", ".join(
                f"{_setting_name(k)} = {v if isinstance(v, int) else _literal(v)}"
                for k, v in settings.items()
            )
        return (
            f"INSERT INTO {self.table} ({self._columns}) {clause} "
            f"SELECT {self._expressions}, {_literal(topic)}, {self._partition}, "
            f"{self._checked_offset} "
            f"FROM file({_literal(path)}, 'Avro', {_literal(self._structure)})"
        )

    def insert(
        self,
        client: Client,
        values: Sequence[bytes],
        offsets: Sequence[int],
        topic: str,
        partitions: int | Sequence[tuple[int, int]],
        settings: Mapping[str, str | int],
    ) -> None:
        """Insert the records as one block (raises on any error; nothing is written then).

        ``partitions``: the one partition of all records, or ``(partition, count)`` runs
        covering them in order.

        The settings go into the statement's SETTINGS clause, not ``client.command``'s
        ``settings``: on chDB, clickhouse-connect applies those with a read of
        ``system.settings`` and a ``SET`` before and after the statement for each one
        (17 more queries here), which cost more CPU than the insert of a small chunk.
        """
        runs = [(partitions, len(values))] if isinstance(partitions, int) else partitions
        data = self.container(values, offsets, runs)
        fd, path = tempfile.mkstemp(prefix="tapewire-sink-", suffix=".avro")
        block = max(len(values), 1)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            statement_settings: dict[str, str | int] = {
                **settings,
                # one reader thread (rowNumberInAllBlocks in order) and one block
                # (a bad record fails the INSERT before anything is written)
                "max_threads": 1,
                "max_insert_threads": 1,
                "min_insert_block_size_rows": block,
                "min_insert_block_size_bytes": 0,
                "max_insert_block_size": block,
                "max_block_size": block,
            }
            client.command(self.sql(path, topic, statement_settings))
        finally:
            os.unlink(path)
