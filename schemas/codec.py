"""Avro encoding of Tapewire records in the Confluent wire format, with schemas parsed once.

A message value is ``0x00`` (magic byte), the writer schema's id as 4 bytes big-endian, then
the record in Avro binary encoding. Typical use::

    codec = Codec.from_settings(settings)          # or Codec() for deterministic local ids
    value = codec.encode("md.trades", trade)       # dict -> bytes
    key = codec.key("md.trades", trade)            # b"binance:<instrument>"
    trade = codec.decode("md.trades", value)       # bytes -> dict

Records are plain dicts: decimals are :class:`decimal.Decimal` (never float), timestamps are
``int`` nanoseconds, enums are their symbol strings, ``bytes`` fields are ``bytes``.

Every record is checked before it is written, because fastavro's writer silently accepts
some wrong values (a float timestamp is truncated, a decimal with more integer digits than
the precision is written anyway, a ``bytes`` value in a decimal field is taken as the
unscaled integer). A bad record raises :class:`~tapewire.core.errors.SchemaError` naming the
schema, the field path (``bids[3].price``) and the value; nothing is ever rounded.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Context, Decimal, Inexact, Rounded
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from fastavro import parse_schema, schemaless_reader, schemaless_writer

from tapewire.core.errors import SchemaError
from tapewire.schemas.registry import (
    TOPICS,
    AvroSchema,
    LocalSchemaRegistry,
    SchemaRegistry,
    canonical_form,
    message_key,
    registry_from_settings,
    schema_name_for_topic,
    subject_for_topic,
)

if TYPE_CHECKING:
    from tapewire.core.settings import Settings

SCHEMA_DIR = Path(__file__).with_name("avro")
MAGIC_BYTE = 0
HEADER_SIZE = 5

_PRIMITIVES = frozenset(("null", "boolean", "int", "long", "float", "double", "bytes", "string"))
_NAMED = frozenset(("record", "error", "enum", "fixed"))
# Logical types fastavro must never convert: Python code sees int nanoseconds. fastavro 1.13
# ignores timestamp-nanos (it decodes to int); stripping it keeps that true if a later fastavro
# learns it and decodes to datetime (which holds only microseconds).
_INT_NANOS = frozenset(("timestamp-nanos", "local-timestamp-nanos"))


# --- Loading -----------------------------------------------------------------------------


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
        name = _fullname_of(document)
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
            parse_schema(_for_fastavro(schema, decimals=True), _write_hint=False)
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
        if node in _PRIMITIVES:
            return node
        full = _qualify(node, namespace)
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
    if kind in _NAMED:
        full = _qualify(node["name"], node.get("namespace", namespace))
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
    elif kind not in _PRIMITIVES:
        return _inline(kind, namespace, definitions, seen, stack)
    return copy


@lru_cache(maxsize=8)
def load_schemas(directory: Path = SCHEMA_DIR) -> Mapping[str, AvroSchema]:
    """Tapewire's schemas, self-contained, keyed by full name (read once per directory)."""
    return self_contained(read_schema_files(directory))


def _qualify(name: str, namespace: str) -> str:
    return name if "." in name or not namespace else f"{namespace}.{name}"


def _fullname_of(schema: Any) -> str:
    if not isinstance(schema, Mapping) or "name" not in schema:
        raise SchemaError(
            "a schema file must hold one named type (record, enum or fixed)",
            hint="fix the .avsc file",
        )
    return _qualify(str(schema["name"]), str(schema.get("namespace", "")))


def _for_fastavro(node: Any, *, decimals: bool) -> Any:
    """Copy of a schema for fastavro: nanosecond timestamps as plain long, and unless
    ``decimals``, decimals as plain bytes (the binary encoding is identical)."""
    if isinstance(node, list):
        return [_for_fastavro(branch, decimals=decimals) for branch in node]
    if not isinstance(node, Mapping):
        return node
    logical = node.get("logicalType")
    if logical in _INT_NANOS or (logical == "decimal" and not decimals):
        if node["type"] in _PRIMITIVES:
            return node["type"]
        return {k: v for k, v in node.items() if k not in ("logicalType", "precision", "scale")}
    copy = dict(node)
    if "fields" in node:
        copy["fields"] = [
            {**field, "type": _for_fastavro(field["type"], decimals=decimals)}
            for field in node["fields"]
        ]
    if "items" in node:
        copy["items"] = _for_fastavro(node["items"], decimals=decimals)
    if "values" in node:
        copy["values"] = _for_fastavro(node["values"], decimals=decimals)
    return copy


# --- Checking and preparing records -------------------------------------------------------


class _BadValueError(Exception):
    """A value that does not fit its schema; ``path`` is filled in on the way out."""

    def __init__(self, problem: str, value: object, hint: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.value = value
        self.hint = hint
        self.path: list[str] = []

    def field(self) -> str:
        text = ""
        for part in reversed(self.path):
            text += part if part.startswith("[") or not text else f".{part}"
        return text


_Prepare = Callable[[Any], Any]
_MISSING = object()
# Wide enough for any decimal(38, s) value times 10**s; traps make any rounding an error.
# (Never scale with the default context: it has 28 digits and would round silently.)
_EXACT = Context(prec=80, traps=[Inexact, Rounded])
_INT_RANGE = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


def _type_name(value: object) -> str:
    return type(value).__name__


def _decimal_problem(value: Any, precision: int, scale: int) -> _BadValueError:
    """Why ``value`` is not an exact decimal(precision, scale) (the slow path)."""
    if not isinstance(value, Decimal):
        if isinstance(value, float):
            return _BadValueError(
                "is a float; prices and sizes must be exact decimals",
                value,
                "pass decimal.Decimal built from the exchange's text, e.g. "
                "Decimal('0.00000812'), never from a float",
            )
        return _BadValueError(
            f"is a {_type_name(value)}, expected decimal.Decimal",
            value,
            "convert with decimal.Decimal(value) (from the exact text, never a float)",
        )
    _, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        return _BadValueError(
            "is not a finite number",
            value,
            "send null where the field is optional, or route the record to a DLQ",
        )
    if exponent < -scale:
        return _BadValueError(
            f"has {-exponent} digits after the decimal point; decimal({precision},{scale}) "
            f"allows {scale}",
            value,
            "Tapewire never rounds: quantize explicitly where rounding is intended "
            f"(value.quantize(Decimal('1e-{scale}'))), strip trailing zeros with "
            "normalize(), or route the record to a DLQ",
        )
    return _BadValueError(
        f"has {len(digits) + exponent} digits before the decimal point; "
        f"decimal({precision},{scale}) allows {precision - scale}",
        value,
        "the value does not fit (ClickHouse Decimal(38,18) neither): check its units",
    )


def _prepare_decimal(precision: int, scale: int) -> _Prepare:
    limit = 10**precision

    def prepare(value: Any) -> bytes:
        if isinstance(value, Decimal):
            try:
                scaled = value.scaleb(scale, _EXACT)  # exact, or it raises
                unscaled = int(scaled)
            except (ArithmeticError, ValueError):  # NaN, infinity, > 80 digits
                unscaled = limit
                scaled = None
            if unscaled == scaled and -limit < unscaled < limit:
                return unscaled.to_bytes((unscaled.bit_length() + 8) // 8, "big", signed=True)
        raise _decimal_problem(value, precision, scale)

    return prepare


def _read_decimal(precision: int, scale: int) -> Callable[[bytes], Decimal]:
    """Avro decimal bytes -> Decimal, exactly; out-of-precision data is refused."""
    limit = 10**precision

    def read(data: bytes) -> Decimal:
        unscaled = int.from_bytes(data, "big", signed=True)
        if not -limit < unscaled < limit:
            raise ValueError(
                f"decimal with {len(str(abs(unscaled)))} digits exceeds precision {precision}"
            )
        return Decimal(unscaled).scaleb(-scale, _EXACT)

    return read


def _prepare_integer(kind: str) -> _Prepare:
    low, high = _INT_RANGE[kind]

    def prepare(value: Any) -> int:
        if value.__class__ is int or (isinstance(value, int) and not isinstance(value, bool)):
            if low <= value <= high:
                return int(value)
            raise _BadValueError(
                f"is out of range for an Avro {kind}", value, f"{kind} holds {low}..{high}"
            )
        hint = "pass an int"
        if isinstance(value, float):
            hint = "timestamps are int nanoseconds (time.time_ns()); floats lose precision"
        raise _BadValueError(f"is a {_type_name(value)}, expected an int ({kind})", value, hint)

    return prepare


def _prepare_float(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    raise _BadValueError(f"is a {_type_name(value)}, expected a number", value, "pass a float")


def _prepare_boolean(value: Any) -> bool:
    if value is True or value is False:
        return value
    raise _BadValueError(f"is a {_type_name(value)}, expected a bool", value, "pass True or False")


def _prepare_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise _BadValueError(f"is a {_type_name(value)}, expected a str", value, "pass a str")


def _prepare_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise _BadValueError(
        f"is a {_type_name(value)}, expected bytes",
        value,
        "pass bytes (for text, the exact UTF-8 bytes received: text.encode('utf-8'))",
    )


def _prepare_null(value: Any) -> None:
    if value is None:
        return None
    raise _BadValueError(f"is a {_type_name(value)}, expected None", value, "pass None")


def _prepare_enum(name: str, symbols: Sequence[str]) -> _Prepare:
    allowed = frozenset(symbols)
    listed = ", ".join(symbols)

    def prepare(value: Any) -> Any:
        if isinstance(value, str) and value in allowed:
            return value if value.__class__ is str else str.__str__(value)
        raise _BadValueError(f"is not a symbol of {name}", value, f"use one of: {listed}")

    return prepare


class _Compiler:
    """Turns a self-contained schema into one function that checks a record and returns
    what fastavro should write (decimals as their two's-complement bytes).

    Each record gets a generated fast path (one dict display with inline type checks) for
    the common case of a dict with exactly the schema's fields; anything else, including
    every error, goes through the generic path, which names the field and the value.
    """

    def __init__(self) -> None:
        self._named: dict[str, _Prepare] = {}
        self._nodes: dict[str, Mapping[str, Any]] = {}

    def compile(self, node: Any, namespace: str = "") -> _Prepare:
        if isinstance(node, str):
            return self._primitive_or_named(node, namespace)
        if isinstance(node, list):
            return self._union([self.compile(branch, namespace) for branch in node], node)
        kind = node["type"]
        if node.get("logicalType") == "decimal" and kind == "bytes":
            return _prepare_decimal(int(node["precision"]), int(node.get("scale", 0)))
        if kind in _NAMED:
            full = _qualify(node["name"], node.get("namespace", namespace))
            self._nodes[full] = node
            if kind == "enum":
                self._named[full] = _prepare_enum(full, node["symbols"])
            elif kind == "fixed":
                self._named[full] = self._fixed(full, int(node["size"]))
            else:
                return self._record(node, full)
            return self._named[full]
        if kind == "array":
            return self._array(self.compile(node["items"], namespace))
        if kind == "map":
            return self._map(self.compile(node["values"], namespace))
        return self._primitive_or_named(kind, namespace)

    def _primitive_or_named(self, name: str, namespace: str) -> _Prepare:
        if name in ("int", "long"):
            return _prepare_integer(name)
        simple: dict[str, _Prepare] = {
            "null": _prepare_null,
            "boolean": _prepare_boolean,
            "float": _prepare_float,
            "double": _prepare_float,
            "string": _prepare_string,
            "bytes": _prepare_bytes,
        }
        if name in simple:
            return simple[name]
        full = _qualify(name, namespace)
        if full not in self._named:
            raise SchemaError(f"unknown type {full!r}", schema=full)
        named = self._named
        return lambda value: named[full](value)

    def _expression(
        self, node: Any, source: str, namespace: str, env: dict[str, Any], fallback: str
    ) -> str:
        """Python expression checking ``source`` inline for simple types, else calling
        ``fallback`` (the field's full prepare function, which raises precise errors)."""
        if isinstance(node, Mapping) and node.get("logicalType") != "decimal":
            node = node["type"] if node["type"] in _PRIMITIVES else node
        if isinstance(node, str) and node not in _PRIMITIVES:
            node = self._nodes.get(_qualify(node, namespace), node)
        check = None
        if node == "string":
            check = "_v.__class__ is str"
        elif node == "bytes":
            check = "_v.__class__ is bytes"
        elif node == "boolean":
            check = "(_v is True or _v is False)"
        elif isinstance(node, str) and node in _INT_RANGE:
            low, high = _INT_RANGE[node]
            check = f"_v.__class__ is int and {low} <= _v <= {high}"
        elif isinstance(node, Mapping) and node.get("type") == "enum":
            symbols = f"_symbols{len(env)}"
            env[symbols] = frozenset(node["symbols"])
            check = f"_v.__class__ is str and _v in {symbols}"
        elif isinstance(node, list) and len(node) == 2 and node[0] == "null":
            inner_name = f"_inner{len(env)}"
            env[inner_name] = self.compile(node[1], namespace)
            inner = self._expression(node[1], "_v", namespace, env, inner_name)
            return f"(None if (_v := {source}) is None else {inner})"
        if check is None:
            return f"{fallback}({source})"
        return f"(_v if ({check} if (_v := {source}) is not None else False) else {fallback}(_v))"

    @staticmethod
    def _fixed(name: str, size: int) -> _Prepare:
        def prepare(value: Any) -> bytes:
            if isinstance(value, bytes) and len(value) == size:
                return value
            raise _BadValueError(
                f"is not {size} bytes ({name})", value, f"pass exactly {size} bytes"
            )

        return prepare

    @staticmethod
    def _union(branches: list[_Prepare], schema: list[Any]) -> _Prepare:
        if len(branches) == 2 and schema[0] == "null":
            inner = branches[1]

            def nullable(value: Any) -> Any:
                return None if value is None else inner(value)

            return nullable

        def prepare(value: Any) -> Any:
            problems = []
            for branch in branches:
                try:
                    return branch(value)
                except _BadValueError as exc:
                    problems.append(exc.problem)
            raise _BadValueError(
                f"fits no branch of the union: {'; '.join(problems)}", value, "see the schema"
            )

        return prepare

    @staticmethod
    def _array(item: _Prepare) -> _Prepare:
        def prepare(value: Any) -> list[Any]:
            if not isinstance(value, list | tuple):
                raise _BadValueError(
                    f"is a {_type_name(value)}, expected a list", value, "pass a list"
                )
            try:
                return [item(element) for element in value]
            except _BadValueError:
                for index, element in enumerate(value):
                    try:
                        item(element)
                    except _BadValueError as exc:
                        exc.path.append(f"[{index}]")
                        raise
                raise

        return prepare

    @staticmethod
    def _map(item: _Prepare) -> _Prepare:
        def prepare(value: Any) -> dict[str, Any]:
            if not isinstance(value, Mapping):
                raise _BadValueError(
                    f"is a {_type_name(value)}, expected a dict", value, "pass a dict"
                )
            result = {}
            for key, element in value.items():
                if not isinstance(key, str):
                    raise _BadValueError("has a key that is not a str", key, "map keys are strings")
                try:
                    result[key] = item(element)
                except _BadValueError as exc:
                    exc.path.append(f"[{key!r}]")
                    raise
            return result

        return prepare

    def _record(self, node: Mapping[str, Any], full: str) -> _Prepare:
        inner = full.rpartition(".")[0]
        slot: list[_Prepare] = []
        self._named[full] = lambda value: slot[0](value)  # allows recursive types
        fields: list[tuple[str, _Prepare, bool, Any]] = []
        for field in node["fields"]:
            fields.append(
                (
                    field["name"],
                    self.compile(field["type"], inner),
                    "default" in field,
                    field.get("default"),
                )
            )
        names = frozenset(name for name, *_ in fields)

        def generic(value: Any) -> dict[str, Any]:
            if not isinstance(value, Mapping):
                raise _BadValueError(
                    f"is a {_type_name(value)}, expected a dict ({full})", value, "pass a dict"
                )
            result: dict[str, Any] = {}
            found = 0
            for name, field_prepare, has_default, default in fields:
                try:
                    element = value[name]
                    found += 1
                except KeyError:
                    if not has_default:
                        missing = _BadValueError(
                            "is missing (required, no default)",
                            _MISSING,
                            f"every {full} needs {name!r}",
                        )
                        missing.path.append(name)
                        raise missing from None
                    result[name] = default
                    continue
                try:
                    result[name] = field_prepare(element)
                except _BadValueError as exc:
                    exc.path.append(name)
                    raise
            if found != len(value):
                unknown = sorted((key for key in value if key not in names), key=str)
                problem = _BadValueError(
                    f"is not a field of {full}",
                    value[unknown[0]],
                    f"fields are: {', '.join(sorted(names))} (check the spelling)",
                )
                problem.path.append(str(unknown[0]))
                raise problem
            return result

        env: dict[str, Any] = {
            "_generic": generic,
            "_BadValueError": _BadValueError,
            "_names": names,
        }
        items = []
        for index, (name, field_prepare, has_default, default) in enumerate(fields):
            env[f"_field{index}"] = field_prepare
            source = f"value[{name!r}]"
            if has_default:  # omitted optional fields take the fast path too
                env[f"_default{index}"] = default
                source = f"value.get({name!r}, _default{index})"
            field_node = node["fields"][index]["type"]
            expression = self._expression(field_node, source, inner, env, f"_field{index}")
            items.append(f"{name!r}: {expression}")
        code = (
            "def prepare(value):\n"
            "    if value.__class__ is dict and value.keys() <= _names:\n"
            "        try:\n"
            f"            return {{{', '.join(items)}}}\n"
            "        except (KeyError, _BadValueError):\n"
            "            pass\n"
            "    return _generic(value)\n"
        )
        # The source is generated from the schema's field names (Avro names are
        # [A-Za-z_][A-Za-z0-9_]*, and are repr()-quoted anyway), never from data.
        exec(compile(code, f"<prepare {full}>", "exec"), env)  # noqa: S102
        prepare: _Prepare = env["prepare"]
        slot.append(prepare)
        self._named[full] = prepare
        return prepare


_Read = Callable[[Any], Any]


class _DecimalReader:
    """Builds the function that turns decimal bytes in a decoded record into Decimals
    (fastavro's own conversion costs ~2 us per value; this one ~0.5 us)."""

    def __init__(self) -> None:
        self._nodes: dict[str, Mapping[str, Any]] = {}
        self._building: set[str] = set()

    def compile(self, node: Any, namespace: str = "") -> _Read | None:
        if isinstance(node, str):
            full = _qualify(node, namespace)
            if node in _PRIMITIVES or full in self._building or full not in self._nodes:
                return None
            return self.compile(self._nodes[full], namespace)
        if isinstance(node, list):
            branches = [self.compile(branch, namespace) for branch in node]
            live = [branch for branch in branches if branch is not None]
            if not live:
                return None
            if len(node) == 2 and node[0] == "null" and branches[1] is not None:
                inner = branches[1]
                return lambda value: None if value is None else inner(value)
            raise SchemaError(
                f"a union with a decimal branch other than [null, decimal] is not supported: "
                f"{node}",
                hint="use a nullable decimal",
            )
        kind = node["type"]
        if node.get("logicalType") == "decimal" and kind == "bytes":
            return _read_decimal(int(node["precision"]), int(node.get("scale", 0)))
        if kind in ("record", "error"):
            full = _qualify(node["name"], node.get("namespace", namespace))
            self._nodes[full] = node
            self._building.add(full)
            inner_ns = full.rpartition(".")[0]
            converters = []
            for field in node["fields"]:
                converter = self.compile(field["type"], inner_ns)
                if converter is not None:
                    converters.append((field["name"], converter))
            self._building.discard(full)
            if not converters:
                return None

            def read_record(record: dict[str, Any]) -> dict[str, Any]:
                for name, converter in converters:
                    record[name] = converter(record[name])
                return record

            return read_record
        if kind in ("enum", "fixed"):
            self._nodes[_qualify(node["name"], node.get("namespace", namespace))] = node
            return None
        if kind == "array":
            item = self.compile(node["items"], namespace)
            return None if item is None else (lambda value: [item(x) for x in value])
        if kind == "map":
            value_reader = self.compile(node["values"], namespace)
            if value_reader is None:
                return None
            return lambda value: {k: value_reader(x) for k, x in value.items()}
        return None


# --- Serde --------------------------------------------------------------------------------


class AvroSerde:
    """Encoder/decoder of one schema under one schema id (see :class:`Codec`)."""

    def __init__(
        self,
        name: str,
        schema: AvroSchema,
        schema_id: int,
        writer_schema: Callable[[int], AvroSchema],
        *,
        label: str | None = None,
    ) -> None:
        self.name = name
        self.schema = schema
        self.schema_id = schema_id
        self.label = label or name
        self._header = bytes((MAGIC_BYTE,)) + schema_id.to_bytes(4, "big")
        self._prepare = _Compiler().compile(schema)
        # fastavro reads and writes decimals as plain bytes (same encoding); the
        # conversion to and from Decimal is done here, exactly and faster.
        self._wire = parse_schema(_for_fastavro(schema, decimals=False))
        self._read_decimals = _DecimalReader().compile(schema)
        self._form = canonical_form(schema)
        self._writer_schema = writer_schema
        self._readers: dict[int, tuple[Any, Any]] = {schema_id: (self._wire, None)}
        self._lock = threading.Lock()

    def encode(self, record: Mapping[str, Any]) -> bytes:
        """``record`` in the Confluent wire format; :class:`SchemaError` if it does not fit."""
        try:
            prepared = self._prepare(record)
        except _BadValueError as exc:
            raise self._invalid(exc) from None
        buffer = BytesIO()
        buffer.write(self._header)
        try:
            schemaless_writer(buffer, self._wire, prepared)
        except Exception as exc:  # the checks above should make this unreachable
            raise SchemaError(
                f"{self.name}: fastavro could not write the record: {exc}",
                schema=self.name,
                hint="this is a bug in schemas.codec: please report it with the record",
            ) from exc
        return buffer.getvalue()

    def decode(self, data: bytes) -> dict[str, Any]:
        """The record in a Confluent wire-format message, read into the current schema.

        Data written with an older (or any backward-compatible) version of the schema is
        resolved into this one: fields added since are filled with their defaults.
        """
        if type(data) is bytes and data[:HEADER_SIZE] == self._header:
            schema_id = self.schema_id  # the common case: written with the current schema
        else:
            schema_id = self._check_header(data)
        pair = self._readers.get(schema_id)
        if pair is None:
            pair = self._resolve(schema_id)
        buffer = BytesIO(data)
        buffer.seek(HEADER_SIZE)
        try:
            record: Any = schemaless_reader(buffer, pair[0], pair[1])
            if self._read_decimals is not None:
                record = self._read_decimals(record)
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

    def _check_header(self, data: bytes) -> int:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise SchemaError(
                f"{self.label}: expected bytes, got {_type_name(data)}",
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

    def _resolve(self, schema_id: int) -> tuple[Any, Any]:
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
            pair: tuple[Any, Any] = (self._wire, None)  # same bytes, same meaning
        else:
            writer_name = _fullname_of(writer)
            if writer_name != self.name:
                raise SchemaError(
                    f"{self.label}: the message was written with {writer_name} (schema id "
                    f"{schema_id}), not {self.name}",
                    schema=self.name,
                    value=schema_id,
                    hint="a producer wrote the wrong record type to this topic",
                )
            pair = (parse_schema(_for_fastavro(writer, decimals=False)), self._wire)
        with self._lock:
            self._readers[schema_id] = pair
        return pair

    def _invalid(self, exc: _BadValueError) -> SchemaError:
        field = exc.field()
        where = f"field {field!r}" if field else "the record"
        if exc.value is _MISSING:
            value = None
        else:
            value = exc.value
            shown = repr(value)
            where += " = " + (shown if len(shown) <= 200 else shown[:200] + "...")
        return SchemaError(
            f"{self.name}: {where} {exc.problem}",
            schema=self.name,
            field=field or None,
            value=value,
            hint=exc.hint,
        )

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


class Codec:
    """Every Tapewire schema with one registry: encode and decode by topic.

    With a :class:`~schemas.registry.LocalSchemaRegistry` (the default) ids are
    deterministic; with a :class:`~schemas.registry.ConfluentSchemaRegistry` a topic's
    schema is registered under ``<topic>-value`` the first time the topic is used.
    """

    def __init__(
        self, registry: SchemaRegistry | None = None, *, directory: Path = SCHEMA_DIR
    ) -> None:
        self.schemas: Mapping[str, AvroSchema] = load_schemas(directory)
        self.registry: SchemaRegistry = registry if registry is not None else LocalSchemaRegistry()
        self._serdes: dict[str, AvroSerde] = {}
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
        serde = AvroSerde(name, schema, schema_id, self.registry.get_schema, label=topic)
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

    def encode(self, topic: str, record: Mapping[str, Any]) -> bytes:
        """Message value for ``record`` on ``topic``."""
        return self.for_topic(topic).encode(record)

    def decode(self, topic: str, data: bytes) -> dict[str, Any]:
        """Record from a message value read from ``topic`` (in the current schema)."""
        return self.for_topic(topic).decode(data)

    def key(self, topic: str, record: Mapping[str, Any]) -> bytes:
        """Message key for ``record`` on ``topic`` (see ``schemas.registry.TOPICS``)."""
        return message_key(topic, record)

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
        name = _fullname_of(writer)
        serde = AvroSerde(name, writer, schema_id, self.registry.get_schema)
        return name, serde.decode(data)
