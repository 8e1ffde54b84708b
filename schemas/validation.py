"""Checking records against their schemas: a self-contained schema compiles to one function
that checks a record and returns what fastavro should write, and to one that turns the
decimal bytes of a decoded record back into :class:`decimal.Decimal`.

Checks are strict because fastavro's writer silently accepts some wrong values (a float
timestamp is truncated, a decimal with more integer digits than the precision is written
anyway, a ``bytes`` value in a decimal field is taken as the unscaled integer). Decimals are
converted exactly, never rounded. A bad value raises :class:`BadValueError`, which
:meth:`BadValueError.to_schema_error` turns into the
:class:`~tapewire.core.errors.SchemaError` naming the schema, the field path
(``bids[3].price``) and the value.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from tapewire.core.errors import SchemaError
from tapewire.core.exact import EXACT
from tapewire.schemas.loading import NAMED_TYPES
from tapewire.schemas.registry import PRIMITIVES, qualify


class BadValueError(Exception):
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

    def to_schema_error(self, schema: str) -> SchemaError:
        """The :class:`SchemaError` to raise for this value in a record of ``schema``."""
        field = self.field()
        where = f"field {field!r}" if field else "the record"
        if self.value is _MISSING:
            value = None
        else:
            value = self.value
            shown = repr(value)
            where += " = " + (shown if len(shown) <= 200 else shown[:200] + "...")
        return SchemaError(
            f"{schema}: {where} {self.problem}",
            schema=schema,
            field=field or None,
            value=value,
            hint=self.hint,
        )


_Prepare = Callable[[Any], Any]
_MISSING = object()
_INT_RANGE = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


def _type_name(value: object) -> str:
    return type(value).__name__


def _decimal_problem(value: Any, precision: int, scale: int) -> BadValueError:
    """Why ``value`` is not an exact decimal(precision, scale) (the slow path)."""
    if not isinstance(value, Decimal):
        if isinstance(value, float):
            return BadValueError(
                "is a float; prices and sizes must be exact decimals",
                value,
                "pass decimal.Decimal built from the exchange's text, e.g. "
                "Decimal('0.00000812'), never from a float",
            )
        return BadValueError(
            f"is a {_type_name(value)}, expected decimal.Decimal",
            value,
            "convert with decimal.Decimal(value) (from the exact text, never a float)",
        )
    _, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        return BadValueError(
            "is not a finite number",
            value,
            "send null where the field is optional, or route the record to a DLQ",
        )
    if exponent < -scale:
        return BadValueError(
            f"has {-exponent} digits after the decimal point; decimal({precision},{scale}) "
            f"allows {scale}",
            value,
            "Tapewire never rounds: quantize explicitly where rounding is intended "
            f"(value.quantize(Decimal('1e-{scale}'))), strip trailing zeros with "
            "normalize(), or route the record to a DLQ",
        )
    return BadValueError(
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
                scaled = value.scaleb(scale, EXACT)  # exact, or it raises
                unscaled = int(scaled)
            except (ArithmeticError, ValueError):  # NaN, infinity, > 200 digits
                unscaled = limit
                scaled = None
            if unscaled == scaled and -limit < unscaled < limit:
                return unscaled.to_bytes((unscaled.bit_length() + 8) // 8, "big", signed=True)
        raise _decimal_problem(value, precision, scale)

    return prepare


def _read_decimal(
    precision: int, scale: int, written_scale: int | None = None
) -> Callable[[bytes], Decimal]:
    """Avro decimal bytes -> Decimal, exactly; out-of-precision data is refused.

    ``written_scale``: the writer schema's scale when it differs from this (the reader's)
    one. The value is read at the writer's scale and must fit the reader's exactly: more
    places than ``scale`` (other than trailing zeros) are refused, never rounded.
    """
    limit = 10**precision
    if written_scale is None or written_scale == scale:

        def read(data: bytes) -> Decimal:
            unscaled = int.from_bytes(data, "big", signed=True)
            if not -limit < unscaled < limit:
                raise ValueError(
                    f"decimal with {len(str(abs(unscaled)))} digits exceeds precision {precision}"
                )
            return Decimal(unscaled).scaleb(-scale, EXACT)

        return read
    shift = written_scale - scale

    def read_rescaled(data: bytes) -> Decimal:
        written = int.from_bytes(data, "big", signed=True)
        value = Decimal(written).scaleb(-written_scale, EXACT)
        if shift > 0:
            unscaled, rest = divmod(written, 10**shift)
            if rest:
                raise ValueError(
                    f"decimal {value} has more than the {scale} places of decimal"
                    f"({precision}, {scale}) (written at scale {written_scale})"
                )
        else:
            unscaled = written * 10**-shift
        if not -limit < unscaled < limit:
            raise ValueError(f"decimal {value} exceeds decimal({precision}, {scale})")
        return Decimal(unscaled).scaleb(-scale, EXACT)

    return read_rescaled


def _prepare_integer(kind: str) -> _Prepare:
    low, high = _INT_RANGE[kind]

    def prepare(value: Any) -> int:
        if value.__class__ is int or (isinstance(value, int) and not isinstance(value, bool)):
            if low <= value <= high:
                return int(value)
            raise BadValueError(
                f"is out of range for an Avro {kind}", value, f"{kind} holds {low}..{high}"
            )
        hint = "pass an int"
        if isinstance(value, float):
            hint = "timestamps are int nanoseconds (time.time_ns()); floats lose precision"
        raise BadValueError(f"is a {_type_name(value)}, expected an int ({kind})", value, hint)

    return prepare


def _prepare_float(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    raise BadValueError(f"is a {_type_name(value)}, expected a number", value, "pass a float")


def _prepare_boolean(value: Any) -> bool:
    if value is True or value is False:
        return value
    raise BadValueError(f"is a {_type_name(value)}, expected a bool", value, "pass True or False")


def _prepare_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise BadValueError(f"is a {_type_name(value)}, expected a str", value, "pass a str")


def _prepare_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise BadValueError(
        f"is a {_type_name(value)}, expected bytes",
        value,
        "pass bytes (for text, the exact UTF-8 bytes received: text.encode('utf-8'))",
    )


def _prepare_null(value: Any) -> None:
    if value is None:
        return None
    raise BadValueError(f"is a {_type_name(value)}, expected None", value, "pass None")


def _prepare_enum(name: str, symbols: Sequence[str]) -> _Prepare:
    allowed = frozenset(symbols)
    listed = ", ".join(symbols)

    def prepare(value: Any) -> Any:
        if isinstance(value, str) and value in allowed:
            return value if value.__class__ is str else str.__str__(value)
        raise BadValueError(f"is not a symbol of {name}", value, f"use one of: {listed}")

    return prepare


class Compiler:
    """Turns a self-contained schema into one function that checks a record and returns
    what fastavro should write (decimals as their two's-complement bytes).

    Each record gets a generated fast path (one dict display with inline type checks) for
    the common case of a dict with exactly the schema's fields, and one reading the
    attributes of its typed record class (``types``: schema full name -> class); anything
    else, including every error, goes through the generic path, which names the field and
    the value.
    """

    def __init__(self, types: Mapping[str, type] | None = None) -> None:
        self._named: dict[str, _Prepare] = {}
        self._nodes: dict[str, Mapping[str, Any]] = {}
        self._types: Mapping[str, type] = types or {}

    def compile(self, node: Any, namespace: str = "") -> _Prepare:
        if isinstance(node, str):
            return self._primitive_or_named(node, namespace)
        if isinstance(node, list):
            return self._union([self.compile(branch, namespace) for branch in node], node)
        kind = node["type"]
        if node.get("logicalType") == "decimal" and kind == "bytes":
            return _prepare_decimal(int(node["precision"]), int(node.get("scale", 0)))
        if kind in NAMED_TYPES:
            full = qualify(node["name"], node.get("namespace", namespace))
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
        full = qualify(name, namespace)
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
            node = node["type"] if node["type"] in PRIMITIVES else node
        if isinstance(node, str) and node not in PRIMITIVES:
            node = self._nodes.get(qualify(node, namespace), node)
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
            raise BadValueError(
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
                except BadValueError as exc:
                    problems.append(exc.problem)
            raise BadValueError(
                f"fits no branch of the union: {'; '.join(problems)}", value, "see the schema"
            )

        return prepare

    @staticmethod
    def _array(item: _Prepare) -> _Prepare:
        def prepare(value: Any) -> list[Any]:
            if not isinstance(value, list | tuple):
                raise BadValueError(
                    f"is a {_type_name(value)}, expected a list", value, "pass a list"
                )
            try:
                return [item(element) for element in value]
            except BadValueError:
                for index, element in enumerate(value):
                    try:
                        item(element)
                    except BadValueError as exc:
                        exc.path.append(f"[{index}]")
                        raise
                raise

        return prepare

    @staticmethod
    def _map(item: _Prepare) -> _Prepare:
        def prepare(value: Any) -> dict[str, Any]:
            if not isinstance(value, Mapping):
                raise BadValueError(
                    f"is a {_type_name(value)}, expected a dict", value, "pass a dict"
                )
            result = {}
            for key, element in value.items():
                if not isinstance(key, str):
                    raise BadValueError("has a key that is not a str", key, "map keys are strings")
                try:
                    result[key] = item(element)
                except BadValueError as exc:
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
                raise BadValueError(
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
                        missing = BadValueError(
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
                except BadValueError as exc:
                    exc.path.append(name)
                    raise
            if found != len(value):
                unknown = sorted((key for key in value if key not in names), key=str)
                problem = BadValueError(
                    f"is not a field of {full}",
                    value[unknown[0]],
                    f"fields are: {', '.join(sorted(names))} (check the spelling)",
                )
                problem.path.append(str(unknown[0]))
                raise problem
            return result

        env: dict[str, Any] = {
            "_generic": generic,
            "_BadValueError": BadValueError,
            "_names": names,
        }
        items = []
        attributes = []
        for index, (name, field_prepare, has_default, default) in enumerate(fields):
            env[f"_field{index}"] = field_prepare
            source = f"value[{name!r}]"
            if has_default:  # omitted optional fields take the fast path too
                env[f"_default{index}"] = default
                source = f"value.get({name!r}, _default{index})"
            field_node = node["fields"][index]["type"]
            expression = self._expression(field_node, source, inner, env, f"_field{index}")
            items.append(f"{name!r}: {expression}")
            attribute = f"value.{name}" if not keyword.iskeyword(name) else f"value[{name!r}]"
            expression = self._expression(field_node, attribute, inner, env, f"_field{index}")
            attributes.append(f"{name!r}: {expression}")
        typed = ""
        if full in self._types:
            env["_cls"] = self._types[full]
            typed = (
                "    if value.__class__ is _cls:\n"
                "        try:\n"
                f"            return {{{', '.join(attributes)}}}\n"
                "        except _BadValueError:\n"
                "            return _generic(value)\n"
            )
        code = (
            "def prepare(value):\n"
            f"{typed}"
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


WRITTEN_SCALE = "tapewireWrittenScale"
"""Annotation on a reader schema's decimal: the scale its writer used (see
:func:`with_written_scales`)."""


def with_written_scales(reader: Any, writer: Any) -> Any:
    """Copy of ``reader`` in which every decimal whose ``writer`` counterpart (same field
    path) has another scale carries that scale as :data:`WRITTEN_SCALE`, so the decoded
    bytes are read at the scale they were written with (Avro schema resolution matches
    decimals by type alone; the scale is the writer's)."""
    if isinstance(reader, list):
        branches = writer if isinstance(writer, list) else [writer]
        out = []
        for branch in reader:
            match = next((w for w in branches if _type_key(w) == _type_key(branch)), None)
            out.append(branch if match is None else with_written_scales(branch, match))
        return out
    if isinstance(writer, list):
        match = next((w for w in writer if _type_key(w) == _type_key(reader)), None)
        return reader if match is None else with_written_scales(reader, match)
    if not isinstance(reader, Mapping) or not isinstance(writer, Mapping):
        return reader
    if reader.get("logicalType") == "decimal" and writer.get("logicalType") == "decimal":
        written = int(writer.get("scale", 0))
        same = written == int(reader.get("scale", 0))
        return reader if same else {**reader, WRITTEN_SCALE: written}
    kind = reader.get("type")
    if kind != writer.get("type"):
        return reader
    if kind in ("record", "error"):
        fields = {f["name"]: f for f in writer["fields"]}
        return {
            **reader,
            "fields": [
                {**f, "type": with_written_scales(f["type"], fields[f["name"]]["type"])}
                if f["name"] in fields
                else f
                for f in reader["fields"]
            ],
        }
    if kind == "array":
        return {**reader, "items": with_written_scales(reader["items"], writer["items"])}
    if kind == "map":
        return {**reader, "values": with_written_scales(reader["values"], writer["values"])}
    return reader


def _type_key(node: Any) -> str:
    if isinstance(node, str):
        return node.rpartition(".")[2]
    if isinstance(node, Mapping):
        if node.get("logicalType") == "decimal":
            return "decimal"
        return str(node.get("name") or node.get("type")).rpartition(".")[2]
    return "union"


class DecimalReader:
    """Builds the function that turns decimal bytes in a decoded record into Decimals
    (fastavro's own conversion costs ~2 us per value; this one ~0.5 us)."""

    def __init__(self) -> None:
        self._nodes: dict[str, Mapping[str, Any]] = {}
        self._building: set[str] = set()

    def compile(self, node: Any, namespace: str = "") -> _Read | None:
        if isinstance(node, str):
            full = qualify(node, namespace)
            if node in PRIMITIVES or full in self._building or full not in self._nodes:
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
            written = node.get(WRITTEN_SCALE)
            return _read_decimal(
                int(node["precision"]),
                int(node.get("scale", 0)),
                None if written is None else int(written),
            )
        if kind in ("record", "error"):
            full = qualify(node["name"], node.get("namespace", namespace))
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
                    try:
                        record[name] = converter(record[name])
                    except ValueError as exc:  # name the field (innermost first)
                        raise ValueError(f"{name}: {exc}") from None
                return record

            return read_record
        if kind in ("enum", "fixed"):
            self._nodes[qualify(node["name"], node.get("namespace", namespace))] = node
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
