"""The record types: what passes between stages, as Python code sees it.

:class:`TypedRecord` is the base of every event record (``tapewire.records``): a frozen
``msgspec.Struct`` whose fields are the Avro schema's, in order (decimals as
:class:`decimal.Decimal`, timestamps as ``int`` nanoseconds, enums as their symbol ``str``).
Code reads fields as attributes (``trade.price``). Every record is also a read-only
mapping (``record["price"]``, ``record.get``, ``dict(record)``) for the code that treats
records generically by field name: the sink's columns, dead letters, the CLI's printing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any, Self, TypeVar

import msgspec

_BUILTINS = (Decimal, bytes)


class TypedRecord(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Base of the event records: frozen, slotted, keyword-built, a read-only mapping."""

    def __getitem__(self, name: str) -> Any:
        try:
            return getattr(self, name)
        except (AttributeError, TypeError):  # no such field, or not a str
            raise KeyError(name) from None

    def get(self, name: str, default: Any = None) -> Any:
        """The field ``name``, or ``default`` if the record has no such field."""
        return getattr(self, name, default)

    def keys(self) -> tuple[str, ...]:
        """The field names, in schema order."""
        return self.__struct_fields__

    def values(self) -> list[Any]:
        """The field values, in schema order."""
        return [getattr(self, name) for name in self.__struct_fields__]

    def items(self) -> list[tuple[str, Any]]:
        """(name, value) pairs, in schema order."""
        return [(name, getattr(self, name)) for name in self.__struct_fields__]

    def __iter__(self) -> Iterator[str]:
        return iter(self.__struct_fields__)

    def __len__(self) -> int:
        return len(self.__struct_fields__)

    def __contains__(self, name: object) -> bool:
        return name in self.__struct_fields__

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` applied (records are immutable)."""
        return msgspec.structs.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The record as plain dicts and lists, all the way down (decimals stay Decimal)."""
        result: dict[str, Any] = msgspec.to_builtins(self, builtin_types=_BUILTINS)
        return result


Mapping.register(TypedRecord)
R = TypeVar("R", bound=TypedRecord)


def expect(record: TypedRecord, cls: type[R]) -> R:
    """``record`` as a ``cls``; :class:`TypeError` if it is another record type (a stage
    dead-letters it)."""
    if not isinstance(record, cls):
        raise TypeError(f"expected a {cls.__name__} record, got a {type(record).__name__}")
    return record


Record = Mapping[str, Any] | TypedRecord
"""A record: a typed record, or a decoded Avro record as a plain mapping (tools, tests)."""

MutableRecord = dict[str, Any]
"""A record being built as a dict (before it becomes a typed record or is encoded)."""
