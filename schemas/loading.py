"""Loading Tapewire's Avro schemas: the ``.avsc`` files in :data:`SCHEMA_DIR`, one named type
per file, made self-contained (every referenced type defined inline at first use) and
checked by fastavro.

Also owns :func:`fullname_of` and :func:`for_fastavro`, the copy of a schema fastavro
reads and writes with (nanosecond timestamps as plain ``long``, optionally decimals as plain
``bytes``). The naming rule itself (:func:`~tapewire.schemas.registry.qualify`) lives in the
registry, below this module.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastavro import parse_schema

from tapewire.core.errors import SchemaError
from tapewire.schemas.registry import PRIMITIVES, AvroSchema, qualify

SCHEMA_DIR = Path(__file__).with_name("avro")

NAMED_TYPES = frozenset(("record", "error", "enum", "fixed"))
# Logical types fastavro must never convert: Python code sees int nanoseconds. fastavro 1.13
# ignores timestamp-nanos (it decodes to int); stripping it keeps that true if a later fastavro
# learns it and decodes to datetime (which holds only microseconds).
_INT_NANOS = frozenset(("timestamp-nanos", "local-timestamp-nanos"))


def read_schema_files(directory: Path = SCHEMA_DIR) -> dict[str, AvroSchema]:
    """Every ``<full name>.avsc`` in ``directory`` as parsed JSON, keyed by full name."""
    documents: dict[str, AvroSchema] = {}
    for path in sorted(directory.glob("*.avsc")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise SchemaError(
                f"{path.name}: not valid JSON: {exc}",
                schema=path.stem,
                hint="fix the .avsc file",
            ) from exc
        name = fullname_of(document)
        if path.stem != name:
            raise SchemaError(
                f"{path.name} defines {name}; the file must be named {name}.avsc",
                schema=name,
                hint="one named type per file, named <namespace>.<Name>.avsc",
            )
        documents[name] = document
    if not documents:
        raise SchemaError(f"no .avsc files in {directory}", hint="is the package installed?")
    return documents


def self_contained(definitions: Mapping[str, AvroSchema]) -> dict[str, AvroSchema]:
    """Each named type with every type it references defined inline at first use.

    ``definitions`` maps full names to one-type-per-file schema documents that refer to
    each other by name; the result can be given to any Avro library or registry as is.
    """
    result = {}
    for name in definitions:
        result[name] = _inline(definitions[name], "", definitions, set(), (name,))
    for name, schema in result.items():
        try:
            parse_schema(for_fastavro(schema, decimals=True), _write_hint=False)
        except Exception as exc:
            raise SchemaError(
                f"{name}: invalid Avro schema: {exc}", schema=name, hint="fix the .avsc file"
            ) from exc
    return result


def _inline(
    node: Any,
    namespace: str,
    definitions: Mapping[str, AvroSchema],
    seen: set[str],
    stack: tuple[str, ...],
) -> Any:
    if isinstance(node, str):
        if node in PRIMITIVES:
            return node
        full = qualify(node, namespace)
        if full in seen or full in stack[1:]:
            return full
        if full not in definitions:
            raise SchemaError(
                f"{stack[0]}: unknown type {full!r}",
                schema=stack[0],
                hint=f"add {full}.avsc next to the other schemas, or fix the type name",
            )
        return _inline(definitions[full], namespace, definitions, seen, (*stack, full))
    if isinstance(node, list):
        return [_inline(branch, namespace, definitions, seen, stack) for branch in node]
    kind = node["type"]
    copy = dict(node)
    if kind in NAMED_TYPES:
        full = qualify(node["name"], node.get("namespace", namespace))
        seen.add(full)
        inner = full.rpartition(".")[0]
        if kind in ("record", "error"):
            copy["fields"] = [
                {**field, "type": _inline(field["type"], inner, definitions, seen, stack)}
                for field in node["fields"]
            ]
        return copy
    if kind == "array":
        copy["items"] = _inline(node["items"], namespace, definitions, seen, stack)
    elif kind == "map":
        copy["values"] = _inline(node["values"], namespace, definitions, seen, stack)
    elif kind not in PRIMITIVES:
        return _inline(kind, namespace, definitions, seen, stack)
    return copy


@lru_cache(maxsize=8)
def load_schemas(directory: Path = SCHEMA_DIR) -> Mapping[str, AvroSchema]:
    """Tapewire's schemas, self-contained, keyed by full name (read once per directory)."""
    return self_contained(read_schema_files(directory))


def fullname_of(schema: Any) -> str:
    """Full name of the named type ``schema`` defines; :class:`SchemaError` if none."""
    if not isinstance(schema, Mapping) or "name" not in schema:
        raise SchemaError(
            "a schema file must hold one named type (record, enum or fixed)",
            hint="fix the .avsc file",
        )
    return qualify(str(schema["name"]), str(schema.get("namespace", "")))


def for_fastavro(node: Any, *, decimals: bool) -> Any:
    """Copy of a schema for fastavro: nanosecond timestamps as plain long, and unless
    ``decimals``, decimals as plain bytes (the binary encoding is identical)."""
    if isinstance(node, list):
        return [for_fastavro(branch, decimals=decimals) for branch in node]
    if not isinstance(node, Mapping):
        return node
    logical = node.get("logicalType")
    if logical in _INT_NANOS or (logical == "decimal" and not decimals):
        if node["type"] in PRIMITIVES:
            return node["type"]
        return {k: v for k, v in node.items() if k not in ("logicalType", "precision", "scale")}
    copy = dict(node)
    if "fields" in node:
        copy["fields"] = [
            {**field, "type": for_fastavro(field["type"], decimals=decimals)}
            for field in node["fields"]
        ]
    if "items" in node:
        copy["items"] = for_fastavro(node["items"], decimals=decimals)
    if "values" in node:
        copy["values"] = for_fastavro(node["values"], decimals=decimals)
    return copy
