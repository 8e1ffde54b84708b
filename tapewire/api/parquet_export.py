"""History as Parquet: one column per result column, typed from ClickHouse's types so
values stay exact (``Decimal(38, 18)`` → ``decimal128(38, 18)``, ``*_ns`` → ``int64``,
``Nullable`` → a nullable column); a type without an exact Arrow twin is written as the text
ClickHouse shows for it (as in the CSV)."""

from __future__ import annotations

import io
import re
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tapewire.sinks.clickhouse.query import QueryResult, format_value

_DECIMAL = re.compile(r"^Decimal\((\d+),\s*(\d+)\)$")
_INTS = {
    "Int8": pa.int8(),
    "Int16": pa.int16(),
    "Int32": pa.int32(),
    "Int64": pa.int64(),
    "UInt8": pa.uint8(),
    "UInt16": pa.uint16(),
    "UInt32": pa.uint32(),
    "UInt64": pa.uint64(),
}
MEDIA_TYPE = "application/vnd.apache.parquet"


def arrow_type(clickhouse_type: str) -> tuple[pa.DataType, bool]:
    """The Arrow type of a ClickHouse type name, and whether values go as text."""
    name = clickhouse_type
    for wrapper in ("Nullable(", "LowCardinality("):
        if name.startswith(wrapper) and name.endswith(")"):
            name = name[len(wrapper) : -1]
    if name.startswith("Nullable(") and name.endswith(")"):  # LowCardinality(Nullable(..))
        name = name[len("Nullable(") : -1]
    decimal = _DECIMAL.match(name)
    if decimal is not None and int(decimal.group(1)) <= 38:
        return pa.decimal128(int(decimal.group(1)), int(decimal.group(2))), False
    if name in _INTS:
        return _INTS[name], False
    if name == "Bool":
        return pa.bool_(), False
    if name == "String" or name.startswith("Enum"):
        return pa.string(), False
    return pa.string(), True


def to_parquet(result: QueryResult) -> bytes:
    """``result`` as a Parquet file (zstd-compressed)."""
    arrays = []
    fields = []
    for i, (name, ch_type) in enumerate(zip(result.column_names, result.column_types, strict=True)):
        kind, as_text = arrow_type(ch_type)
        values: list[Any] = [row[i] for row in result.rows]
        if as_text:
            values = [None if v is None else format_value(v) for v in values]
        arrays.append(pa.array(values, type=kind))
        fields.append(pa.field(name, kind, nullable=True))
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd")
    return out.getvalue()
