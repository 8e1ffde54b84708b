"""One output file per topic: JSON lines or Parquet.

JSON lines: one object per record, fields as in the Avro schema; decimals as exact strings
in plain notation (``"0.00000812"``), timestamps as integer UTC ns, bytes (dead letters'
``payload`` and ``key``) as standard base64. Parquet: one column per field; decimals as
``decimal128(38, 18)`` (exact, the ClickHouse ``Decimal(38, 18)`` of the md tables), ints
as ``int64``, book levels as ``list<struct<price, size>>``, dead-letter labels as
``map<string, string>``.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

import msgspec
import orjson

from tapewire.core.records import TypedRecord
from tapewire.records.dead_letters import DeadLetter
from tapewire.records.market import BookUpdate, CoverageEvent, DerivativesTicker, Quote, Trade
from tapewire.streams.normalize.normalizer import (
    BOOK,
    COVERAGE,
    DERIVATIVES,
    DLQ,
    QUOTES,
    TOPICS,
    TRADES,
)

FORMATS = ("jsonl", "parquet")
RECORD_TYPES: dict[str, type[TypedRecord]] = {
    TRADES: Trade,
    BOOK: BookUpdate,
    QUOTES: Quote,
    DERIVATIVES: DerivativesTicker,
    COVERAGE: CoverageEvent,
    DLQ: DeadLetter,
}
"""The record type of each output topic (the Parquet schema is derived from it)."""
ROW_GROUP = 16_384


class TopicWriter(Protocol):
    """Writes one topic's records to one file."""

    path: Path
    count: int

    def write(self, records: list[TypedRecord]) -> None: ...

    def close(self) -> None: ...


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def record_json(record: TypedRecord) -> bytes:
    """One record as a JSON line (with its newline)."""
    return orjson.dumps(record.to_dict(), default=_json_default, option=orjson.OPT_APPEND_NEWLINE)


class JsonlWriter:
    """``<topic>.jsonl``."""

    def __init__(self, folder: Path, topic: str) -> None:
        self.path = folder / f"{topic}.jsonl"
        self.count = 0
        self._file = self.path.open("wb")

    def write(self, records: list[TypedRecord]) -> None:
        self._file.write(b"".join(record_json(r) for r in records))
        self.count += len(records)

    def close(self) -> None:
        self._file.close()


def _arrow_type(info: msgspec.inspect.Type) -> Any:
    import pyarrow as pa

    mi = msgspec.inspect
    if isinstance(info, mi.UnionType):
        (inner,) = (t for t in info.types if not isinstance(t, mi.NoneType))
        return _arrow_type(inner)
    if isinstance(info, mi.DecimalType):
        return pa.decimal128(38, 18)
    if isinstance(info, mi.IntType):
        return pa.int64()
    if isinstance(info, mi.StrType):
        return pa.string()
    if isinstance(info, mi.BoolType):
        return pa.bool_()
    if isinstance(info, mi.BytesType):
        return pa.binary()
    if isinstance(info, mi.ListType):
        return pa.list_(_arrow_type(info.item_type))
    if isinstance(info, mi.DictType):
        return pa.map_(_arrow_type(info.key_type), _arrow_type(info.value_type))
    if isinstance(info, mi.StructType):
        return pa.struct([(f.name, _arrow_type(f.type)) for f in info.fields])
    raise TypeError(f"no Parquet type for {info}")


def arrow_schema(record_type: type[TypedRecord]) -> Any:
    """The ``pyarrow.Schema`` of a record type (decimals as ``decimal128(38, 18)``)."""
    import pyarrow as pa

    info = msgspec.inspect.type_info(record_type)
    assert isinstance(info, msgspec.inspect.StructType)
    return pa.schema(
        [pa.field(f.name, _arrow_type(f.type), nullable=not f.required) for f in info.fields]
    )


class ParquetWriter:
    """``<topic>.parquet``, written in row groups of :data:`ROW_GROUP` records."""

    def __init__(self, folder: Path, topic: str) -> None:
        import pyarrow.parquet as pq

        self.path = folder / f"{topic}.parquet"
        self.count = 0
        self.schema = arrow_schema(RECORD_TYPES[topic])
        self._rows: list[dict[str, Any]] = []
        self._writer = pq.ParquetWriter(self.path, self.schema)

    def write(self, records: list[TypedRecord]) -> None:
        self._rows.extend(r.to_dict() for r in records)
        self.count += len(records)
        if len(self._rows) >= ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self._rows:
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=self.schema))
            self._rows = []

    def close(self) -> None:
        self._flush()
        self._writer.close()


class TopicFiles:
    """The writers of every output topic in ``folder``; a context manager."""

    def __init__(self, folder: Path, fmt: str) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")
        folder.mkdir(parents=True, exist_ok=True)
        cls = JsonlWriter if fmt == "jsonl" else ParquetWriter
        self.writers: dict[str, TopicWriter] = {}
        try:
            for topic in TOPICS:
                self.writers[topic] = cls(folder, topic)
        except BaseException:
            self.close()
            raise

    def write(self, records: dict[str, list[TypedRecord]]) -> None:
        """Append one result's records (``NormalizeResult.records``)."""
        for topic, recs in records.items():
            if recs:
                self.writers[topic].write(recs)

    def close(self) -> None:
        """Close every file."""
        for writer in self.writers.values():
            writer.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
