"""The generated writers and readers (tapewire.schemas.compiled) against fastavro: byte for
byte, record for record, over every schema in schemas/avro, with hypothesis."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tapewire.core.errors import SchemaError
from tapewire.core.exact import EXACT
from tapewire.records.catalog import RECORD_TYPES
from tapewire.records.market import BookUpdate, PriceLevel
from tapewire.schemas.compiled import (
    _FEW,
    _HIGH_KEPT,
    _REMEMBERED,
    NotFastError,
    compile_reader,
    compile_writer,
    read_long,
    write_long,
)
from tapewire.schemas.loading import NAMED_TYPES, fullname_of, load_schemas
from tapewire.schemas.registry import PRIMITIVES, LocalSchemaRegistry, qualify
from tapewire.schemas.wire import AvroSerde

SCHEMAS = load_schemas()
RECORDS = sorted(name for name, schema in SCHEMAS.items() if schema["type"] == "record")
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
# every varint length boundary (2**(7k) +- 1, both signs), the bounds of the generated 9-byte
# branch (2**55, 2**62), of its 5- and 6-byte ones and the 64-bit limits
LONG_EDGES = sorted(
    {
        sign * (2 ** (7 * k) + delta)
        for k in range(1, 10)
        for delta in (-1, 0, 1)
        for sign in (1, -1)
        if LONG_MIN <= sign * (2 ** (7 * k) + delta) <= LONG_MAX
    }
    | {2**55 - 1, 2**55, 2**62 - 1, 2**62, -(2**55), -(2**62), LONG_MIN, LONG_MAX, 0, -1}
    # the zigzag length boundaries of the generated 5- and 6-byte branches
    | {2**k + delta for k in (27, 34, 41) for delta in (-1, 0, 1)}
)


def _decimals(precision: int, scale: int) -> st.SearchStrategy[Decimal]:
    largest = 10**precision - 1
    unscaled = st.one_of(
        st.integers(-largest, largest),
        st.sampled_from([0, 1, -1, largest, -largest, 127, 128, -128, -129, 255, 256, -256]),
    )
    at_scale = unscaled.map(lambda u: Decimal(u).scaleb(-scale, EXACT))
    # the same values as a venue sends them: fewer places, or an exponent
    return st.one_of(at_scale, at_scale.map(lambda d: d.normalize(EXACT)))


class _Values:
    """A hypothesis strategy for the values of one self-contained schema."""

    def __init__(self) -> None:
        self.named: dict[str, Any] = {}

    def of(self, node: Any, namespace: str = "") -> st.SearchStrategy[Any]:
        if isinstance(node, str):
            if node not in PRIMITIVES:
                return self.of(self.named[qualify(node, namespace)], namespace)
            return self._primitive(node)
        if isinstance(node, list):
            return st.one_of([self.of(branch, namespace) for branch in node])
        kind = node["type"]
        if node.get("logicalType") == "decimal":
            return _decimals(int(node["precision"]), int(node.get("scale", 0)))
        if kind in NAMED_TYPES:
            full = qualify(node["name"], node.get("namespace", namespace))
            self.named[full] = node
            inner = full.rpartition(".")[0]
            if kind == "enum":
                return st.sampled_from(node["symbols"])
            if kind == "fixed":
                size = int(node["size"])
                return st.binary(min_size=size, max_size=size)
            required = {f["name"]: self.of(f["type"], inner) for f in node["fields"]}
            optional = {
                name: strategy
                for name, strategy in required.items()
                if any(f["name"] == name and "default" in f for f in node["fields"])
            }
            for name in optional:
                del required[name]
            return st.fixed_dictionaries(required, optional=optional)
        if kind == "array":
            return st.lists(self.of(node["items"], namespace), max_size=4)
        if kind == "map":
            return st.dictionaries(
                st.text(max_size=8), self.of(node["values"], namespace), max_size=3
            )
        return self.of(kind, namespace)

    @staticmethod
    def _primitive(kind: str) -> st.SearchStrategy[Any]:
        return {
            "null": st.none(),
            "boolean": st.booleans(),
            "int": st.one_of(
                st.integers(-(2**31), 2**31 - 1), st.sampled_from([-(2**31), 2**31 - 1])
            ),
            "long": st.one_of(
                st.integers(LONG_MIN, LONG_MAX),
                st.integers(-70_000, 70_000),
                st.sampled_from([*LONG_EDGES, 2**56, 2**56 - 1, -(2**56)]),
            ),
            "float": st.floats(width=32, allow_nan=False),
            "double": st.floats(allow_nan=False),
            "string": st.text(max_size=80),
            "bytes": st.binary(max_size=300),
        }[kind]


def _serdes(name: str) -> tuple[AvroSerde, AvroSerde]:
    registry = LocalSchemaRegistry()
    schema = SCHEMAS[name]
    schema_id = registry.register("", schema)
    fast = AvroSerde(name, schema, schema_id, registry.get_schema)
    slow = AvroSerde(name, schema, schema_id, registry.get_schema, compiled=False)
    return fast, slow


def _exact(value: Any) -> Any:
    """``value`` with every Decimal as its tuple (``1.0`` and ``1.00`` differ here)."""
    if isinstance(value, Decimal):
        return ("Decimal", value.as_tuple())
    if isinstance(value, Mapping):
        return (type(value).__name__, {key: _exact(value[key]) for key in value})
    if isinstance(value, list | tuple):
        return [_exact(item) for item in value]
    return (type(value).__name__, value)


@pytest.mark.parametrize("name", RECORDS)
def test_every_record_schema_compiles(name: str) -> None:
    header = b"\x00\x00\x00\x00\x01"
    assert compile_writer(SCHEMAS[name], header, RECORD_TYPES) is not None
    assert compile_reader(SCHEMAS[name], typed=False) is not None
    if name in RECORD_TYPES:
        assert compile_reader(SCHEMAS[name], RECORD_TYPES, typed=True) is not None


@pytest.mark.parametrize("name", RECORDS)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_code_matches_fastavro_byte_for_byte(name: str, data: st.DataObject) -> None:
    fast, slow = _serdes(name)
    record = data.draw(_Values().of(SCHEMAS[name]))
    expected = slow.encode(record)
    assert fast._fast_write is not None
    assert fast._fast_decode is not None
    assert fast._fast_write(record) == expected  # the generated writer itself, no fallback
    assert fast.encode(record) == expected
    assert _exact(fast._fast_decode(expected)) == _exact(slow.decode(expected))
    assert _exact(fast.decode(expected)) == _exact(slow.decode(expected))
    if name in RECORD_TYPES:
        typed = slow.read(expected)
        assert fast._fast_write(typed) == expected
        assert fast._fast_read is not None
        assert _exact(fast._fast_read(expected)) == _exact(typed)
        assert fast._fast_read(expected) == typed


@settings(max_examples=300, deadline=None)
@given(st.integers(LONG_MIN, LONG_MAX), st.binary(max_size=3))
def test_long_varints_round_trip(value: int, after: bytes) -> None:
    encoded = write_long(value)
    zigzag, reference = (value << 1) ^ (value >> 63), bytearray()
    while zigzag > 0x7F:  # the Avro specification's loop, one 7-bit group at a time
        reference.append((zigzag & 0x7F) | 0x80)
        zigzag >>= 7
    assert encoded == bytes([*reference, zigzag])
    assert read_long(encoded + after, 0) == (value, len(encoded))


def test_long_varints_at_every_length_boundary() -> None:
    """Every varint length (1 to 10 bytes), at and around each power of two."""
    for bits in range(63):
        for value in (2**bits - 1, 2**bits, 2**bits + 1, -(2**bits), -(2**bits) - 1):
            if not LONG_MIN <= value <= LONG_MAX:
                continue
            zigzag, reference = (value << 1) ^ (value >> 63), bytearray()
            while zigzag > 0x7F:
                reference.append((zigzag & 0x7F) | 0x80)
                zigzag >>= 7
            assert write_long(value) == bytes([*reference, zigzag]), value


@pytest.mark.parametrize("value", LONG_EDGES)
def test_long_edges_in_generated_code_match_fastavro(value: int) -> None:
    """The generated writer's inline branches (9 bytes, small, the rest) and the reader's
    (1 byte, 2 bytes, the rest), in every field position: first, last, in a union."""
    fast, slow = _serdes("io.tapewire.RawFrame")
    frame = {
        "venue": "binance",
        "connection_id": "c1",
        "sequence": value,
        "transport": "WEBSOCKET",
        "origin": "LIVE",
        "payload": b"x" * (abs(value) % 9000),  # lengths of 1, 2 and 3 bytes
        "receive_ts_ns": value,
        "request_ts_ns": value,
    }
    expected = slow.encode(frame)
    assert fast._fast_write is not None
    assert fast._fast_decode is not None
    assert fast._fast_write(frame) == expected
    assert fast._fast_decode(expected) == slow.decode(expected)
    for cut in (1, 9):  # truncated: the fast reader refuses, it never reads past the end
        with pytest.raises(Exception):  # noqa: B017, PT011 - any error: fastavro then explains
            fast._fast_decode(expected[:-cut])


@pytest.mark.parametrize("value", LONG_EDGES)
def test_read_long_at_the_end_of_the_data(value: int) -> None:
    encoded = write_long(value)
    assert read_long(b"\x00\x00" + encoded, 2) == (value, 2 + len(encoded))
    assert read_long(encoded + b"\xff" * 9, 0) == (value, len(encoded))


DECIMAL_EDGES = [
    "16541.12000000",  # trailing zeros
    "0.00512000",
    "0.00",
    "-0.00",
    "-16541.12",
    "-0.000000000000000001",
    "1E+2",  # exponent forms
    "1.5E-7",
    "-2.50E+3",
    "1.000000000000000000000",  # more places than the scale, all zeros: exact
    "99999999999999999999.999999999999999999",  # the largest decimal(38,18)
    "-99999999999999999999.999999999999999999",
    "0.000000000000000128",  # unscaled 128, -128, -129: two's complement sizes
    "-0.000000000000000128",
    "-0.000000000000000129",
    "0.000000000000000255",
]


@pytest.mark.parametrize("text", DECIMAL_EDGES)
def test_decimal_edges_match_fastavro(text: str) -> None:
    fast, slow = _serdes("io.tapewire.Trade")
    trade = {
        "venue": "binance",
        "instrument": "BTC-USDT",
        "trade_id": "1",
        "price": Decimal(text),
        "size": Decimal(text),
        "side": "BUY",
        "receive_ts_ns": 1,
        "process_ts_ns": 2,
    }
    expected = slow.encode(trade)
    assert fast._fast_write is not None
    assert fast._fast_write(trade) == expected


@pytest.mark.parametrize(
    "text", ["NaN", "sNaN", "Infinity", "-Infinity", "1E+20", "1.0000000000000000001", "1E-19"]
)
def test_generated_writer_refuses_unusual_decimals(text: str) -> None:
    """Not exact at decimal(38,18), or not a number: the generated writer raises, the
    checked path then names the field."""
    fast, slow = _serdes("io.tapewire.Trade")
    trade = {
        "venue": "binance",
        "instrument": "BTC-USDT",
        "trade_id": "1",
        "price": Decimal(text),
        "size": Decimal(1),
        "side": "BUY",
        "receive_ts_ns": 1,
        "process_ts_ns": 2,
    }
    assert fast._fast_write is not None
    with pytest.raises(Exception):  # noqa: B017, PT011 - any error: the checked path explains
        fast._fast_write(trade)
    with pytest.raises(SchemaError) as slow_error:
        slow.encode(trade)
    with pytest.raises(SchemaError) as fast_error:
        fast.encode(trade)
    assert str(fast_error.value) == str(slow_error.value)


@pytest.mark.parametrize("value", [LONG_MAX + 1, LONG_MIN - 1, True, 1.0, "1"])
def test_write_long_refuses_what_is_not_a_long(value: Any) -> None:
    with pytest.raises(NotFastError):
        write_long(value)


def test_read_long_refuses_more_than_64_bits() -> None:
    with pytest.raises(NotFastError):
        read_long(b"\xff" * 9 + b"\x02", 0)
    assert read_long(b"\xff" * 9 + b"\x01", 0) == (LONG_MIN, 10)


BAD_TRADES = [
    {"price": Decimal("1.0000000000000000001")},  # 19 places
    {"price": Decimal("1e20")},  # 21 integer digits
    {"price": Decimal("NaN")},
    {"price": 1.5},
    {"size": "0.1"},
    {"receive_ts_ns": 1.7e18},
    {"receive_ts_ns": 2**63},
    {"side": "SIDEWAYS"},
    {"venue": b"binance"},
    {"venue": None},
    {"unknown_field": 1},
    {"exchange_ts_ns": True},
]


@pytest.mark.parametrize("change", BAD_TRADES, ids=lambda c: repr(c)[:40])
def test_bad_records_get_the_checked_paths_error(change: dict[str, Any]) -> None:
    fast, slow = _serdes("io.tapewire.Trade")
    trade = {
        "venue": "binance",
        "instrument": "BTC-USDT",
        "trade_id": "1",
        "price": Decimal("16541.12"),
        "size": Decimal("0.00512"),
        "side": "BUY",
        "receive_ts_ns": 1,
        "process_ts_ns": 2,
    }
    trade.update(change)
    with pytest.raises(SchemaError) as slow_error:
        slow.encode(trade)
    with pytest.raises(SchemaError) as fast_error:
        fast.encode(trade)
    assert str(fast_error.value) == str(slow_error.value)


def test_corrupt_messages_get_fastavros_error() -> None:
    fast, slow = _serdes("io.tapewire.RawFrame")
    frame = {
        "venue": "binance",
        "connection_id": "c1",
        "sequence": 7,
        "transport": "WEBSOCKET",
        "origin": "LIVE",
        "payload": b'{"e":"trade"}',
        "receive_ts_ns": 1_700_000_000_000_000_000,
    }
    message = slow.encode(frame)
    for corrupt in (message[:-3], message + b"\x00", message[:5] + b"\x05" + message[6:]):
        with pytest.raises(SchemaError) as slow_error:
            slow.decode(corrupt)
        with pytest.raises(SchemaError) as fast_error:
            fast.decode(corrupt)
        assert str(fast_error.value) == str(slow_error.value)
        with pytest.raises(SchemaError):
            fast.read(corrupt)


def test_a_message_from_another_schema_version_takes_fastavro() -> None:
    """Schema evolution: data written with an older Quote (without ``source``) is resolved
    by fastavro into the current schema, defaults filled in."""
    current = SCHEMAS["io.tapewire.Quote"]
    older = {**current, "fields": [f for f in current["fields"] if f["name"] != "source"]}
    registry = LocalSchemaRegistry([older])
    old_id = registry.register("", older)
    writer = AvroSerde(fullname_of(older), older, old_id, registry.get_schema, compiled=False)
    message = writer.encode(
        {"venue": "okx", "instrument": "BTC-USDT", "receive_ts_ns": 1, "process_ts_ns": 2}
    )
    reader = AvroSerde(
        "io.tapewire.Quote", current, registry.register("", current), registry.get_schema
    )
    quote = reader.read(message)
    assert quote["source"] == "UNKNOWN"
    assert reader.decode(message)["bid_price"] is None


def _book(bids: list[Decimal], asks: list[Decimal]) -> BookUpdate:
    return BookUpdate(
        venue="binance",
        instrument="BTC-USDT-SPOT",
        kind="DELTA",
        bids=[PriceLevel(price=p, size=p) for p in bids],
        asks=[PriceLevel(price=p, size=p) for p in asks],
        first_sequence=499869755,
        last_sequence=61234567890,
        receive_ts_ns=1_733_330_000_123_456_789,
        process_ts_ns=1_733_330_000_123_999_999,
    )


@pytest.mark.parametrize("levels", [1, _FEW, _FEW + 1, 1000], ids=lambda n: f"{n} levels")
def test_book_levels_short_and_long_arrays_match_fastavro(levels: int) -> None:
    """Short arrays remember their decimals' bytes per object, long ones write them inline:
    the same bytes either way, for equal values written differently and objects seen before."""
    fast, slow = _serdes("io.tapewire.BookUpdate")
    assert fast._fast_write is not None
    texts = ["1.5", "1.50", "1.500000000000000000", "0", "-0", "0E-8", "15E-1", "1E+3"]
    values = [Decimal(texts[i % len(texts)]) + (i // len(texts)) for i in range(levels)]
    for _ in range(2):  # the second time, every value is remembered
        record = _book(values, values[::-1])
        assert fast._fast_write(record) == slow.encode(record)


def test_remembered_decimals_are_bounded_and_forgotten_together() -> None:
    fast, slow = _serdes("io.tapewire.BookUpdate")
    write = fast._fast_write
    assert write is not None
    memories = [v for k, v in write.__globals__.items() if k.startswith("_dmem")]
    assert len(memories) == 1  # one per (precision, scale)
    for start in range(0, _REMEMBERED + 3 * _FEW, _FEW):
        values = [Decimal(n).scaleb(-8) for n in range(start, start + _FEW)]
        record = _book(values, [])
        assert write(record) == slow.encode(record)
        assert 0 < len(memories[0]) <= _REMEMBERED


@pytest.mark.parametrize("text", ["NaN", "sNaN", "Infinity", "1E+20", "1E-19"])
def test_a_short_array_refuses_unusual_decimals_and_remembers_none(text: str) -> None:
    fast, slow = _serdes("io.tapewire.BookUpdate")
    write = fast._fast_write
    assert write is not None
    record = _book([Decimal("1.5"), Decimal(text)], [])
    with pytest.raises(Exception):  # noqa: B017, PT011 - any error: the checked path explains
        write(record)
    with pytest.raises(SchemaError) as slow_error:
        slow.encode(record)
    with pytest.raises(SchemaError) as fast_error:
        fast.encode(record)
    assert str(fast_error.value) == str(slow_error.value)
    memory = next(v for k, v in write.__globals__.items() if k.startswith("_dmem"))
    assert [str(d) for d, _ in memory.values()] == ["1.5"]


def test_nanosecond_timestamps_from_remembered_high_bytes_are_bounded() -> None:
    """9-byte longs take their last 5 bytes from a bounded table of recent ones."""
    fast, slow = _serdes("io.tapewire.Trade")
    write = fast._fast_write
    assert write is not None
    high = write.__globals__["_hget"].__self__
    start = 1_733_330_000_123_456_789
    for n in range(0, (_HIGH_KEPT + 10) * 2**27, 2**26 + 12_345):
        for t in (start + n, 2**55 + n, 2**62 - 1 - n):
            trade = {
                "venue": "binance",
                "instrument": "BTC-USDT",
                "trade_id": "1",
                "price": Decimal("1.5"),
                "size": Decimal("2"),
                "side": "BUY",
                "receive_ts_ns": t,
                "process_ts_ns": t,
            }
            assert write(trade) == slow.encode(trade)
        assert 0 < len(high) <= _HIGH_KEPT
