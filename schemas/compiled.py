"""Per-schema Avro writers and readers, generated once from the parsed schema.

:func:`compile_writer` turns a self-contained record schema into one function from a
record (its typed record class, or a dict) to the Confluent wire-format message (the
header given, then the Avro binary encoding); :func:`compile_reader` turns it into one
function from such a message to the typed record (or the dict). Each is Python source
generated from the schema (one expression per field, decimals written from their exact
unscaled integer -- remembered per object in short arrays such as book deltas --, the common
long sizes -- 1 and 2 bytes, 5 and 6-byte sequence ids, 9-byte nanosecond timestamps --
inline from fixed tables) and compiled when the serde is built: no per-record walk over the
schema, no intermediate dict, no call per value on the common paths.

They are fast paths, not a second codec. A writer produces exactly fastavro's bytes for
every record it accepts, and a reader exactly what fastavro (plus the exact decimal
conversion of :mod:`tapewire.schemas.validation`) decodes; anything else raises, and
:class:`~tapewire.schemas.wire.AvroSerde` then takes its fastavro path, which checks the
record and names the bad field, or reads data written with another schema version. A
schema using something not covered here (a union other than ``[null, X]``, a recursive
type) compiles to ``None``: fastavro only. ``tests/unit/schemas/test_compiled.py`` checks
byte identity against fastavro with hypothesis over every schema.
"""

from __future__ import annotations

import keyword
import struct
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, cast

from tapewire.schemas.loading import NAMED_TYPES
from tapewire.schemas.registry import PRIMITIVES, qualify
from tapewire.schemas.validation import _read_decimal

Writer = Callable[[Any], bytes]
"""A record (typed or dict) -> the whole message: header + Avro binary record."""
Reader = Callable[[bytes], Any]
"""A whole message (header included) -> the typed record or dict it holds."""

_SMALL = 1 << 14
"""Non-negative ints below this are written from a table (their zigzag varint bytes)."""
_FEW = 64
"""Arrays of up to this many items (book deltas, top-N books) are written by a loop that
remembers their decimals' bytes; longer ones (full-depth snapshots, mostly values not seen
before) by a list comprehension writing each decimal inline."""
_REMEMBERED = 1 << 15
"""Decimals whose bytes one writer remembers per (precision, scale), then it starts afresh:
about 6 MB, and up to 3 MB of decimals kept alive (the normalizer memoises 65,536 texts)."""
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


class UnsupportedError(Exception):
    """The schema uses a construct the generator does not cover: fastavro only."""


class NotFastError(Exception):
    """This value is not for the fast path (the fastavro path decides: write or explain)."""


def _varint_loop(z: int) -> bytes:
    out = bytearray()
    while z > 0x7F:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


_ZIGZAG = tuple(_varint_loop(n << 1) for n in range(_SMALL))
"""``_ZIGZAG[n]``: the Avro long ``n`` (0 <= n < _SMALL) on the wire."""

_PAIR = tuple(((c & 0x7F) | 0x80) | (((c >> 7) | 0x80) << 8) for c in range(1 << 14))
"""``_PAIR[c]``: two 7-bit groups of ``c`` (14 bits), both with the continuation bit, as the
little-endian 16-bit integer of their two bytes."""
_pack_nine = struct.Struct("<HHHHB").pack
_NINE_MIN, _NINE_END = 1 << 55, 1 << 62
"""Non-negative longs in [_NINE_MIN, _NINE_END) take exactly 9 bytes (zigzag in [2**56, 2**63)):
every nanosecond timestamp from 1971 to 2116."""
_NINE_GROUPS = (1 << 56, 1 << 63)
_pack_four = struct.Struct("<HH").pack
_pack_five = struct.Struct("<HHB").pack
_HIGH: dict[int, bytes] = {}
"""``t >> 27`` of a 9-byte long ``t`` (a nanosecond timestamp: it changes every 134 ms) ->
the last 5 bytes of its varint (at most ``_HIGH_KEPT``, then forgotten)."""
_HIGH_KEPT = 4096
_pack_six = struct.Struct("<HHH").pack
_MID_MIN, _MID_SIX, _MID_END = 1 << 27, 1 << 34, 1 << 41
"""Non-negative longs in [_MID_MIN, _MID_END) take 5 or 6 bytes (zigzag in [2**28, 2**42)):
exchange sequence ids (Binance, OKX update ids)."""


def _varint(z: int) -> bytes:
    """The varint of ``z >= 0``; 4 to 8 bytes (exchange sequence numbers) from ``_PAIR``,
    not a loop over its bytes."""
    if z < 1 << 21 or z >= _NINE_GROUPS[0]:  # up to 3 bytes the loop is cheaper
        return _varint_loop(z)
    groups = (
        _PAIR[z & 0x3FFF]
        | _PAIR[(z >> 14) & 0x3FFF] << 16
        | _PAIR[(z >> 28) & 0x3FFF] << 32
        | _PAIR[(z >> 42) & 0x3FFF] << 48
    )
    n = (z.bit_length() + 6) // 7
    # the first n bytes, the last one without its continuation bit
    return (groups & ((1 << (8 * n - 1)) - 1)).to_bytes(n, "little")


def _high(k: int) -> bytes:
    """The last 5 bytes of the 9-byte varint of every long ``t`` with ``t >> 27 == k``
    (zigzag ``z = 2t``: its 7-bit groups 4 to 7, then ``z >> 56``), remembered."""
    written = _pack_five(_PAIR[k & 0x3FFF], _PAIR[(k >> 14) & 0x3FFF], k >> 28)
    if len(_HIGH) >= _HIGH_KEPT:
        _HIGH.clear()
    _HIGH[k] = written
    return written


def write_long(value: Any) -> bytes:
    """An Avro long (zigzag varint); :class:`NotFastError` for anything but an int in range."""
    if value.__class__ is not int:
        raise NotFastError
    if _MID_MIN <= value < _MID_END:  # 4 or 5 groups from _PAIR, then the last one
        z = value << 1
        if value < _MID_SIX:
            return _pack_five(_PAIR[z & 0x3FFF], _PAIR[(z >> 14) & 0x3FFF], z >> 28)
        return _pack_six(_PAIR[z & 0x3FFF], _PAIR[(z >> 14) & 0x3FFF], _PAIR[z >> 28] & 0x7FFF)
    if value >= 0:
        if value > _LONG_MAX:
            raise NotFastError
        z = value << 1
    else:
        if value < _LONG_MIN:
            raise NotFastError
        z = (~value << 1) | 1
    if _NINE_GROUPS[0] <= z < _NINE_GROUPS[1]:
        return _nine(z)
    return _varint(z)


def _nine(z: int) -> bytes:
    """The 9-byte varint of the zigzag value ``z`` (2**56 <= z < 2**63)."""
    return _pack_nine(
        _PAIR[z & 0x3FFF],
        _PAIR[(z >> 14) & 0x3FFF],
        _PAIR[(z >> 28) & 0x3FFF],
        _PAIR[(z >> 42) & 0x3FFF],
        z >> 56,
    )


def write_int(value: Any) -> bytes:
    """An Avro int (zigzag varint); :class:`NotFastError` outside the 32-bit range."""
    if value.__class__ is not int or not _INT_MIN <= value <= _INT_MAX:
        raise NotFastError
    return write_long(value)


def _length(size: int) -> bytes:
    return _ZIGZAG[size] if size < _SMALL else write_long(size)


def _bytes_length(value: Any) -> bytes:
    if value.__class__ is not bytes:
        raise NotFastError
    return _length(len(value))


def _decimal_multipliers(scale: int) -> dict[int, int]:
    """The reduced denominators of the values with at most ``scale`` places -> the factor
    that turns their numerator into the unscaled integer (``10**scale // denominator``)."""
    factor = 10**scale
    return {
        2**twos * 5**fives: factor // (2**twos * 5**fives)
        for twos in range(scale + 1)
        for fives in range(scale + 1)
    }


_pack_double = struct.Struct("<d").pack
_pack_float = struct.Struct("<f").pack


def _write_double(value: Any) -> bytes:
    if value.__class__ is not float and value.__class__ is not int:
        raise NotFastError
    return _pack_double(value)


def _write_float(value: Any) -> bytes:
    if value.__class__ is not float and value.__class__ is not int:
        raise NotFastError
    return _pack_float(value)


def _fail(*_: Any) -> Any:
    raise NotFastError


class _Generator:
    """Shared state of one schema's generated source: the names it uses, named types."""

    def __init__(self, types: Mapping[str, type]) -> None:
        self.env: dict[str, Any] = {
            "_Z": _ZIGZAG,
            "_ZN": _SMALL,
            "_P": _PAIR,
            "_pk9": _pack_nine,
            "_N9": _NINE_MIN,
            "_N9E": _NINE_END,
            "_pk4": _pack_four,
            "_hget": _HIGH.get,
            "_high": _high,
            "_pk5": _pack_five,
            "_pk6": _pack_six,
            "_M5": _MID_MIN,
            "_M6": _MID_SIX,
            "_M6E": _MID_END,
            "_D": Decimal,
            "_long": write_long,
            "_int": write_int,
            "_blen": _bytes_length,
            "_len": _length,
            "_fail": _fail,
            "_REMEMBERED": _REMEMBERED,
            "_double": _write_double,
            "_float": _write_float,
            "NotFastError": NotFastError,
        }
        self.types = types
        self.named: dict[str, Mapping[str, Any]] = {}
        self.building: set[str] = set()
        self.functions: list[str] = []
        self._count = 0

    def name(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    def constant(self, prefix: str, value: Any) -> str:
        name = self.name(prefix)
        self.env[name] = value
        return name

    def resolve(self, node: Any, namespace: str) -> tuple[Any, str]:
        """The definition of a named reference (and its namespace); other nodes as they are."""
        if isinstance(node, str) and node not in PRIMITIVES:
            full = qualify(node, namespace)
            if full not in self.named:
                raise UnsupportedError(f"unknown type {full}")
            return self.named[full], full.rpartition(".")[0]
        if isinstance(node, Mapping) and node.get("type") in PRIMITIVES:
            if node.get("logicalType") == "decimal" and node["type"] == "bytes":
                return node, namespace
            return node["type"], namespace
        if isinstance(node, Mapping) and isinstance(node.get("type"), str):
            kind = node["type"]
            if kind not in NAMED_TYPES and kind not in ("array", "map"):
                return self.resolve(kind, namespace)
        return node, namespace

    def record_name(self, node: Mapping[str, Any], namespace: str) -> str:
        full = qualify(node["name"], node.get("namespace", namespace))
        if full in self.building:
            raise UnsupportedError(f"recursive type {full}")
        self.named[full] = node
        return full


class _WriterGenerator(_Generator):
    def __init__(self, types: Mapping[str, type]) -> None:
        super().__init__(types)
        self.cache: dict[str, str] = {}
        """A record, array or map node -> the name of its generated function."""
        self.remember = False
        """True while generating the items of a short array: their decimals are remembered."""
        self.decimals: dict[tuple[int, int], tuple[str, str]] = {}
        """(precision, scale) -> the names of its remembered bytes' lookup and slow path."""

    def parts(self, node: Any, src: str, namespace: str) -> list[str]:
        """Expressions whose bytes, in order, are ``src`` written as ``node``; ``src`` is
        evaluated once."""
        node, namespace = self.resolve(node, namespace)
        if isinstance(node, str):
            return self._primitive(node, src)
        if isinstance(node, list):
            return [self._union(node, src, namespace)]
        kind = node["type"]
        if node.get("logicalType") == "decimal":
            return [self._decimal(int(node["precision"]), int(node.get("scale", 0)), src)]
        if kind == "enum":
            self.record_name(node, namespace)
            table = {symbol: _ZIGZAG[index] for index, symbol in enumerate(node["symbols"])}
            return [f"{self.constant('_enum', table)}[{src}]"]
        if kind == "fixed":
            self.record_name(node, namespace)
            size = int(node["size"])
            t = self.name("_f")
            check = f"({t} := {src}).__class__ is bytes and len({t}) == {size}"
            return [f"({t} if {check} else _fail())"]
        if kind in ("record", "error", "array", "map"):
            key = repr((namespace, node))
            function = self.cache.get(key)
            if function is None:
                if kind == "array":
                    function = self._array(node, namespace)
                elif kind == "map":
                    function = self._map(node, namespace)
                else:
                    function = self.record(node, namespace)
                self.cache[key] = function
            return [f"{function}({src})"]
        raise UnsupportedError(f"type {kind}")

    def expression(self, node: Any, src: str, namespace: str) -> str:
        parts = self.parts(node, src, namespace)
        return parts[0] if len(parts) == 1 else f"b''.join(({', '.join(parts)},))"

    def _primitive(self, kind: str, src: str) -> list[str]:
        t = self.name("_t")
        if kind == "null":
            return [f"(b'' if {src} is None else _fail())"]
        if kind == "boolean":
            false = f"b'\\x00' if {t} is False else _fail()"
            return [f"(b'\\x01' if ({t} := {src}) is True else {false})"]
        if kind == "long":  # 9 bytes (timestamps) first, then small, the rest mostly by a call
            z = self.name("_z")
            h, k = self.name("_h"), self.name("_k")
            # the low 4 bytes, then the high 5 from the table of recent ones (_high)
            nine = (
                f"_pk4(_P[({z} := ({t} & 0x7FFFFFF) << 1) & 0x3FFF], _P[{z} >> 14]) + "
                f"({h} if ({h} := _hget({k} := {t} >> 27)) is not None else _high({k}))"
            )
            # then 5 and 6 bytes (exchange sequence ids) as write_long writes them, no call
            low = f"_P[({z} := {t} << 1) & 0x3FFF], _P[({z} >> 14) & 0x3FFF]"
            five = f"_pk5({low}, {z} >> 28)"
            six = f"_pk6({low}, _P[{z} >> 28] & 0x7FFF)"
            ranges = (
                f"{nine} if _N9 <= {t} < _N9E else _Z[{t}] if 0 <= {t} < _ZN "
                f"else {five} if _M5 <= {t} < _M6 else {six} if _M6 <= {t} < _M6E else _long({t})"
            )
            return [f"(({ranges}) if ({t} := {src}).__class__ is int else _long({t}))"]
        if kind == "int":
            small = f"({t} := {src}).__class__ is int and 0 <= {t} < _ZN"
            return [f"(_Z[{t}] if {small} else _int({t}))"]
        if kind == "string":
            n = self.name("_n")
            return [f"(_Z[{n}] if ({n} := len({t} := ({src}).encode())) < _ZN else _long({n}))", t]
        if kind == "bytes":
            n = self.name("_n")
            return [
                f"(_Z[{n}] if ({t} := {src}).__class__ is bytes and ({n} := len({t})) < _ZN "
                f"else _blen({t}))",
                t,
            ]
        if kind == "double":
            return [f"_double({src})"]
        if kind == "float":
            return [f"_float({src})"]
        raise UnsupportedError(f"type {kind}")

    def _decimal(self, precision: int, scale: int, src: str) -> str:
        """The bytes of a decimal (length + two's complement of the unscaled integer), the
        bytes :func:`tapewire.schemas.validation._prepare_decimal` gives fastavro. The
        unscaled integer is exact (``as_integer_ratio``): NaN and Infinity raise, more places
        than ``scale`` find no multiplier (KeyError), more digits than ``precision`` fail
        the range check; all of these then take the checked path. The items of short
        arrays remember them (:meth:`_remembered`)."""
        if self.remember:
            return self._remembered(precision, scale, src)
        t = self.name("_t")
        value, fits = self._decimal_bytes(precision, scale, t)
        return f"({value} if ({t} := {src}).__class__ is _D and {fits} else _fail())"

    def _decimal_bytes(self, precision: int, scale: int, t: str) -> tuple[str, str]:
        """Expressions of the bytes of the Decimal named ``t``, and of the check (evaluated
        first) that it fits; the bytes are valid only when the check is true."""
        m = self.constant("_mult", _decimal_multipliers(scale))
        limit = 10**precision
        safe = limit.bit_length() - 1  # |unscaled| < 2**safe fits the precision
        r, u, b, n = (self.name(p) for p in ("_r", "_u", "_b", "_s"))
        unscaled = f"({u} := ({r} := {t}.as_integer_ratio())[0] * {m}[{r}[1]])"
        fits = f"(({b} := {unscaled}.bit_length()) < {safe} or {-limit} < {u} < {limit})"
        size = f"({n} := ({b} + 8) >> 3)"
        value = (
            f"(_Z[{size}] + {u}.to_bytes({n}, 'big') if {u} >= 0 "
            f"else _Z[{size}] + {u}.to_bytes({n}, 'big', signed=True))"
        )
        return value, fits

    def _remembered(self, precision: int, scale: int, src: str) -> str:
        """A decimal written from the bytes remembered for the same object. A book's
        deltas repeat the same decimal objects (the normalizer memoises them by wire text),
        so they are remembered by identity, the object kept beside its bytes (its id cannot
        be reused while it is remembered): a value's hash would cost more than writing it
        (Decimal hashes are modular powers) for every new size. Only objects written
        successfully are remembered, at most ``_REMEMBERED`` per writer (then it forgets
        them all)."""
        names = self.decimals.get((precision, scale))
        if names is None:
            remembered: dict[int, tuple[Decimal, bytes]] = {}
            get, slow, t = self.constant("_dget", remembered.get), self.name("_dslow"), "d"
            value, fits = self._decimal_bytes(precision, scale, t)
            memory = self.constant("_dmem", remembered)
            self.functions.append(
                f"def {slow}({t}, key):\n"
                f"    if not {fits}:\n"
                "        raise NotFastError\n"
                f"    written = {value}\n"
                f"    if len({memory}) >= _REMEMBERED:\n"
                f"        {memory}.clear()\n"
                f"    {memory}[key] = ({t}, written)\n"
                "    return written\n"
            )
            names = self.decimals[precision, scale] = (get, slow)
        get, slow = names
        t, e, k = self.name("_t"), self.name("_e"), self.name("_k")
        # a remembered id is its object's: the object is alive (kept), its id not reused
        written = f"({e}[1] if ({e} := {get}({k} := id({t}))) is not None else {slow}({t}, {k}))"
        return f"({written} if ({t} := {src}).__class__ is _D else _fail())"

    def _union(self, branches: list[Any], src: str, namespace: str) -> str:
        if len(branches) != 2 or "null" not in branches:
            raise UnsupportedError(f"union {branches}")
        null_index = branches.index("null")
        other = branches[1 - null_index]
        u = self.name("_u")
        inner = self.parts(other, u, namespace)
        marker = _ZIGZAG[1 - null_index]
        written = (
            f"{marker!r} + {inner[0]}"
            if len(inner) == 1
            else (f"b''.join(({marker!r}, {', '.join(inner)}))")
        )
        return f"({_ZIGZAG[null_index]!r} if ({u} := {src}) is None else {written})"

    def _array(self, node: Mapping[str, Any], namespace: str) -> str:
        """An array of up to ``_FEW`` items by a loop over them (no comprehension: its
        function object and cells cost more than a few items), its decimals remembered;
        a longer one by :meth:`_long_array`."""
        function = self.name("_array")
        long = self._long_array(node, namespace)
        remember, self.remember = self.remember, True
        try:
            parts = self._item_parts(node, namespace)
        finally:
            self.remember = remember
        if isinstance(parts, str):
            body = f"        out.append({parts})\n"
        else:
            cls, typed, other = parts
            body = (
                f"        if _i.__class__ is {cls}:\n"
                + "".join(f"            out.append({part})\n" for part in typed)
                + f"        else:\n            out.append({other})\n"
            )
        self.functions.append(
            f"def {function}(v):\n"
            "    if v.__class__ is not list and v.__class__ is not tuple:\n"
            "        raise NotFastError\n"
            "    if not v:\n"
            "        return b'\\x00'\n"
            f"    if len(v) > {_FEW}:\n"
            f"        return {long}(v)\n"
            "    out = [_Z[len(v)]]\n"
            "    for _i in v:\n"
            f"{body}"
            "    out.append(b'\\x00')\n"
            "    return b''.join(out)\n"
        )
        return function

    def _item_parts(
        self, node: Mapping[str, Any], namespace: str
    ) -> str | tuple[str, list[str], str]:
        """The expression of an item ``_i``; or, for typed record items (book levels):
        their class, the expressions of its fields in order, and the expression of any
        other item."""
        item = self.expression(node["items"], "_i", namespace)
        items, inner = self.resolve(node["items"], namespace)
        if isinstance(items, Mapping) and items.get("type") in ("record", "error"):
            full = qualify(items["name"], items.get("namespace", inner))
            if full in self.types:  # typed items (book levels) inline, no call per item
                scope = full.rpartition(".")[0]
                parts = [
                    part
                    for field in items["fields"]
                    if not keyword.iskeyword(field["name"])
                    for part in self.parts(field["type"], f"_i.{field['name']}", scope)
                ]
                if len(parts) == len(items["fields"]) and len(parts) > 1:
                    return self.constant("_cls", self.types[full]), parts, item
        return item

    def _long_array(self, node: Mapping[str, Any], namespace: str) -> str:
        """An array of any length by a list comprehension, each decimal written inline."""
        function = self.name("_array")
        parts = self._item_parts(node, namespace)
        if isinstance(parts, str):
            item = parts
        else:
            cls, typed, other = parts
            item = f"({' + '.join(typed)} if _i.__class__ is {cls} else {other})"
        self.functions.append(
            f"def {function}(v):\n"
            f"    return _len(len(v)) + b''.join([{item} for _i in v]) + b'\\x00'\n"
        )
        return function

    def _map(self, node: Mapping[str, Any], namespace: str) -> str:
        function = self.name("_map")
        key = self.expression("string", "_k", namespace)
        value = self.expression(node["values"], "_x", namespace)
        self.functions.append(
            f"def {function}(v):\n"
            "    if v.__class__ is not dict:\n"
            "        raise NotFastError\n"
            "    if not v:\n"
            "        return b'\\x00'\n"
            f"    return _len(len(v)) + b''.join([{key} + {value} for _k, _x in v.items()])"
            " + b'\\x00'\n"
        )
        return function

    def record(self, node: Mapping[str, Any], namespace: str, header: str | None = None) -> str:
        """Name of the generated function writing the record ``node`` (typed or dict);
        with ``header`` (the name of the header constant) it writes the whole message."""
        full = self.record_name(node, namespace)
        self.building.add(full)
        inner = full.rpartition(".")[0]
        fields = node["fields"]
        names = self.constant("_names", frozenset(f["name"] for f in fields))
        typed_parts: list[str] = [header] if header else []
        dict_parts: list[str] = [header] if header else []
        for field in fields:
            name = field["name"]
            attribute = f"value.{name}" if not keyword.iskeyword(name) else f"value[{name!r}]"
            typed_parts += self.parts(field["type"], attribute, inner)
            if "default" in field:
                item = f"value.get({name!r}, {self.constant('_default', field['default'])})"
            else:
                item = f"value[{name!r}]"
            dict_parts += self.parts(field["type"], item, inner)
        self.building.discard(full)
        function = self.name("_record")
        typed = ""
        if full in self.types:
            cls = self.constant("_cls", self.types[full])
            typed = (
                f"    if value.__class__ is {cls}:\n"
                f"        return b''.join(({', '.join(typed_parts)},))\n"
            )
        self.functions.append(
            f"def {function}(value):\n"
            f"{typed}"
            f"    if value.__class__ is dict and value.keys() <= {names}:\n"
            f"        return b''.join(({', '.join(dict_parts)},))\n"
            "    raise NotFastError\n"
        )
        return function


def compile_writer(
    schema: Mapping[str, Any], header: bytes, types: Mapping[str, type] | None = None
) -> Writer | None:
    """The generated writer of ``schema`` (a self-contained record schema): a record ->
    ``header`` + its Avro binary encoding; raises :class:`NotFastError` (or any error) for a
    record it does not take. ``types``: full name -> typed record class (attribute path).
    ``None`` when the schema uses something the generator does not cover."""
    if not isinstance(schema, Mapping) or schema.get("type") not in ("record", "error"):
        return None
    generator = _WriterGenerator(types or {})
    try:
        top = generator.record(schema, "", header=generator.constant("_header", header))
    except UnsupportedError:
        return None
    return cast(Writer, _build(generator, top, "writer", _name(schema)))


class _ReaderGenerator(_Generator):
    def __init__(self, types: Mapping[str, type], typed: bool) -> None:
        super().__init__(types)
        self.typed = typed
        self.env["_rlong"] = read_long
        self.env["_UZ"] = _UNZIGZAG

    def read(self, node: Any, target: str, namespace: str, indent: str) -> list[str]:
        """Statements reading ``node`` at ``pos`` of ``data`` into ``target``."""
        node, namespace = self.resolve(node, namespace)
        if isinstance(node, str):
            return self._primitive(node, target, indent)
        if isinstance(node, list):
            return self._union(node, target, namespace, indent)
        kind = node["type"]
        if node.get("logicalType") == "decimal":
            decimal = _read_decimal(int(node["precision"]), int(node.get("scale", 0)))
            raw = self.name("_raw")
            return [
                *self._primitive("bytes", raw, indent),
                f"{indent}{target} = {self.constant('_dec', decimal)}({raw})",
            ]
        if kind == "enum":
            self.record_name(node, namespace)
            symbols = self.constant("_symbols", tuple(node["symbols"]))
            index = self.name("_index")
            return [
                *self._long(index, indent),
                f"{indent}if {index} < 0:",
                f"{indent}    raise NotFastError",
                f"{indent}{target} = {symbols}[{index}]",
            ]
        if kind == "fixed":
            self.record_name(node, namespace)
            size = int(node["size"])
            return [
                f"{indent}{target} = data[pos:pos + {size}]",
                f"{indent}pos += {size}",
            ]
        if kind in ("record", "error"):
            return self.record(node, target, namespace, indent)
        if kind == "array":
            return self._blocks(target, indent, "[]", self._array_item(node, target, namespace))
        if kind == "map":
            return self._blocks(target, indent, "{}", self._map_item(node, target, namespace))
        raise UnsupportedError(f"type {kind}")

    def _long(self, target: str, indent: str) -> list[str]:
        b, c = self.name("_b"), self.name("_c")
        return [
            f"{indent}{b} = data[pos]",
            f"{indent}if {b} < 0x80:",
            f"{indent}    pos += 1",
            f"{indent}    {target} = _UZ[{b}]",
            f"{indent}elif ({c} := data[pos + 1]) < 0x80:  # 2 bytes: lengths up to 8191",
            f"{indent}    pos += 2",
            f"{indent}    {target} = _UZ[({b} & 0x7F) | ({c} << 7)]",
            f"{indent}else:",
            f"{indent}    {target}, pos = _rlong(data, pos)",
        ]

    def _primitive(self, kind: str, target: str, indent: str) -> list[str]:
        if kind == "null":
            return [f"{indent}{target} = None"]
        if kind == "boolean":
            b = self.name("_b")
            return [
                f"{indent}{b} = data[pos]",
                f"{indent}pos += 1",
                f"{indent}if {b} > 1:",
                f"{indent}    raise NotFastError",
                f"{indent}{target} = {b} == 1",
            ]
        if kind in ("long", "int"):
            return self._long(target, indent)
        if kind in ("string", "bytes"):
            size = self.name("_size")
            end = ".decode()" if kind == "string" else ""
            return [
                *self._long(size, indent),
                f"{indent}if {size} < 0:",
                f"{indent}    raise NotFastError",
                f"{indent}{target} = data[pos:pos + {size}]{end}",
                f"{indent}pos += {size}",
            ]
        if kind in ("double", "float"):
            fmt, width = ("<d", 8) if kind == "double" else ("<f", 4)
            unpack = self.constant("_unpack", struct.Struct(fmt).unpack_from)
            return [f"{indent}{target}, = {unpack}(data, pos)", f"{indent}pos += {width}"]
        raise UnsupportedError(f"type {kind}")

    def _union(self, branches: list[Any], target: str, namespace: str, indent: str) -> list[str]:
        if len(branches) != 2 or "null" not in branches:
            raise UnsupportedError(f"union {branches}")
        null_index = branches.index("null")
        other = branches[1 - null_index]
        b = self.name("_b")
        return [
            f"{indent}{b} = data[pos]",
            f"{indent}pos += 1",
            f"{indent}if {b} == {2 * null_index}:",
            f"{indent}    {target} = None",
            f"{indent}elif {b} == {2 * (1 - null_index)}:",
            *self.read(other, target, namespace, indent + "    "),
            f"{indent}else:",
            f"{indent}    raise NotFastError",
        ]

    def _array_item(self, node: Mapping[str, Any], target: str, namespace: str) -> Any:
        def item(indent: str) -> list[str]:
            element = self.name("_item")
            return [
                *self.read(node["items"], element, namespace, indent),
                f"{indent}{target}.append({element})",
            ]

        return item

    def _map_item(self, node: Mapping[str, Any], target: str, namespace: str) -> Any:
        def item(indent: str) -> list[str]:
            key, element = self.name("_key"), self.name("_item")
            return [
                *self._primitive("string", key, indent),
                *self.read(node["values"], element, namespace, indent),
                f"{indent}{target}[{key}] = {element}",
            ]

        return item

    def _blocks(self, target: str, indent: str, empty: str, item: Any) -> list[str]:
        count, ignored = self.name("_count"), self.name("_skip")
        inner = indent + "        "
        return [
            f"{indent}{target} = {empty}",
            f"{indent}while True:",
            *self._long(count, indent + "    "),
            f"{indent}    if not {count}:",
            f"{indent}        break",
            f"{indent}    if {count} < 0:",
            f"{indent}        {count} = -{count}",
            *self._long(ignored, indent + "        "),
            f"{indent}    for _ in range({count}):",
            *item(inner),
        ]

    def record(
        self, node: Mapping[str, Any], target: str, namespace: str, indent: str
    ) -> list[str]:
        full = self.record_name(node, namespace)
        self.building.add(full)
        inner = full.rpartition(".")[0]
        lines: list[str] = []
        values: list[tuple[str, str]] = []
        for field in node["fields"]:
            value = self.name("_v")
            lines += self.read(field["type"], value, inner, indent)
            values.append((field["name"], value))
        self.building.discard(full)
        if self.typed:
            if full not in self.types:
                raise UnsupportedError(f"{full} has no typed record class")
            cls = self.constant("_cls", self.types[full])
            built = f"{cls}({', '.join(f'{name}={value}' for name, value in values)})"
        else:
            built = "{" + ", ".join(f"{name!r}: {value}" for name, value in values) + "}"
        return [*lines, f"{indent}{target} = {built}"]


_UNZIGZAG = tuple((z >> 1) ^ -(z & 1) for z in range(1 << 14))
"""``_UNZIGZAG[z]``: the long whose zigzag encoding is ``z`` (one or two varint bytes)."""
_UNPACK_NINE = struct.Struct("<HHHHB").unpack_from
_GROUPS: tuple[int, ...] = tuple(
    ((pair & 0x7F) | ((pair >> 1) & 0x3F80)) if pair & 0x8080 == 0x8080 else -1
    for pair in range(1 << 16)
)
"""Two bytes read little-endian -> their two 7-bit groups, or -1 unless both bytes have the
continuation bit (then the combined value is negative: not a 9-byte varint)."""


def read_long(data: bytes, pos: int) -> tuple[int, int]:
    """The Avro long at ``data[pos]`` and the position after it. Only the encodings
    fastavro reads as the same 64-bit value are taken (at most 10 bytes). Raises nothing
    on the common paths (an exception costs more than the read)."""
    end = pos + 9
    if end <= len(data) and data[pos + 8] < 0x80:  # maybe 9 bytes (nanosecond timestamps)
        g0, g1, g2, g3, last = _UNPACK_NINE(data, pos)
        groups = _GROUPS
        n = groups[g0] | groups[g1] << 14 | groups[g2] << 28 | groups[g3] << 42 | last << 56
        if n >= 0:
            return (n >> 1) ^ -(n & 1), end
    b = data[pos]
    pos += 1
    n = b & 0x7F
    shift = 7
    while b & 0x80:
        b = data[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if shift == 70 and b > 1:  # more than 64 bits
            raise NotFastError
    return (n >> 1) ^ -(n & 1), pos


def compile_reader(
    schema: Mapping[str, Any], types: Mapping[str, type] | None = None, *, typed: bool
) -> Reader | None:
    """The generated reader of ``schema``: a message whose header (5 bytes) was checked by
    the caller -> the typed record (``typed``, classes from ``types``) or the dict;
    raises (:class:`NotFastError`, :class:`IndexError`, ...) for anything it does not take,
    including bytes left over. ``None`` when the schema is not covered."""
    if not isinstance(schema, Mapping) or schema.get("type") not in ("record", "error"):
        return None
    generator = _ReaderGenerator(types or {}, typed)
    try:
        body = generator.record(schema, "record", "", "    ")
    except UnsupportedError:
        return None
    function = generator.name("_read")
    generator.functions.append(
        f"def {function}(data):\n"
        "    pos = 5\n"
        + "\n".join(body)
        + "\n    if pos != len(data):\n        raise NotFastError\n    return record\n"
    )
    return cast(Reader, _build(generator, function, "reader", _name(schema)))


def _build(generator: _Generator, top: str, what: str, schema: str) -> Any:
    source = "\n".join(generator.functions)
    # Generated from the schema's field names and type structure (Avro names are
    # [A-Za-z_][A-Za-z0-9_]*, and are repr()-quoted where used as keys), never from data.
    exec(compile(source, f"<{what} {schema}>", "exec"), generator.env)  # noqa: S102
    return generator.env[top]


def _name(schema: Mapping[str, Any]) -> str:
    return qualify(str(schema.get("name", "?")), str(schema.get("namespace", "")))
