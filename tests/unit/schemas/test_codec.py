"""Avro schemas and their Confluent wire-format codec: round trips, exact decimals, ns
timestamps, errors, deterministic ids, and the registry-backed path (against a loopback
server speaking the Confluent schema registry REST API)."""

from __future__ import annotations

import hashlib
import io
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import fastavro
import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.schema import to_parsing_canonical_form
from hypothesis import given, settings
from hypothesis import strategies as st

from tapewire.core.errors import SchemaError
from tapewire.core.settings import load_settings
from tapewire.schemas.codec import Codec
from tapewire.schemas.loading import SCHEMA_DIR, for_fastavro, load_schemas, read_schema_files
from tapewire.schemas.registry import (
    TOPICS,
    ConfluentSchemaRegistry,
    LocalSchemaRegistry,
    canonical_form,
    local_schema_id,
    message_key,
    registry_from_settings,
    schema_name_for_topic,
    subject_for_topic,
)
from tapewire.schemas.wire import AvroSerde

TS = 1_700_000_000_123_456_789
MAX_DECIMAL = Decimal("99999999999999999999.999999999999999999")  # decimal(38,18) limit
# Careful: arithmetic on such values (even unary minus) rounds to the default context's 28
# digits; copy_negate() is exact. See docs/schemas.md.
CONNECTION = "3f1c2a9e-5d4b-4c1e-9a7f-0c2d8e6b1a42"


def _request() -> dict[str, Any]:
    return {
        "client_order_id": "strat1-000042",
        "account": "main",
        "venue": "binance",
        "instrument": "BTC-USDT",
        "action": "NEW",
        "side": "BUY",
        "order_type": "LIMIT",
        "time_in_force": "GTD",
        "quantity": Decimal("0.00000812"),
        "limit_price": Decimal("68123.45"),
        "post_only": True,
        "expire_ts_ns": TS + 3_600_000_000_000,
        "strategy_id": "spread-1",
        "requested_by": "strategy:spread-1",
        "request_ts_ns": TS,
        "tags": {"signal": "s-17"},
    }


SAMPLES: dict[str, dict[str, Any]] = {
    "md.raw": {
        "venue": "binance",
        "connection_id": CONNECTION,
        "sequence": 0,
        "transport": "WEBSOCKET",
        "origin": "LIVE",
        "channel": "trade",
        "symbol": "BTCUSDT",
        "payload": b'{"e":"trade","s":"BTCUSDT","p":"68123.45000000","q":"0.00000812"}',
        "receive_ts_ns": TS,
    },
    "md.trades": {
        "venue": "binance",
        "instrument": "BTC-USDT",
        "trade_id": "3275884721",
        "price": Decimal("68123.45"),
        "size": Decimal("0.00000812"),
        "side": "SELL",
        "exchange_ts_ns": 1_700_000_000_122_000_000,
        "receive_ts_ns": TS,
        "process_ts_ns": TS + 85_000,
        "connection_id": CONNECTION,
        "frame_sequence": 7,
    },
    "md.book": {
        "venue": "okx",
        "instrument": "BTC-USDT-SWAP",
        "kind": "DELTA",
        "bids": [
            {"price": Decimal("68123.4"), "size": Decimal("1.25")},
            {"price": Decimal("68123.3"), "size": Decimal("0")},
        ],
        "asks": [{"price": Decimal("68123.5"), "size": Decimal("0.00000812")}],
        "first_sequence": 100,
        "last_sequence": 101,
        "prev_sequence": 99,
        "checksum": -1_234_567_890,
        "exchange_ts_ns": 1_700_000_000_122_000_000,
        "receive_ts_ns": TS,
        "process_ts_ns": TS + 1,
    },
    "md.quotes": {
        "venue": "kraken",
        "instrument": "BTC-USD",
        "bid_price": Decimal("68123.4"),
        "bid_size": Decimal("0.5"),
        "ask_price": None,
        "ask_size": None,
        "source": "VENUE_BBO",
        "exchange_ts_ns": None,
        "receive_ts_ns": TS,
        "process_ts_ns": TS + 1,
    },
    "md.derivatives": {
        "venue": "binanceusdm",
        "instrument": "BTC-USDT-PERP-USDT",
        "mark_price": Decimal("11794.15000000"),
        "index_price": Decimal("11784.62659091"),
        "funding_rate": Decimal("-0.00038167"),  # funding rates may be negative
        "next_funding_ts_ns": 1597392000000 * 1_000_000,
        "exchange_ts_ns": 1562305380000 * 1_000_000,
        "receive_ts_ns": TS,
        "process_ts_ns": TS + 1,
    },
    "md.bars.1m": {
        "venue": "binance",
        "instrument": "BTC-USDT",
        "interval": "1m",
        "interval_ns": 60_000_000_000,
        "start_ts_ns": 1_700_000_040_000_000_000,
        "end_ts_ns": 1_700_000_100_000_000_000,
        "open": Decimal("68123.45"),
        "high": Decimal("68150"),
        "low": Decimal("68100.01"),
        "close": Decimal("68120.5"),
        "volume": Decimal("12.00000812"),
        "quote_volume": Decimal("817481.923456789012345678"),
        "vwap": Decimal("68123.456789012345678901"),
        "trade_count": 1042,
        "buy_volume": Decimal("7"),
        "sell_volume": Decimal("5.00000812"),
        "process_ts_ns": TS,
    },
    "md.coverage": {
        "venue": "binance",
        "instrument": "BTC-USDT-SPOT",
        "channel": "book",
        "event": "GAP",
        "from_ns": TS - 1_000_000,
        "to_ns": TS,
        "reason": "sequence_gap",
        "process_ts_ns": TS + 10,
    },
    "md.nbbo": {
        "instrument": "BTC-USD",
        "bid_price": Decimal("68123.45"),
        "bid_size": Decimal("0.1"),
        "bid_venue": "coinbase",
        "ask_price": Decimal("68123.46"),
        "ask_size": Decimal("2"),
        "ask_venue": "kraken",
        "venue_count": 3,
        "bid_receive_ts_ns": TS,
        "ask_receive_ts_ns": TS - 5,
        "process_ts_ns": TS + 10,
    },
    "md.depth": {
        "instrument": "BTC-USD_EQ-SPOT",
        "levels": 2,
        "bids": [
            {
                "venue": "binance",
                "instrument": "BTC-USDT-SPOT",
                "price": Decimal("68123.4"),
                "size": Decimal("0.00000812"),
                "effective_price": Decimal("68072.30745"),
            }
        ],
        "asks": [
            {
                "venue": "okx",
                "instrument": "BTC-USDC-SPOT",
                "price": Decimal("68123.5"),
                "size": Decimal("1.25"),
                "effective_price": Decimal("68178.0988"),
            }
        ],
        "venue_count": 2,
        "receive_ts_ns": TS,
        "process_ts_ns": TS + 10,
    },
    "oms.requests": _request(),
    "oms.parent_requests": {
        "parent_id": "p-1",
        "account": "main",
        "instrument": "BTC-USDT-SPOT",
        "side": "BUY",
        "quantity": Decimal("2.00000812"),
        "limit_price": Decimal("68200"),
        "venues": ["binance", "okx"],
        "requested_by": "cli:ana",
        "request_ts_ns": TS,
    },
    "oms.parent_events": {
        "event_id": "p-1:3",
        "parent_id": "p-1",
        "account": "main",
        "algo": "SOR",
        "instrument": "BTC-USDT-SPOT",
        "side": "BUY",
        "event_type": "ChildFilled",
        "event": '{"type":"ChildFilled","quantity":"0.5"}',
        "status": "PARTIALLY_FILLED",
        "quantity": Decimal("2"),
        "cum_qty": Decimal("0.5"),
        "leaves_qty": Decimal("1.5"),
        "avg_price": Decimal("68123.5"),
        "avg_price_with_fees": Decimal("68174.59262500"),
        "children": 2,
        "open_children": 1,
        "waves": 1,
        "event_ts_ns": TS,
    },
    "oms.approved": {
        "decision_id": "d-1",
        "client_order_id": "strat1-000042",
        "account": "main",
        "decision": "APPROVED",
        "rules_evaluated": ["max_quantity", "price_band", "stale_market_data"],
        "trading_state": "ACTIVE",
        "reference_price": Decimal("68123.455"),
        "reference_ts_ns": TS - 1_000_000,
        "decision_ts_ns": TS,
        "request": _request(),
    },
    "oms.denied": {
        "decision_id": "d-2",
        "client_order_id": "strat1-000043",
        "account": "main",
        "decision": "DENIED",
        "rule": "price_band",
        "reason": "limit 70000 is 2.75% above NBBO mid 68123.455 (band 1%)",
        "trading_state": "REDUCING",
        "decision_ts_ns": TS,
        "request": {**_request(), "client_order_id": "strat1-000043"},
    },
    "oms.events": {
        "event_id": "ev-1",
        "client_order_id": "strat1-000042",
        "venue_order_id": "8123456789",
        "account": "main",
        "venue": "binance",
        "instrument": "BTC-USDT",
        "side": "BUY",
        "order_type": "STOP_LIMIT",
        "time_in_force": "GTC",
        "status": "PARTIALLY_FILLED",
        "exec_type": "TRADE",
        "quantity": Decimal("0.5"),
        "limit_price": Decimal("68123.45"),
        "stop_price": Decimal("68100"),
        "cum_qty": Decimal("0.2"),
        "leaves_qty": Decimal("0.3"),
        "avg_price": Decimal("68120.1"),
        "last_qty": Decimal("0.2"),
        "last_price": Decimal("68120.1"),
        "exec_id": "T-99",
        "emulated": True,
        "text": "stop emulated locally: venue lacks stop-limit",
        "venue_ts_ns": TS - 2_000,
        "event_ts_ns": TS,
    },
    "oms.fills": {
        "fill_id": "binance:T-99",
        "client_order_id": "strat1-000042",
        "account": "main",
        "venue": "binance",
        "instrument": "BTC-USDT",
        "side": "BUY",
        "price": Decimal("68120.1"),
        "quantity": Decimal("0.2"),
        "fee": Decimal("-0.00000812"),
        "fee_currency": "BNB",
        "liquidity": "MAKER",
        "venue_ts_ns": TS - 2_000,
        "receive_ts_ns": TS,
    },
    "positions": {
        "account": "main",
        "venue": "binance",
        "instrument": "BTC-USDT",
        "quantity": Decimal("-0.2"),
        "avg_price": Decimal("68120.1"),
        "realized_pnl": Decimal("12.345678901234567890"),
        "unrealized_pnl": Decimal("-0.67"),
        "fees": Decimal("0.00000812"),
        "mark_price": Decimal("68123.455"),
        "mark_ts_ns": TS,
        "pnl_currency": "USDT",
        "update_ts_ns": TS + 1,
    },
    "tca": {
        "tca_id": "order:main:strat1-000042",
        "kind": "ORDER",
        "account": "main",
        "order_id": "strat1-000042",
        "parent_id": "p-7",
        "venue": "binance",
        "instrument": "BTC-USDT-SPOT",
        "side": "BUY",
        "status": "FILLED",
        "quantity": Decimal("0.5"),
        "filled_qty": Decimal("0.5"),
        "fill_ratio": Decimal("1"),
        "avg_price": Decimal("68120.1"),
        "notional": Decimal("34060.05"),
        "arrival_ts_ns": TS - 5_000,
        "arrival_mid": Decimal("68110.05"),
        "arrival_source": "NBBO",
        "arrival_quote_ts_ns": TS - 6_000,
        "end_ts_ns": TS,
        "interval_volume": Decimal("0"),
        "interval_trades": 0,
        "slippage_arrival_bps": Decimal("1.475552213812649094"),
        "execution_cost": Decimal("5.025"),
        "fees_quote": Decimal("-0.00000812"),
        "fees": {"USDT": Decimal("-0.00000812"), "BNB": Decimal("0.000001")},
        "venue_mix": {"binance": Decimal("1")},
        "note": "fees in BNB not converted to USDT",
    },
    "alerts": {
        "alert_id": "a-1",
        "severity": "CRITICAL",
        "source": "risk",
        "code": "POSITION_LIMIT_BREACH",
        "message": "main BTC-USDT position 2.5 > limit 2",
        "labels": {"account": "main", "instrument": "BTC-USDT"},
        "event_ts_ns": TS,
    },
    "dlq.normalize": {
        "stage": "normalize",
        "source_topic": "md.raw",
        "source_partition": 3,
        "source_offset": 123_456,
        "key": b"binance",
        "payload": b"\x00\x00\x00\x00\x01garbage",
        "error_type": "ParseError",
        "reason": "frame is not JSON: unexpected byte 0x00 at 0",
        "failed_ts_ns": TS,
    },
}


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec(LocalSchemaRegistry())


def _full(serde: AvroSerde, record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with the schema's defaults filled in: what decode must return."""
    return _with_defaults(serde.schema, record)


def _with_defaults(schema: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    result = dict(record)
    for field in schema["fields"]:
        name, kind = field["name"], field["type"]
        result.setdefault(name, field.get("default"))
        if isinstance(kind, dict) and kind.get("type") == "record":
            result[name] = _with_defaults(kind, result[name])
    return result


# --- The schema files ------------------------------------------------------------------


def test_every_topic_schema_round_trips_a_realistic_record(codec: Codec) -> None:
    covered = set()
    for topic, record in SAMPLES.items():
        serde = codec.for_topic(topic)
        assert codec.decode(topic, codec.encode(topic, record)) == _full(serde, record), topic
        covered.add(serde.name)
    assert covered == {spec.schema for spec in TOPICS}


def test_schema_files_follow_the_conventions() -> None:
    documents = read_schema_files()
    assert len(documents) >= 13
    for name, document in documents.items():
        assert name.startswith("io.tapewire."), name
        assert document.get("namespace") == "io.tapewire", name
        assert document.get("doc"), f"{name} has no doc"
        if document["type"] == "record":
            for field in document["fields"]:
                assert field.get("doc"), f"{name}.{field['name']} has no doc"
                if field["name"].endswith("_ts_ns"):
                    types = field["type"] if isinstance(field["type"], list) else [field["type"]]
                    assert {"type": "long", "logicalType": "timestamp-nanos"} in types, field
    decimals = [
        node
        for schema in load_schemas().values()
        for node in _walk(schema)
        if isinstance(node, dict) and node.get("logicalType") == "decimal"
    ]
    assert decimals
    assert all(
        node == {"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 18}
        for node in decimals
    )


def _walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, list):
        for item in node:
            yield from _walk(item)
    elif isinstance(node, dict):
        for key in ("type", "items", "values"):
            if isinstance(node.get(key), dict | list):
                yield from _walk(node[key])
        for field in node.get("fields", []):
            yield from _walk(field["type"])


def test_self_contained_schemas_parse_in_fastavro_alone() -> None:
    for name, schema in load_schemas().items():
        parsed: Any = parse_schema(json.loads(json.dumps(schema)))  # no named_schemas given
        assert parsed["name"] == name


def test_enum_defaults_are_symbols() -> None:
    for name, document in read_schema_files().items():
        if document["type"] == "enum" and "default" in document:
            assert document["default"] in document["symbols"], name


# --- Exact decimals --------------------------------------------------------------------


def test_small_decimal_round_trips_as_an_equal_value(codec: Codec) -> None:
    record = {**SAMPLES["md.trades"], "size": Decimal("0.00000812")}
    back = codec.decode("md.trades", codec.encode("md.trades", record))
    assert back["size"] == Decimal("0.00000812")
    assert back["size"].normalize() == Decimal("0.00000812")
    assert isinstance(back["size"], Decimal)
    # The value comes back at scale 18, as ClickHouse Decimal(38,18) shows it.
    assert str(back["size"]) == "0.000008120000000000"
    assert back["price"] == Decimal("68123.45")


@pytest.mark.parametrize(
    "value",
    [
        MAX_DECIMAL,
        MAX_DECIMAL.copy_negate(),
        Decimal("0"),
        Decimal("-0.000000000000000001"),
        Decimal("1E+19"),
        Decimal("0E+30"),
        Decimal("68123.450000000000000000"),
    ],
)
def test_decimal_limits_round_trip(codec: Codec, value: Decimal) -> None:
    record = {**SAMPLES["md.trades"], "price": value}
    assert codec.decode("md.trades", codec.encode("md.trades", record))["price"] == value


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (Decimal("0.0000000000000000001"), "19 digits after the decimal point"),
        (Decimal("68123.4500000000000000001"), "19 digits after the decimal point"),
        (Decimal("100000000000000000000"), "21 digits before the decimal point"),
        (Decimal("-100000000000000000000.5"), "21 digits before the decimal point"),
        (Decimal("1E+30"), "31 digits before the decimal point"),
        (Decimal("NaN"), "not a finite number"),
        (Decimal("-Infinity"), "not a finite number"),
        (0.00000812, "is a float"),
        ("0.00000812", "expected decimal.Decimal"),
        (812, "expected decimal.Decimal"),
        (b"\x01", "expected decimal.Decimal"),
    ],
)
def test_inexact_or_oversized_decimal_is_refused_never_rounded(
    codec: Codec, value: object, problem: str
) -> None:
    record = {**SAMPLES["md.trades"], "size": value}
    with pytest.raises(SchemaError) as caught:
        codec.encode("md.trades", record)
    error = caught.value
    assert error.schema == "io.tapewire.Trade"
    assert error.field == "size"
    assert error.value is value
    assert problem in error.message
    assert repr(value)[:30] in error.message
    assert error.hint


def test_fastavro_alone_would_accept_what_the_codec_refuses() -> None:
    """Why the codec checks decimals itself (fastavro 1.13's writer, evidence)."""
    schema = parse_schema(
        {
            "type": "record",
            "name": "D",
            "fields": [
                {
                    "name": "v",
                    "type": {
                        "type": "bytes",
                        "logicalType": "decimal",
                        "precision": 38,
                        "scale": 18,
                    },
                }
            ],
        }
    )

    def round_trip(value: object) -> object:
        buffer = io.BytesIO()
        schemaless_writer(buffer, schema, {"v": value})
        buffer.seek(0)
        read: Any = schemaless_reader(buffer, schema)
        return read["v"]

    # 21 integer digits do not fit decimal(38,18), yet fastavro writes them ...
    assert round_trip(Decimal("123456789012345678901.5")) == Decimal("123456789012345678901.5")
    # ... and raw bytes are taken as the unscaled integer.
    assert round_trip(b"\x01") == Decimal("1E-18")
    # It does refuse a 19th fractional digit (it never rounds that one).
    with pytest.raises(ValueError, match="Scale"):
        round_trip(Decimal("1E-19"))


@settings(max_examples=200, deadline=None)
@given(
    st.decimals(
        min_value=MAX_DECIMAL.copy_negate(),
        max_value=MAX_DECIMAL,
        places=18,
        allow_nan=False,
        allow_infinity=False,
    )
)
def test_any_decimal_38_18_round_trips_exactly(value: Decimal) -> None:
    serde = Codec().for_topic("md.trades")
    record = {**SAMPLES["md.trades"], "price": value, "size": value.copy_negate()}
    back = serde.decode(serde.encode(record))
    assert back["price"] == value
    assert back["size"] == value.copy_negate()


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=19, max_value=40), st.integers(min_value=1, max_value=10**6))
def test_any_extra_fractional_digit_is_refused(places: int, digits: int) -> None:
    value = Decimal(digits * 10 + 1).scaleb(-places)  # exactly `places` fractional digits
    with pytest.raises(SchemaError) as caught:
        Codec().encode("md.trades", {**SAMPLES["md.trades"], "price": value})
    assert caught.value.field == "price"
    assert caught.value.value == value


def test_decimal_encoding_is_standard_avro(codec: Codec) -> None:
    """Bytes after the header equal fastavro's own encoding with the logical schema."""
    for topic, record in SAMPLES.items():
        serde = codec.for_topic(topic)
        logical = parse_schema(_strip_nanos(json.loads(json.dumps(serde.schema))), _write_hint=True)
        buffer = io.BytesIO()
        schemaless_writer(buffer, logical, record)
        assert codec.encode(topic, record)[5:] == buffer.getvalue(), topic


def _strip_nanos(node: Any) -> Any:
    if isinstance(node, list):
        return [_strip_nanos(item) for item in node]
    if isinstance(node, dict):
        if node.get("logicalType") == "timestamp-nanos":
            return "long"
        return {key: _strip_nanos(value) for key, value in node.items()}
    return node


def test_decode_refuses_a_decimal_beyond_its_precision(codec: Codec) -> None:
    """Another producer may write 39 digits; fastavro would round them to 38, we refuse."""
    serde = codec.for_topic("md.trades")
    wire = parse_schema(for_fastavro(serde.schema, decimals=False))
    unscaled = 10**39 + 7
    record = {
        **serde._prepare(SAMPLES["md.trades"]),
        "price": unscaled.to_bytes(17, "big", signed=True),
    }
    buffer = io.BytesIO()
    buffer.write(serde.encode(SAMPLES["md.trades"])[:5])
    schemaless_writer(buffer, wire, record)
    with pytest.raises(SchemaError, match="exceeds precision 38"):
        serde.decode(buffer.getvalue())


# --- Nanosecond timestamps -------------------------------------------------------------


def test_nanosecond_timestamps_are_ints_on_both_sides(codec: Codec) -> None:
    record = {**SAMPLES["md.trades"], "receive_ts_ns": TS, "exchange_ts_ns": 2**63 - 1}
    back = codec.decode("md.trades", codec.encode("md.trades", record))
    assert back["receive_ts_ns"] == 1_700_000_000_123_456_789
    assert type(back["receive_ts_ns"]) is int
    assert back["exchange_ts_ns"] == 2**63 - 1


def test_fastavro_reads_timestamp_nanos_as_plain_int() -> None:
    """Evidence for docs/schemas.md: fastavro 1.13 ignores the logical type (keeps int).
    The codec strips it before parsing anyway, so a later fastavro cannot change that."""
    schema = parse_schema(
        {
            "type": "record",
            "name": "T",
            "fields": [{"name": "t", "type": {"type": "long", "logicalType": "timestamp-nanos"}}],
        }
    )
    buffer = io.BytesIO()
    schemaless_writer(buffer, schema, {"t": TS})
    buffer.seek(0)
    read: Any = schemaless_reader(buffer, schema)
    value = read["t"]
    assert type(value) is int, fastavro.__version__
    assert value == TS


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (1.7000000001234568e18, "is a float"),
        (2**63, "out of range"),
        ("1700000000123456789", "is a str"),
        (True, "is a bool"),
        (None, "is a NoneType"),
    ],
)
def test_bad_timestamp_is_refused(codec: Codec, value: object, problem: str) -> None:
    with pytest.raises(SchemaError) as caught:
        codec.encode("md.trades", {**SAMPLES["md.trades"], "receive_ts_ns": value})
    assert caught.value.field == "receive_ts_ns"
    assert problem in caught.value.message


# --- Record errors ---------------------------------------------------------------------


def test_errors_name_schema_field_path_and_value(codec: Codec) -> None:
    book = dict(SAMPLES["md.book"])
    book["asks"] = [*SAMPLES["md.book"]["asks"], {"price": 68123.6, "size": Decimal("1")}]
    with pytest.raises(SchemaError) as caught:
        codec.encode("md.book", book)
    assert caught.value.field == "asks[1].price"
    assert caught.value.value == 68123.6
    assert "io.tapewire.BookUpdate: field 'asks[1].price' = 68123.6 is a float" in str(caught.value)

    cases: list[tuple[dict[str, Any], str, str]] = [
        ({**SAMPLES["md.trades"], "side": "buy"}, "side", "not a symbol of io.tapewire."),
        ({**SAMPLES["md.trades"], "pirce": Decimal(1)}, "pirce", "is not a field of"),
        ({**SAMPLES["md.trades"], "venue": None}, "venue", "expected a str"),
        ({k: v for k, v in SAMPLES["md.trades"].items() if k != "price"}, "price", "missing"),
        ({**SAMPLES["oms.requests"], "tags": {"a": 1}}, "tags['a']", "expected a str"),
        (
            {**SAMPLES["oms.approved"], "request": {**_request(), "side": "HOLD"}},
            "request.side",
            "not a symbol",
        ),
    ]
    topics = ["md.trades"] * 4 + ["oms.requests", "oms.approved"]
    for (record, field, problem), topic in zip(cases, topics, strict=True):
        with pytest.raises(SchemaError) as caught:
            codec.encode(topic, record)
        assert caught.value.field == field, caught.value
        assert problem in caught.value.message, caught.value
        assert caught.value.hint


def test_not_a_dict_is_refused(codec: Codec) -> None:
    with pytest.raises(SchemaError, match="expected a dict"):
        codec.encode("md.trades", [("venue", "x")])  # type: ignore[arg-type]


def test_str_enums_and_omitted_defaults_are_accepted(codec: Codec) -> None:
    class Side(StrEnum):
        BUY = "BUY"
        SELL = "SELL"

    record = {**SAMPLES["md.trades"], "side": Side.SELL}
    del record["connection_id"], record["frame_sequence"]
    back = codec.decode("md.trades", codec.encode("md.trades", record))
    assert back["side"] == "SELL"
    assert back["connection_id"] is None


# --- Wire format and ids ---------------------------------------------------------------


def test_wire_format_is_magic_byte_then_big_endian_id(codec: Codec) -> None:
    data = codec.encode("md.trades", SAMPLES["md.trades"])
    schema = load_schemas()["io.tapewire.Trade"]
    assert data[0] == 0
    assert int.from_bytes(data[1:5], "big") == local_schema_id(schema)
    assert data[1:5] == codec.for_topic("md.trades").schema_id.to_bytes(4, "big")


def test_local_ids_follow_the_documented_recipe() -> None:
    for name, schema in load_schemas().items():
        form = canonical_form(schema)
        expected = int.from_bytes(hashlib.sha256(form.encode()).digest()[:4], "big") & 0x7FFFFFFF
        assert local_schema_id(schema) == expected
        assert 0 < expected < 2**31
        # Without logical types the form is exactly Avro's Parsing Canonical Form.
        assert canonical_form(schema, logical=False) == to_parsing_canonical_form(schema), name


def test_logical_types_change_the_id_docs_do_not() -> None:
    plain = {"type": "record", "name": "R", "fields": [{"name": "p", "type": "bytes"}]}
    decimal = {
        "type": "record",
        "name": "R",
        "fields": [
            {
                "name": "p",
                "type": {"type": "bytes", "logicalType": "decimal", "precision": 38, "scale": 18},
            }
        ],
    }
    documented = {**plain, "doc": "a doc", "fields": [{**plain["fields"][0], "doc": "x"}]}  # type: ignore[dict-item]
    assert to_parsing_canonical_form(plain) == to_parsing_canonical_form(decimal)
    assert local_schema_id(plain) != local_schema_id(decimal)
    assert local_schema_id(plain) == local_schema_id(documented)


def test_local_ids_have_no_collisions_and_are_stable_across_processes() -> None:
    ids = {name: local_schema_id(schema) for name, schema in load_schemas().items()}
    assert len(set(ids.values())) == len(ids)
    script = (
        "import json; from tapewire.schemas.loading import load_schemas; "
        "from tapewire.schemas.registry import local_schema_id; "
        "print(json.dumps({n: local_schema_id(s) for n, s in load_schemas().items()}))"
    )
    root = Path(__file__).resolve().parents[3]
    for seed in ("0", "12345"):
        output = subprocess.run(
            [sys.executable, "-c", script],
            cwd=root,
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert json.loads(output) == ids


def test_local_registry_refuses_a_collision(monkeypatch: pytest.MonkeyPatch) -> None:
    import tapewire.schemas.registry as registry_module

    monkeypatch.setattr(registry_module, "local_schema_id", lambda schema: 42)
    registry = LocalSchemaRegistry()
    registry.register("", load_schemas()["io.tapewire.Trade"])
    with pytest.raises(SchemaError, match="collision"):
        registry.register("", load_schemas()["io.tapewire.Quote"])


# --- Decoding errors and schema resolution ---------------------------------------------


def test_decode_errors_are_clear(codec: Codec) -> None:
    good = codec.encode("md.trades", SAMPLES["md.trades"])
    cases: list[tuple[bytes, str]] = [
        (b"", "too short"),
        (b"\x00\x00\x01", "too short"),
        (b'{"venue": "binance"}', "unknown magic byte 0x7b"),
        (b"\x00\x00\x00\x00\x07" + good[5:], "unknown schema id 7"),
        (good[:-3], "truncated"),
        (good[:20], "truncated"),
        (good + b"\x00", "1 bytes left over"),
    ]
    for data, problem in cases:
        with pytest.raises(SchemaError) as caught:
            codec.decode("md.trades", data)
        assert problem in caught.value.message, (data, caught.value)
        assert caught.value.hint
        assert "md.trades" in caught.value.message


def test_record_of_another_schema_on_a_topic_is_refused(codec: Codec) -> None:
    quote = codec.encode("md.quotes", SAMPLES["md.quotes"])
    with pytest.raises(SchemaError) as caught:
        codec.decode("md.trades", quote)
    assert "written with io.tapewire.Quote" in caught.value.message
    assert "not io.tapewire.Trade" in caught.value.message


def test_data_written_by_an_older_version_is_read_into_the_current_one() -> None:
    current = load_schemas()["io.tapewire.Trade"]
    older = json.loads(json.dumps(current))
    older["fields"] = [
        f for f in older["fields"] if f["name"] not in ("connection_id", "frame_sequence")
    ]
    older_record = {
        k: v
        for k, v in SAMPLES["md.trades"].items()
        if k not in ("connection_id", "frame_sequence")
    }
    registry = LocalSchemaRegistry()
    codec = Codec(registry)
    old_serde = AvroSerde(
        "io.tapewire.Trade", older, registry.register("", older), registry.get_schema
    )
    data = old_serde.encode(older_record)
    assert data[1:5] != codec.encode("md.trades", SAMPLES["md.trades"])[1:5]
    back = codec.decode("md.trades", data)
    assert back == {**older_record, "connection_id": None, "frame_sequence": None}


def _rescaled_trade_schema(scale: int) -> dict[str, Any]:
    """``Trade`` as another producer might register it: price and size at ``scale``."""
    schema: dict[str, Any] = json.loads(json.dumps(load_schemas()["io.tapewire.Trade"]))
    for field in schema["fields"]:
        if field["name"] in ("price", "size"):
            field["type"]["scale"] = scale
    return schema


def test_a_decimal_written_at_a_larger_scale_is_read_exactly_or_refused() -> None:
    """A producer whose schema writes price at scale 30 (schema resolution matches decimals
    by type, so the bytes mean unscaled * 10**-30): read at that scale, kept when it fits
    decimal(38, 18) exactly, refused (naming the field and value) when it does not."""
    wide = _rescaled_trade_schema(30)
    registry = LocalSchemaRegistry()
    codec = Codec(registry)
    wide_serde = AvroSerde(
        "io.tapewire.Trade", wide, registry.register("", wide), registry.get_schema
    )
    fits = {**SAMPLES["md.trades"], "price": Decimal("68123.450000000000000000000000")}
    back = codec.decode("md.trades", wide_serde.encode(fits))
    assert back["price"] == Decimal("68123.45")
    assert back["size"] == Decimal("0.00000812")
    assert codec.read("md.trades", wide_serde.encode(fits))["price"] == Decimal("68123.45")
    thirty = Decimal("0.000000000000000000000000000001")
    with pytest.raises(SchemaError) as caught:
        codec.decode("md.trades", wide_serde.encode({**SAMPLES["md.trades"], "size": thirty}))
    assert "size" in caught.value.message
    assert "1E-30" in caught.value.message
    assert "more than the 18 places" in caught.value.message


def test_a_decimal_written_at_a_smaller_scale_is_read_at_its_scale() -> None:
    narrow = _rescaled_trade_schema(8)
    registry = LocalSchemaRegistry()
    codec = Codec(registry)
    serde = AvroSerde(
        "io.tapewire.Trade", narrow, registry.register("", narrow), registry.get_schema
    )
    back = codec.decode("md.trades", serde.encode(SAMPLES["md.trades"]))
    assert (back["price"], back["size"]) == (Decimal("68123.45"), Decimal("0.00000812"))


def test_decode_any_reads_a_message_as_written(codec: Codec) -> None:
    data = codec.encode("alerts", SAMPLES["alerts"])
    name, record = codec.decode_any(data)
    assert name == "io.tapewire.Alert"
    assert record == SAMPLES["alerts"]


# --- Topics, subjects, keys ------------------------------------------------------------


def test_topics_map_to_schemas_subjects_and_keys() -> None:
    assert schema_name_for_topic("md.bars.1s") == "io.tapewire.Bar"
    assert schema_name_for_topic("md.bars.1m") == "io.tapewire.Bar"
    assert schema_name_for_topic("dlq.normalize") == "io.tapewire.DeadLetter"
    assert schema_name_for_topic("oms.approved") == schema_name_for_topic("oms.denied")
    assert subject_for_topic("md.trades") == "md.trades-value"
    assert message_key("md.trades", SAMPLES["md.trades"]) == b"binance:BTC-USDT"
    assert message_key("md.raw", SAMPLES["md.raw"]) == f"binance:{CONNECTION}".encode()
    assert message_key("oms.events", SAMPLES["oms.events"]) == b"main"
    assert message_key("md.nbbo", SAMPLES["md.nbbo"]) == b"BTC-USD"
    for topic in ("md.bars.", "md.bar", "trades", "dlq."):
        with pytest.raises(SchemaError, match="no schema is defined for topic"):
            schema_name_for_topic(topic)
    with pytest.raises(SchemaError, match="key field 'instrument'"):
        message_key("md.trades", {"venue": "binance"})
    schemas = load_schemas()
    for spec in TOPICS:
        fields = {f["name"] for f in schemas[spec.schema]["fields"]}
        assert set(spec.key_fields) <= fields, spec


# --- Registry-backed path (loopback Confluent REST API) --------------------------------


class FakeRegistry:
    """The four Confluent schema registry endpoints the codec uses, on loopback.

    PUT /config/{subject}, POST /subjects/{subject}/versions, POST /subjects/{subject},
    GET /schemas/ids/{id}. Ids start at 1 and are shared by identical schema strings, as in
    the Confluent registry.
    """

    def __init__(self) -> None:
        self.schemas: dict[int, str] = {}
        self.subjects: dict[str, list[int]] = {}
        self.config: dict[str, str] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _reply(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> Any:
                length = int(self.headers.get("Content-Length", 0))
                return json.loads(self.rfile.read(length)) if length else None

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                registry.requests.append(("GET", path, self.headers.get("Authorization")))
                if path.startswith("/schemas/ids/"):
                    schema_id = int(path.rsplit("/", 1)[1])
                    if schema_id in registry.schemas:
                        self._reply(200, {"schema": registry.schemas[schema_id]})
                        return
                    self._reply(
                        404, {"error_code": 40403, "message": f"Schema {schema_id} not found"}
                    )
                    return
                self._reply(404, {"error_code": 404, "message": "HTTP 404 Not Found"})

            def do_PUT(self) -> None:
                path = self.path.split("?")[0]
                registry.requests.append(("PUT", path, self.headers.get("Authorization")))
                body = self._body()
                if path.startswith("/config/"):
                    registry.config[path.split("/", 2)[2]] = body["compatibility"]
                    self._reply(200, body)
                    return
                self._reply(404, {"error_code": 404, "message": "HTTP 404 Not Found"})

            def do_POST(self) -> None:
                path = self.path.split("?")[0]
                registry.requests.append(("POST", path, self.headers.get("Authorization")))
                body = self._body()
                parts = path.strip("/").split("/")
                if parts[0] != "subjects":
                    self._reply(404, {"error_code": 404, "message": "HTTP 404 Not Found"})
                    return
                subject, text = parts[1], body["schema"]
                known = next((i for i, s in registry.schemas.items() if s == text), None)
                if len(parts) == 3 and parts[2] == "versions":
                    if known is None:
                        known = len(registry.schemas) + 1
                        registry.schemas[known] = text
                    versions = registry.subjects.setdefault(subject, [])
                    if known not in versions:
                        versions.append(known)
                    self._reply(200, {"id": known})
                    return
                if known is not None and known in registry.subjects.get(subject, []):
                    version = registry.subjects[subject].index(known) + 1
                    self._reply(
                        200, {"subject": subject, "id": known, "version": version, "schema": text}
                    )
                    return
                self._reply(404, {"error_code": 40403, "message": "Schema not found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeRegistry:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def fake_registry() -> Iterator[FakeRegistry]:
    with FakeRegistry() as registry:
        yield registry


def test_registry_ids_are_used_and_writer_schemas_fetched_by_id(
    fake_registry: FakeRegistry,
) -> None:
    producer = Codec(ConfluentSchemaRegistry.from_url(fake_registry.url))
    data = producer.encode("md.trades", SAMPLES["md.trades"])
    assert data[:5] == b"\x00\x00\x00\x00\x01"
    assert producer.encode("md.quotes", SAMPLES["md.quotes"])[:5] == b"\x00\x00\x00\x00\x02"
    approved = producer.encode("oms.approved", SAMPLES["oms.approved"])
    denied = producer.encode("oms.denied", SAMPLES["oms.denied"])
    assert approved[1:5] == denied[1:5] == b"\x00\x00\x00\x03"  # one schema, two subjects
    assert fake_registry.config == {
        "md.trades-value": "BACKWARD",
        "md.quotes-value": "BACKWARD",
        "oms.approved-value": "BACKWARD",
        "oms.denied-value": "BACKWARD",
    }
    assert json.loads(fake_registry.schemas[1]) == load_schemas()["io.tapewire.Trade"]

    # A consumer that registers nothing (auto_register=False) looks its subject up and
    # fetches writer schemas by id.
    consumer = Codec(
        ConfluentSchemaRegistry.from_url(fake_registry.url, auto_register=False, compatibility=None)
    )
    fake_registry.requests.clear()
    assert consumer.decode("md.trades", data) == _full(
        consumer.for_topic("md.trades"), SAMPLES["md.trades"]
    )
    assert consumer.decode_any(denied)[1]["rule"] == "price_band"
    methods = [(method, path) for method, path, _ in fake_registry.requests]
    assert ("POST", "/subjects/md.trades-value") in methods
    assert not any(path.endswith("/versions") or method == "PUT" for method, path in methods)
    assert ("GET", "/schemas/ids/3") in methods


def test_registry_older_writer_schema_is_resolved(fake_registry: FakeRegistry) -> None:
    older = json.loads(json.dumps(load_schemas()["io.tapewire.Trade"]))
    older["fields"] = [f for f in older["fields"] if f["name"] != "frame_sequence"]
    registry = ConfluentSchemaRegistry.from_url(fake_registry.url)
    old_id = registry.register("md.trades-value", older)
    record = {k: v for k, v in SAMPLES["md.trades"].items() if k != "frame_sequence"}
    data = AvroSerde("io.tapewire.Trade", older, old_id, registry.get_schema).encode(record)
    codec = Codec(ConfluentSchemaRegistry.from_url(fake_registry.url))
    assert codec.decode("md.trades", data) == {**record, "frame_sequence": None}
    assert codec.for_topic("md.trades").schema_id != old_id


def test_registry_errors_are_schema_errors(fake_registry: FakeRegistry) -> None:
    codec = Codec(ConfluentSchemaRegistry.from_url(fake_registry.url, auto_register=False))
    with pytest.raises(SchemaError) as caught:
        codec.encode("md.trades", SAMPLES["md.trades"])
    assert "HTTP 404" in caught.value.message
    assert "md.trades-value" in caught.value.message
    assert "register the schema first" in (caught.value.hint or "")

    writer = Codec(ConfluentSchemaRegistry.from_url(fake_registry.url))
    data = writer.encode("md.trades", SAMPLES["md.trades"])
    reader = Codec(ConfluentSchemaRegistry.from_url(fake_registry.url))
    with pytest.raises(SchemaError) as caught:
        reader.decode("md.trades", data[:1] + (99).to_bytes(4, "big") + data[5:])
    assert "schema id 99" in caught.value.message
    assert "HTTP 404" in caught.value.message


def test_unreachable_registry_says_what_to_check() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    codec = Codec(ConfluentSchemaRegistry.from_url(f"http://127.0.0.1:{port}", timeout_s=2))
    with pytest.raises(SchemaError) as caught:
        codec.encode("md.trades", SAMPLES["md.trades"])
    assert "SCHEMA_REGISTRY_URL" in (caught.value.hint or "")
    assert f"127.0.0.1:{port}" in caught.value.message


def test_settings_choose_the_registry(
    fake_registry: FakeRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SCHEMA_REGISTRY_URL", "TAPEWIRE_SCHEMA_REGISTRY_URL", "TAPEWIRE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(registry_from_settings(load_settings()), LocalSchemaRegistry)

    monkeypatch.setenv("SCHEMA_REGISTRY_URL", fake_registry.url)
    monkeypatch.setenv("TAPEWIRE_SCHEMA_REGISTRY_USERNAME", "svc")
    monkeypatch.setenv("TAPEWIRE_SCHEMA_REGISTRY_PASSWORD", "canary-s3cret")
    codec = Codec.from_settings(load_settings())
    assert isinstance(codec.registry, ConfluentSchemaRegistry)
    assert codec.preload(["md.trades"]) == {"md.trades": 1}
    authorizations = {auth for _, _, auth in fake_registry.requests}
    assert authorizations
    assert all(auth and auth.startswith("Basic ") for auth in authorizations)
    # The password never shows up in an error message.
    with pytest.raises(SchemaError) as caught:
        codec.decode("md.trades", b"\x00\x00\x00\x00\x63" + b"\x00" * 10)
    assert "canary-s3cret" not in str(caught.value)


def test_codec_module_importable_without_registry_or_settings() -> None:
    assert SCHEMA_DIR.is_dir()
    assert Codec().for_topic("md.raw").decode(Codec().encode("md.raw", SAMPLES["md.raw"])) == _full(
        Codec().for_topic("md.raw"), SAMPLES["md.raw"]
    )
