"""The sink's Avro insert (ClickHouse decodes the message values) against the Python path.

Real chDB (its own directory per test) and, for the sink runs, the real broker:

* for every table the Avro insert serves, the same records inserted both ways give
  byte-identical tables (``FORMAT TabSeparated``: every decimal digit, every nanosecond),
  also with offsets that have gaps and for the materialized view behind ``bars``;
* decimals at the edges of decimal(38, 18) and nanosecond times are exact (hypothesis);
* every kind of bad record fails the whole INSERT, and nothing is written; the Python
  codec refuses the same record (so the sink's per-record fallback dead-letters it);
* a repeated token is dropped whichever path inserted first;
* the sink with the Avro insert stores, dead-letters and commits exactly what the sink
  with the Python path does, on a topic with bad records in some chunks.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError as DriverError
from confluent_kafka import Consumer, TopicPartition
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tapewire.connectors.capture.simulated import raw_frames
from tapewire.connectors.simulator import MarketSimulator, SimConfig
from tapewire.core.errors import SchemaError
from tapewire.core.kafka import client_config
from tapewire.core.settings import load_settings
from tapewire.runtime.kafka_io import produce_all
from tapewire.schemas.codec import Codec
from tapewire.sinks.clickhouse.avro_insert import AvroInsert, UnsupportedSchemaError
from tapewire.sinks.clickhouse.client import connect
from tapewire.sinks.clickhouse.migrations import migrate
from tapewire.sinks.clickhouse.rows import MAPPINGS, TableMapping, mapping_for_topic
from tapewire.sinks.clickhouse.sink import SinkConfig, run_sink
from tapewire.streams.normalize.normalizer import Normalizer
from tests.fixtures.kafka import TopicFactory

BASE_NS = 1_704_067_200_123_456_789  # 2024-01-01T00:00:00.123456789Z
MAX = Decimal("99999999999999999999.999999999999999999")  # largest decimal(38, 18)
MIN = Decimal("-99999999999999999999.999999999999999999")  # (-MAX would round: 28 digits)
TINY = Decimal("0.000000000000000001")
CODEC = Codec()

TRADES: list[dict[str, Any]] = [
    {
        "venue": "binance",
        "instrument": "BTC-USDT-SPOT",
        "trade_id": "42",
        "price": Decimal("0.00000812"),
        "size": Decimal("1.5"),
        "side": "SELL",
        "exchange_ts_ns": None,
        "receive_ts_ns": BASE_NS,
        "process_ts_ns": BASE_NS + 1,
    },
    {
        "venue": "kraken",
        "instrument": "ÉTH-€-SPOT",
        "trade_id": "",
        "price": MAX,
        "size": TINY,
        "side": "BUY",
        "exchange_ts_ns": BASE_NS - 999_999_999,
        "receive_ts_ns": BASE_NS + 7,
        "process_ts_ns": BASE_NS + 8,
        "connection_id": "c-1",
        "frame_sequence": 2**62,
    },
    {
        "venue": "okx",
        "instrument": "SOL-USDT-SPOT",
        "trade_id": "x" * 300,
        "price": MIN,
        "size": Decimal("0"),
        "side": "UNKNOWN",
        "exchange_ts_ns": 4_102_444_800_000_000_001,  # 2100-01-01T00:00:00.000000001Z
        "receive_ts_ns": 1,
        "process_ts_ns": 2,
    },
]
QUOTES: list[dict[str, Any]] = [
    {
        "venue": "binance",
        "instrument": "BTC-USDT-SPOT",
        "bid_price": Decimal("42000.12"),
        "bid_size": TINY,
        "ask_price": MAX,
        "ask_size": Decimal("3"),
        "source": "VENUE_BBO",
        "exchange_ts_ns": BASE_NS,
        "receive_ts_ns": BASE_NS + 1,
        "process_ts_ns": BASE_NS + 2,
    },
    {
        "venue": "okx",
        "instrument": "ETH-USDT-SPOT",
        "bid_price": None,
        "bid_size": None,
        "ask_price": None,
        "ask_size": None,
        "source": "BOOK",
        "exchange_ts_ns": None,
        "receive_ts_ns": BASE_NS + 3,
        "process_ts_ns": BASE_NS + 4,
    },
]
DERIVATIVES: list[dict[str, Any]] = [
    {
        "venue": "binanceusdm",
        "instrument": "BTC-USDT-PERP-USDT",
        "mark_price": Decimal("42000.12345678"),
        "index_price": MAX,
        "funding_rate": Decimal("-0.00038167"),  # signed
        "next_funding_ts_ns": BASE_NS + 5,
        "exchange_ts_ns": BASE_NS,
        "receive_ts_ns": BASE_NS + 1,
        "process_ts_ns": BASE_NS + 2,
    },
    {
        "venue": "okx",
        "instrument": "BTC-USDT-PERP-USDT",
        "mark_price": TINY,
        "index_price": None,
        "funding_rate": None,
        "next_funding_ts_ns": None,
        "exchange_ts_ns": None,
        "receive_ts_ns": BASE_NS + 3,
        "process_ts_ns": BASE_NS + 4,
    },
]
BARS: list[dict[str, Any]] = [
    {
        "venue": "binance",
        "instrument": "BTC-USDT-SPOT",
        "interval": "1m",
        "interval_ns": 60_000_000_000,
        "start_ts_ns": 1_704_067_200_000_000_000 + 60_000_000_000 * k,
        "end_ts_ns": 1_704_067_200_000_000_000 + 60_000_000_000 * (k + 1),
        "open": Decimal("42000.5"),
        "high": Decimal("42010") + k,
        "low": Decimal("41999.000000000000000001"),
        "close": Decimal("42001"),
        "volume": Decimal("12.345678901234567891"),
        "quote_volume": MAX,
        "vwap": None if k == 1 else Decimal("42000.75"),
        "trade_count": 17 + k,
        "buy_volume": Decimal("6"),
        "sell_volume": Decimal("6.345678901234567891"),
        "revision": k,
        "process_ts_ns": BASE_NS + k,
    }
    for k in range(3)
]
NBBO: list[dict[str, Any]] = [
    {
        "instrument": "BTC-USDT-SPOT",
        "bid_price": Decimal("42000.1"),
        "bid_size": Decimal("0.5"),
        "bid_venue": "binance",
        "ask_price": Decimal("42000.2"),
        "ask_size": TINY,
        "ask_venue": "okx",
        "venue_count": 2,
        "bid_receive_ts_ns": BASE_NS,
        "ask_receive_ts_ns": BASE_NS + 5,
        "process_ts_ns": BASE_NS + 6,
    },
    {
        "instrument": "ETH-USDT-SPOT",
        "bid_price": None,
        "bid_size": None,
        "bid_venue": None,
        "ask_price": None,
        "ask_size": None,
        "ask_venue": None,
        "venue_count": 0,
        "bid_receive_ts_ns": None,
        "ask_receive_ts_ns": None,
        "process_ts_ns": BASE_NS + 7,
    },
]
COVERAGE: list[dict[str, Any]] = [
    {
        "venue": "okx",
        "instrument": "BTC-USDT-SPOT",
        "channel": "book",
        "event": "GAP",
        "from_ns": BASE_NS,
        "to_ns": None,
        "reason": "sequence gap 17 -> 19",
        "process_ts_ns": BASE_NS + 1,
    },
    {
        "venue": "okx",
        "instrument": "BTC-USDT-SPOT",
        "channel": "book",
        "event": "RESYNC",
        "from_ns": BASE_NS,
        "to_ns": BASE_NS + 1_000,
        "reason": "",
        "process_ts_ns": BASE_NS + 2,
    },
]
RAW: list[dict[str, Any]] = [
    {
        "venue": "binance",
        "connection_id": "ws-1",
        "sequence": 0,
        "transport": "WEBSOCKET",
        "origin": "LIVE",
        "channel": "trade",
        "symbol": "BTCUSDT",
        "payload": b'{"e":"trade","p":"0.00000812"}',
        "binary": False,
        "receive_ts_ns": BASE_NS,
        "request_ts_ns": None,
        "rest_url": None,
        "rest_status": None,
    },
    {
        "venue": "okx",
        "connection_id": "",
        "sequence": 2**62,
        "transport": "WEBSOCKET",
        "origin": "REPLAY",
        "channel": None,
        "symbol": None,
        # not UTF-8, with every byte TabSeparated escapes, and NUL
        "payload": bytes(range(256)) + b"\x00\t\n\\'",
        "binary": True,
        "receive_ts_ns": 1,
        "request_ts_ns": None,
        "rest_url": None,
        "rest_status": None,
    },
    {
        "venue": "kraken",
        "connection_id": "rest-é",
        "sequence": 7,
        "transport": "REST",
        "origin": "SIMULATOR",
        "channel": "book",
        "symbol": "XBT/€",
        "payload": b"",
        "binary": False,
        "receive_ts_ns": 4_102_444_800_000_000_001,
        "request_ts_ns": BASE_NS - 1,
        "rest_url": "https://api.kraken.com/0/public/Depth?pair=XBTUSD&count=500",
        "rest_status": -1,
    },
]
BOOK: list[dict[str, Any]] = [
    {
        "venue": "binance",
        "instrument": "BTC-USDT-SPOT",
        "kind": "SNAPSHOT",
        "bids": [
            {"price": Decimal("42000.12"), "size": TINY},
            {"price": Decimal("0.00000812"), "size": MAX},
        ],
        "asks": [{"price": MAX, "size": MIN}],
        "depth": 2,
        "first_sequence": None,
        "last_sequence": 2**62,
        "prev_sequence": None,
        "checksum": -(2**31),
        "exchange_ts_ns": BASE_NS,
        "receive_ts_ns": BASE_NS + 1,
        "process_ts_ns": BASE_NS + 2,
    },
    {
        "venue": "okx",
        "instrument": "ÉTH-€-SPOT",
        "kind": "DELTA",
        "bids": [],
        "asks": [],
        "depth": None,
        "first_sequence": 1,
        "last_sequence": 2,
        "prev_sequence": 0,
        "checksum": 2**32 - 1,
        "exchange_ts_ns": None,
        "receive_ts_ns": 1,
        "process_ts_ns": 2,
    },
    {
        "venue": "kraken",
        "instrument": "SOL-USDT-SPOT",
        "kind": "DELTA",
        "bids": [{"price": Decimal(k) + TINY * k, "size": Decimal(0)} for k in range(1, 300)],
        "asks": [{"price": Decimal("1E-18"), "size": Decimal("1E+19")}],
        "depth": None,
        "first_sequence": None,
        "last_sequence": None,
        "prev_sequence": None,
        "checksum": None,
        "exchange_ts_ns": 0,
        "receive_ts_ns": BASE_NS + 3,
        "process_ts_ns": BASE_NS + 4,
    },
]
DEAD_LETTERS: list[dict[str, Any]] = [
    {
        "stage": "normalize",
        "source_topic": "md.raw",
        "source_partition": 3,
        "source_offset": 2**40,
        "key": b"binance:BTCUSDT",
        "payload": bytes(range(256)),
        "error_type": "SchemaError",
        "reason": "bad frame: é",
        "labels": {"venue": "binance", "é": "ü", "": "", "a": "1"},
        "failed_ts_ns": BASE_NS,
    },
    {
        "stage": "sink",
        "source_topic": "md.trades",
        "source_partition": None,
        "source_offset": None,
        "key": None,
        "payload": b"",
        "error_type": "",
        "reason": "",
        "labels": {},
        "failed_ts_ns": 1,
    },
]
SAMPLES: dict[str, list[dict[str, Any]]] = {
    "md.raw": RAW,
    "md.book": BOOK,
    "dlq.sink": DEAD_LETTERS,
    "md.trades": TRADES,
    "md.quotes": QUOTES,
    "md.derivatives": DERIVATIVES,
    "md.bars.1m": BARS,
    "md.nbbo": NBBO,
    "md.coverage": COVERAGE,
}


@pytest.fixture
def chdb(tmp_path: Path) -> Iterator[tuple[Client, Client]]:
    """Two migrated databases in a fresh chDB directory: (Python path, Avro path)."""
    url = f"chdb://{tmp_path / 'chdb'}"
    with (
        connect(url, database="by_python", missing_database="create") as by_python,
        connect(url, database="by_avro", missing_database="create") as by_avro,
    ):
        migrate(by_python, "by_python")
        migrate(by_avro, "by_avro")
        yield by_python, by_avro


def _avro_insert(topic: str) -> tuple[AvroInsert, TableMapping]:
    mapping = mapping_for_topic(topic)
    serde = CODEC.for_topic(topic)
    assert mapping.sql is not None
    return (
        AvroInsert(mapping.table, serde.schema, serde.schema_id, mapping.columns[:-3], mapping.sql),
        mapping,
    )


def _insert_python(
    client: Client, topic: str, values: Sequence[bytes], offsets: Sequence[int], token: str
) -> None:
    """What the sink's Python path does with a chunk (decode, map, column insert)."""
    mapping = mapping_for_topic(topic)
    rows = [
        mapping.row(CODEC.decode(topic, value), topic, 4, offset)
        for value, offset in zip(values, offsets, strict=True)
    ]
    client.insert(
        mapping.table,
        list(zip(*rows, strict=True)),
        column_names=list(mapping.columns),
        column_oriented=True,
        settings={"insert_deduplication_token": token, "insert_deduplicate": 1},
    )


def _insert_avro(
    client: Client, topic: str, values: Sequence[bytes], offsets: Sequence[int], token: str
) -> None:
    avro, _mapping = _avro_insert(topic)
    avro.insert(
        client,
        values,
        offsets,
        topic,
        4,
        {"insert_deduplication_token": token, "insert_deduplicate": 1},
    )


def _table_text(client: Client, table: str) -> str:
    # raw_frames.stored_at is the insert time (DEFAULT now()), the same on neither path
    columns = "* EXCEPT (stored_at)" if table == "raw_frames" else "*"
    raw = client.raw_query(f"SELECT {columns} FROM {table} ORDER BY ALL", fmt="TabSeparated")
    return raw.decode("utf-8", "surrogateescape")  # payloads are bytes; exact either way


def test_the_avro_insert_serves_the_market_data_tables_and_dead_letters() -> None:
    served = {m.table for m in MAPPINGS.values() if m.sql is not None}
    assert served == {
        "trades",
        "quotes",
        "derivatives",
        "bars",
        "nbbo",
        "coverage",
        "raw_frames",
        "book_updates",
        "dead_letters",
    }
    # every served table is checked against the Python path below
    assert {mapping_for_topic(topic).table for topic in SAMPLES} == served
    for mapping in MAPPINGS.values():
        if mapping.sql is not None:
            assert len(mapping.sql) == len(mapping.columns) - 3, mapping.table


UNSUPPORTED = {
    "float": "float",
    "double": "double",
    "fixed": {"type": "fixed", "name": "F", "size": 4},
    "two-branch union": ["string", "long"],
    "nullable array": ["null", {"type": "array", "items": "long"}],
    "unknown name": "io.tapewire.Nowhere",
    "decimal(18, 8)": {"type": "bytes", "logicalType": "decimal", "precision": 18, "scale": 8},
}


@pytest.mark.parametrize("kind", sorted(UNSUPPORTED))
def test_schemas_with_other_types_keep_the_python_path(kind: str) -> None:
    schema = {
        "type": "record",
        "name": "R",
        "namespace": "io.tapewire",
        "fields": [{"name": "a", "type": "string"}, {"name": "b", "type": UNSUPPORTED[kind]}],
    }
    with pytest.raises(UnsupportedSchemaError, match="supported"):
        AvroInsert("t", schema, 1, ["a", "b"], ["a", "b"])


@pytest.mark.parametrize("topic", sorted(SAMPLES))
def test_avro_insert_gives_byte_identical_rows(chdb: tuple[Client, Client], topic: str) -> None:
    by_python, by_avro = chdb
    values = [CODEC.encode(topic, record) for record in SAMPLES[topic]]
    offsets = [7, 8, 2**40 + 3][: len(values)]  # a gap, and an offset beyond 32 bits
    _insert_python(by_python, topic, values, offsets, "tok")
    _insert_avro(by_avro, topic, values, offsets, "tok")
    table = mapping_for_topic(topic).table
    expected = _table_text(by_python, table)
    assert expected.count("\n") == len(values)
    assert _table_text(by_avro, table) == expected
    if table == "bars":  # the rollup materialized views saw the same block
        rollup = _table_text(by_python, "bars_rollup_final")
        assert rollup
        assert _table_text(by_avro, "bars_rollup_final") == rollup


def test_trades_are_exact_and_carry_their_provenance(chdb: tuple[Client, Client]) -> None:
    _by_python, client = chdb
    values = [CODEC.encode("md.trades", t) for t in TRADES]
    _insert_avro(client, "md.trades", values, [10, 11, 15], "t")
    rows = client.query(
        "SELECT trade_id, toString(price), toString(size), toString(side), "
        "toUnixTimestamp64Nano(exchange_ts), toUnixTimestamp64Nano(receive_ts), venue, "
        "instrument, kafka_topic, kafka_partition, kafka_offset FROM trades ORDER BY kafka_offset"
    ).result_rows
    want = [
        (
            t["trade_id"],
            t["price"],
            t["size"],
            str(t["side"]).lower(),
            t["exchange_ts_ns"] if t["exchange_ts_ns"] is not None else t["receive_ts_ns"],
            t["receive_ts_ns"],
            t["venue"],
            t["instrument"],
            "md.trades",
            4,
            offset,
        )
        for t, offset in zip(TRADES, [10, 11, 15], strict=True)
    ]
    got = [(r[0], Decimal(r[1]), Decimal(r[2]), *r[3:]) for r in rows]
    assert got == want
    assert rows[0][1] == "0.00000812"  # no float on the way


_DECIMALS = st.decimals(
    min_value=MIN, max_value=MAX, places=18, allow_nan=False, allow_infinity=False
)


@settings(
    deadline=None, max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    prices=st.lists(st.tuples(_DECIMALS, _DECIMALS), min_size=1, max_size=40),
    times=st.lists(st.integers(0, 9_000_000_000_000_000_000), min_size=40, max_size=40),
)
def test_any_decimal_and_nanosecond_round_trips_exactly(
    chdb: tuple[Client, Client],
    prices: list[tuple[Decimal, Decimal]],
    times: list[int],
) -> None:
    _by_python, client = chdb
    client.command("TRUNCATE TABLE trades")
    trades = [
        {
            **TRADES[1],
            "trade_id": str(i),
            "price": price,
            "size": size,
            "exchange_ts_ns": times[i],
        }
        for i, (price, size) in enumerate(prices)
    ]
    values = [CODEC.encode("md.trades", t) for t in trades]
    _insert_avro(client, "md.trades", values, list(range(len(values))), uuid.uuid4().hex)
    rows = client.query(
        "SELECT toString(price), toString(size), toUnixTimestamp64Nano(exchange_ts) "
        "FROM trades ORDER BY kafka_offset"
    ).result_rows
    assert [(Decimal(p), Decimal(s), ts) for p, s, ts in rows] == [
        (t["price"], t["size"], t["exchange_ts_ns"]) for t in trades
    ]


# --- bad records ----------------------------------------------------------------------


def _long(value: int) -> bytes:
    n = (value << 1) ^ (value >> 63)
    out = bytearray()
    while n & ~0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _bytes(data: bytes) -> bytes:
    return _long(len(data)) + data


def _decimal(unscaled: int, width: int | None = None) -> bytes:
    width = width if width is not None else (unscaled.bit_length() + 8) // 8
    return _bytes(unscaled.to_bytes(width, "big", signed=True))


HEADER = b"\x00" + CODEC.for_topic("md.trades").schema_id.to_bytes(4, "big")


def _trade_value(
    *,
    header: bytes = HEADER,
    venue: bytes = b"binance",
    trade_id: bytes = b"t1",
    price: bytes = _decimal(42 * 10**18),
    size: bytes = _decimal(10**17),
    side: int = 1,
) -> bytes:
    """A md.trades message written by hand (to write what the codec refuses to)."""
    return (
        header
        + _bytes(venue)
        + _bytes(b"BTC-USDT-SPOT")
        + _bytes(trade_id)
        + price
        + size
        + _long(side)
        + b"\x02"  # exchange_ts_ns: the long branch
        + _long(BASE_NS)
        + _long(BASE_NS + 1)
        + _long(BASE_NS + 2)
        + b"\x00\x00"  # connection_id, frame_sequence: null
    )


def test_the_hand_written_trade_is_what_the_codec_reads() -> None:
    assert CODEC.decode("md.trades", _trade_value()) == {
        "venue": "binance",
        "instrument": "BTC-USDT-SPOT",
        "trade_id": "t1",
        "price": Decimal(42),
        "size": Decimal("0.1"),
        "side": "SELL",
        "exchange_ts_ns": BASE_NS,
        "receive_ts_ns": BASE_NS + 1,
        "process_ts_ns": BASE_NS + 2,
        "connection_id": None,
        "frame_sequence": None,
    }


BAD_VALUES = {
    "truncated": _trade_value()[:-1],
    "a byte left over": _trade_value() + b"\x00",
    "empty": b"",
    "header only": HEADER,
    "invalid UTF-8": _trade_value(venue=b"\xff\xfebin"),
    "UTF-8 surrogate": _trade_value(trade_id=b"\xed\xa0\x80"),
    "code point above U+10FFFF": _trade_value(trade_id=b"\xf4\x90\x80\x80"),
    "overlong UTF-8": _trade_value(trade_id=b"\xc0\xaf"),
    "decimal of 39 digits": _trade_value(price=_decimal(10**38)),
    "negative decimal of 39 digits": _trade_value(size=_decimal(-(10**38))),
    "decimal wider than 16 bytes": _trade_value(price=_decimal(2**130)),
    "enum index out of range": _trade_value(side=3),
    "another schema id": _trade_value(header=b"\x00\x00\x00\x00\x01"),
    "not the Confluent magic byte": _trade_value(header=b"\x01" + HEADER[1:]),
    "negative string length": HEADER + _long(-3) + _trade_value()[13:],
}


@pytest.mark.parametrize("kind", sorted(BAD_VALUES))
def test_a_bad_record_fails_the_whole_avro_insert_and_python_refuses_it_too(
    chdb: tuple[Client, Client], kind: str
) -> None:
    _by_python, client = chdb
    good = [CODEC.encode("md.trades", t) for t in TRADES]
    values = [good[0], BAD_VALUES[kind], good[1], good[2]]
    with pytest.raises(DriverError):
        _insert_avro(client, "md.trades", values, [0, 1, 2, 3], "bad")
    assert int(str(client.command("SELECT count() FROM trades"))) == 0
    with pytest.raises(SchemaError):
        CODEC.decode("md.trades", BAD_VALUES[kind])


# Records the codec reads but ClickHouse's Avro reader does not: the fallback stores them
# as before. (fastavro reads enum index -1 as the last symbol, Python's list[-1].)
PYTHON_ONLY = {
    "decimal padded to 17 bytes": _trade_value(trade_id=b"p17", price=_decimal(10**18, 17)),
    "decimal of zero bytes": _trade_value(trade_id=b"p0", size=_bytes(b"")),
    "negative enum index": _trade_value(trade_id=b"e-1", side=-1),
}
PYTHON_READS = {
    "decimal padded to 17 bytes": ("p17", Decimal(1), Decimal("0.1"), "SELL"),
    "decimal of zero bytes": ("p0", Decimal(42), Decimal(0), "SELL"),
    "negative enum index": ("e-1", Decimal(42), Decimal("0.1"), "UNKNOWN"),
}


@pytest.mark.parametrize("kind", sorted(PYTHON_ONLY))
def test_records_only_python_reads_fail_the_avro_insert(
    chdb: tuple[Client, Client], kind: str
) -> None:
    _by_python, client = chdb
    with pytest.raises(DriverError):
        _insert_avro(client, "md.trades", [PYTHON_ONLY[kind]], [0], "p")
    record = CODEC.decode("md.trades", PYTHON_ONLY[kind])
    assert (record["trade_id"], record["price"], record["size"], record["side"]) == (
        PYTHON_READS[kind]
    )


# --- bad records of the raw frame, book and dead letter schemas -------------------------


def _header(topic: str) -> bytes:
    return b"\x00" + CODEC.for_topic(topic).schema_id.to_bytes(4, "big")


def _raw_value(
    *,
    channel: bytes | None = b"trade",
    payload: bytes = _bytes(b'{"p":"1"}'),
    binary: bytes = b"\x00",
    rest_url: bytes | None = None,
) -> bytes:
    """A md.raw message written by hand."""
    return (
        _header("md.raw")
        + _bytes(b"binance")
        + _bytes(b"ws-1")
        + _long(5)
        + _long(0)  # WEBSOCKET
        + _long(0)  # LIVE
        + (b"\x00" if channel is None else b"\x02" + _bytes(channel))
        + b"\x00"  # symbol: null
        + payload
        + binary
        + _long(BASE_NS)
        + b"\x00"  # request_ts_ns: null
        + (b"\x00" if rest_url is None else b"\x02" + _bytes(rest_url))
        + b"\x00"  # rest_status: null
    )


def _levels(*levels: tuple[bytes, bytes]) -> bytes:
    """An Avro array of PriceLevel in one block (empty: just the end marker)."""
    if not levels:
        return b"\x00"
    return _long(len(levels)) + b"".join(p + s for p, s in levels) + b"\x00"


GOOD_LEVEL = (_decimal(42 * 10**18), _decimal(10**17))


def _book_value(
    *,
    instrument: bytes = b"BTC-USDT-SPOT",
    kind: int = 1,
    bids: bytes = _levels(GOOD_LEVEL),
    asks: bytes = _levels(GOOD_LEVEL, GOOD_LEVEL),
) -> bytes:
    """A md.book message written by hand."""
    return (
        _header("md.book")
        + _bytes(b"okx")
        + _bytes(instrument)
        + _long(kind)
        + bids
        + asks
        + b"\x00" * 5  # depth, first/last/prev sequence, checksum: null
        + b"\x00"  # exchange_ts_ns: null
        + _long(BASE_NS)
        + _long(BASE_NS + 1)
    )


ONE_LABEL = _long(1) + _bytes(b"a") + _bytes(b"1") + b"\x00"


def _dead_letter_value(*, labels: bytes = ONE_LABEL) -> bytes:
    """A dlq.sink message written by hand."""
    return (
        _header("dlq.sink")
        + _bytes(b"sink")
        + _bytes(b"md.trades")
        + b"\x00\x00\x00"  # source_partition, source_offset, key: null
        + _bytes(b"\xff\x00")
        + _bytes(b"SchemaError")
        + _bytes(b"bad")
        + labels
        + _long(BASE_NS)
    )


def _map(*pairs: tuple[bytes, bytes]) -> bytes:
    return _long(len(pairs)) + b"".join(_bytes(k) + _bytes(v) for k, v in pairs) + b"\x00"


def test_the_hand_written_records_are_what_the_codec_reads() -> None:
    raw = CODEC.decode("md.raw", _raw_value())
    assert (raw["channel"], raw["payload"], raw["binary"], raw["transport"]) == (
        "trade",
        b'{"p":"1"}',
        False,
        "WEBSOCKET",
    )
    book = CODEC.decode("md.book", _book_value())
    level = {"price": Decimal(42), "size": Decimal("0.1")}
    assert (book["kind"], book["bids"], book["asks"]) == ("DELTA", [level], [level, level])
    assert book["receive_ts_ns"] == BASE_NS
    assert book["process_ts_ns"] == BASE_NS + 1
    letter = CODEC.decode("dlq.sink", _dead_letter_value())
    assert (letter["payload"], letter["labels"]) == (b"\xff\x00", {"a": "1"})


# (topic, value): every one is refused by ClickHouse and by the codec
BAD_NESTED: dict[str, tuple[str, bytes]] = {
    "raw: truncated": ("md.raw", _raw_value()[:-1]),
    "raw: a byte left over": ("md.raw", _raw_value() + b"\x00"),
    "raw: payload longer than the record": ("md.raw", _raw_value(payload=_long(10**6) + b"x")),
    "raw: invalid UTF-8 in a nullable string": ("md.raw", _raw_value(channel=b"\xff")),
    "raw: surrogate in the REST URL": ("md.raw", _raw_value(rest_url=b"http://\xed\xa0\x80")),
    "book: level decimal of 39 digits": (
        "md.book",
        _book_value(asks=_levels(GOOD_LEVEL, (_decimal(10**38), _decimal(1)))),
    ),
    "book: negative level decimal of 39 digits": (
        "md.book",
        _book_value(bids=_levels((_decimal(1), _decimal(-(10**38))))),
    ),
    "book: level decimal wider than 16 bytes": (
        "md.book",
        _book_value(bids=_levels((_decimal(2**130), _decimal(1)))),
    ),
    "book: truncated inside a level": ("md.book", _book_value()[:40]),
    "book: array count beyond the record": (
        "md.book",
        _book_value(bids=_long(5) + GOOD_LEVEL[0] + GOOD_LEVEL[1] + b"\x00"),
    ),
    "book: invalid UTF-8 instrument": ("md.book", _book_value(instrument=b"BTC\xc0\xaf")),
    "book: enum index out of range": ("md.book", _book_value(kind=2)),
    "dead letter: invalid UTF-8 map key": (
        "dlq.sink",
        _dead_letter_value(labels=_map((b"ok", b"1"), (b"\xff", b"2"))),
    ),
    "dead letter: invalid UTF-8 map value": (
        "dlq.sink",
        _dead_letter_value(labels=_map((b"a", b"\xed\xa0\x80"))),
    ),
    "dead letter: another schema id": (
        "dlq.sink",
        b"\x00\x00\x00\x00\x01" + _dead_letter_value()[5:],
    ),
}


@pytest.mark.parametrize("kind", sorted(BAD_NESTED))
def test_a_bad_nested_record_fails_the_whole_avro_insert_and_python_refuses_it_too(
    chdb: tuple[Client, Client], kind: str
) -> None:
    _by_python, client = chdb
    topic, bad = BAD_NESTED[kind]
    good = [CODEC.encode(topic, record) for record in SAMPLES[topic]]
    values = [good[0], bad, *good[1:]]
    _insert_avro(client, topic, good, list(range(len(good))), "good")  # the good ones pass
    table = mapping_for_topic(topic).table
    with pytest.raises(DriverError):
        _insert_avro(client, topic, values, list(range(100, 100 + len(values))), "bad")
    assert int(str(client.command(f"SELECT count() FROM {table}"))) == len(good)
    with pytest.raises(SchemaError):
        CODEC.decode(topic, bad)


# Records the codec reads but the Avro insert refuses (so the fallback stores them): fastavro
# reads any non-zero boolean byte as true and keeps the last of repeated map keys, while
# ClickHouse refuses the byte and would keep both keys (the insert checks for that).
NESTED_PYTHON_ONLY: dict[str, tuple[str, bytes]] = {
    "boolean byte 2": ("md.raw", _raw_value(binary=b"\x02")),
    "repeated map key": ("dlq.sink", _dead_letter_value(labels=_map((b"a", b"1"), (b"a", b"2")))),
}


@pytest.mark.parametrize("kind", sorted(NESTED_PYTHON_ONLY))
def test_nested_records_only_python_reads_fail_the_avro_insert(
    chdb: tuple[Client, Client], kind: str
) -> None:
    by_python, by_avro = chdb
    topic, value = NESTED_PYTHON_ONLY[kind]
    with pytest.raises(DriverError):
        _insert_avro(by_avro, topic, [value], [0], "p")
    table = mapping_for_topic(topic).table
    assert int(str(by_avro.command(f"SELECT count() FROM {table}"))) == 0
    record = CODEC.decode(topic, value)
    if topic == "md.raw":
        assert record["binary"] is True
    else:
        assert record["labels"] == {"a": "2"}
    _insert_python(by_python, topic, [value], [0], "p")
    assert int(str(by_python.command(f"SELECT count() FROM {table}"))) == 1


def test_arrays_and_maps_in_several_blocks_read_the_same_both_ways(
    chdb: tuple[Client, Client],
) -> None:
    """Avro lets a writer split an array or map into blocks, with a negative count followed
    by the block's size in bytes; both readers must give the same rows."""
    by_python, by_avro = chdb
    level = GOOD_LEVEL[0] + GOOD_LEVEL[1]
    other = _decimal(-(10**20) + 1) + _decimal(1)
    bids = _long(-2) + _long(2 * len(level)) + level + level + _long(1) + other + b"\x00"
    pairs = _bytes(b"k1") + _bytes(b"v1") + _bytes(b"k2") + _bytes(b"")
    last = _bytes(b"k3") + _bytes("é".encode())
    labels = _long(-2) + _long(len(pairs)) + pairs + _long(1) + last + b"\x00"
    for topic, value in (
        ("md.book", _book_value(bids=bids)),
        ("dlq.sink", _dead_letter_value(labels=labels)),
    ):
        _insert_python(by_python, topic, [value], [3], "blocks")
        _insert_avro(by_avro, topic, [value], [3], "blocks")
        table = mapping_for_topic(topic).table
        expected = _table_text(by_python, table)
        assert expected.count("\n") == 1
        assert _table_text(by_avro, table) == expected
    book = CODEC.decode("md.book", _book_value(bids=bids))
    assert [level["price"] for level in book["bids"]] == [42, 42, Decimal(-(10**20) + 1) / 10**18]


_LEVELS = st.lists(st.fixed_dictionaries({"price": _DECIMALS, "size": _DECIMALS}), max_size=12)


@settings(
    deadline=None, max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    books=st.lists(st.tuples(_LEVELS, _LEVELS), min_size=1, max_size=8),
    payloads=st.lists(st.binary(max_size=300), min_size=1, max_size=8),
    times=st.lists(st.integers(0, 9_000_000_000_000_000_000), min_size=8, max_size=8),
)
def test_any_levels_and_payloads_are_the_same_both_ways(
    chdb: tuple[Client, Client],
    books: list[tuple[list[dict[str, Decimal]], list[dict[str, Decimal]]]],
    payloads: list[bytes],
    times: list[int],
) -> None:
    by_python, by_avro = chdb
    records = {
        "md.book": [
            {**BOOK[i % 3], "bids": bids, "asks": asks, "exchange_ts_ns": times[i]}
            for i, (bids, asks) in enumerate(books)
        ],
        "md.raw": [
            {**RAW[i % 3], "payload": payload, "receive_ts_ns": times[i], "sequence": i}
            for i, payload in enumerate(payloads)
        ],
    }
    token = uuid.uuid4().hex
    for topic, chunk in records.items():
        table = mapping_for_topic(topic).table
        for client in chdb:
            client.command(f"TRUNCATE TABLE {table}")
        values = [CODEC.encode(topic, record) for record in chunk]
        offsets = list(range(len(values)))
        _insert_python(by_python, topic, values, offsets, token)
        _insert_avro(by_avro, topic, values, offsets, token)
        expected = _table_text(by_python, table)
        assert expected.count("\n") == len(values)
        assert _table_text(by_avro, table) == expected
    stored = by_avro.query(
        "SELECT arrayMap(l -> (toString(l.price), toString(l.size)), bids) "
        "FROM book_updates ORDER BY kafka_offset"
    ).result_rows
    assert [[(Decimal(p), Decimal(s)) for p, s in bids] for (bids,) in stored] == [
        [(level["price"], level["size"]) for level in bids] for bids, _asks in books
    ]


def test_simulated_frames_and_their_book_updates_are_the_same_both_ways(
    chdb: tuple[Client, Client],
) -> None:
    """Real records, not hand-made ones: the simulator's Binance and OKX frames (text and
    REST) and the book updates the normalizer makes of them take the Avro insert (no
    refusal, so no fallback) and give the tables the Python path gives."""
    by_python, by_avro = chdb
    frames = list(raw_frames(MarketSimulator(SimConfig(seed=3, n_frames=600)).frames()))
    books = Normalizer().process_batch(frames)["md.book"]
    assert len(books) > 100
    assert any(len(book["bids"]) > 5 for book in books)
    for topic, records in (("md.raw", frames), ("md.book", books)):
        values = [CODEC.encode(topic, record) for record in records]
        offsets = list(range(1_000, 1_000 + len(values)))
        _insert_python(by_python, topic, values, offsets, "sim")
        _insert_avro(by_avro, topic, values, offsets, "sim")  # raises if refused
        table = mapping_for_topic(topic).table
        expected = _table_text(by_python, table)
        assert expected.count("\n") == len(values)
        assert _table_text(by_avro, table) == expected


def test_a_repeated_token_is_dropped_whichever_path_came_first(
    chdb: tuple[Client, Client],
) -> None:
    by_python, by_avro = chdb
    values = [CODEC.encode("md.trades", t) for t in TRADES]
    offsets = [0, 1, 2]
    for _ in range(2):
        _insert_avro(by_avro, "md.trades", values, offsets, "same")
    _insert_python(by_avro, "md.trades", values, offsets, "same")
    _insert_python(by_python, "md.trades", values, offsets, "same")
    _insert_avro(by_python, "md.trades", values, offsets, "same")
    for client in chdb:
        assert int(str(client.command("SELECT count() FROM trades"))) == len(values)
    _insert_avro(by_avro, "md.trades", values, offsets, "other")
    assert int(str(by_avro.command("SELECT count() FROM trades"))) == 2 * len(values)


# --- the sink, both ways --------------------------------------------------------------


def _dead_letter_payloads(bootstrap: str, topic: str, count: int) -> list[bytes]:
    consumer = Consumer(
        client_config(bootstrap)
        | {"group.id": f"check-{uuid.uuid4().hex[:8]}", "auto.offset.reset": "earliest"}
    )
    payloads: list[bytes] = []
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        for _ in range(300):
            if len(payloads) >= count:
                break
            msg = consumer.poll(0.1)
            if msg is not None and msg.error() is None:
                letter = CODEC.decode("dlq.sink", msg.value() or b"")
                payloads.append(bytes(letter["payload"]))
    finally:
        consumer.close()
    return payloads


def test_the_sink_stores_the_same_rows_and_dead_letters_either_way(
    kafka_bootstrap: str, kafka_topic: TopicFactory, tmp_path: Path
) -> None:
    topic = kafka_topic("md.trades")
    trades = [
        {
            **TRADES[i % 3],
            "trade_id": f"t{i}",
            "price": Decimal(f"{40000 + i}.{i:05d}"),
            "exchange_ts_ns": BASE_NS + i * 1_000_003,
            "receive_ts_ns": BASE_NS + i * 1_000_003 + 5_000,
        }
        for i in range(400)
    ]
    values = [CODEC.encode("md.trades", t) for t in trades]
    bad = [BAD_VALUES["truncated"], BAD_VALUES["invalid UTF-8"], BAD_VALUES["decimal of 39 digits"]]
    # chunks of 100 offsets: 0-99 and 100-199 hold a bad record, 200-299 a record only the
    # codec reads and a bad one, 300-403 only good records
    values.insert(50, bad[0])
    values.insert(120, bad[1])
    values.insert(210, PYTHON_ONLY["decimal padded to 17 bytes"])
    values.insert(250, bad[2])
    produce_all(kafka_bootstrap, topic, [(b"k", v) for v in values])

    url = f"chdb://{tmp_path / 'chdb'}"
    settings_ = load_settings(data_dir=tmp_path / "data")
    texts = {}
    for avro in (True, False):
        database = "by_avro" if avro else "by_python"
        dlq = kafka_topic("dlq.sink")
        stats = run_sink(
            settings_,
            stop_event=threading.Event(),
            config=SinkConfig(
                topics={topic: "md.trades"},
                group_id=f"sink-{uuid.uuid4().hex[:8]}",
                grid=100,
                flush_interval_s=60.0,
                dlq_topic=dlq,
                stop_when_caught_up=True,
                avro_insert=avro,
            ),
            bootstrap=kafka_bootstrap,
            clickhouse_url=url,
            database=database,
        )
        assert stats.records == len(values)
        assert stats.rows == {"trades": 401}
        assert stats.dead_letters == 3
        assert stats.avro_fallbacks == (3 if avro else 0)
        assert sorted(_dead_letter_payloads(kafka_bootstrap, dlq, 3)) == sorted(bad)
        with connect(url, database=database) as client:
            texts[avro] = _table_text(client, "trades")
            offsets = client.query("SELECT kafka_offset FROM trades ORDER BY 1").result_rows
            trade_ids = {
                r[0]
                for r in client.query(
                    "SELECT trade_id FROM trades WHERE toString(price) = '1'"
                ).result_rows
            }
        assert [o for (o,) in offsets] == [i for i in range(len(values)) if i not in (50, 120, 250)]
        assert trade_ids == {"p17"}
    assert texts[True] == texts[False]
    assert texts[True].count("\n") == 401
