"""Decoded Avro records → ClickHouse rows, one :class:`TableMapping` per topic kind.

A row is a pure function of its Kafka record (value, topic, partition, offset): no clocks,
no randomness, so a replayed record gives a byte-identical row (the basis of insert
deduplication tokens, see ``docs/sink.md``). Decimals stay :class:`decimal.Decimal`,
times stay integer nanoseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tapewire.errors import SchemaError

__all__ = [
    "DEFAULT_TOPICS",
    "MAPPINGS",
    "Row",
    "TableMapping",
    "mapping_for_topic",
]

Row = tuple[Any, ...]
Record = Mapping[str, Any]
_PROVENANCE = ("kafka_topic", "kafka_partition", "kafka_offset")


@dataclass(frozen=True)
class TableMapping:
    """How records of one schema become rows of one table."""

    schema_topic: str
    """Registry topic (or family) whose schema the records have, e.g. ``md.trades``."""
    table: str
    columns: tuple[str, ...]
    """Column names in row order; the last three are always the Kafka provenance."""
    to_values: Callable[[Record], tuple[Any, ...]]
    """The row values before the provenance columns."""

    def row(self, record: Record, topic: str, partition: int, offset: int) -> Row:
        """The row for ``record`` read from ``topic``/``partition``/``offset``."""
        return (*self.to_values(record), topic, partition, offset)


def _levels(levels: list[Mapping[str, Any]]) -> list[tuple[Any, Any]]:
    return [(level["price"], level["size"]) for level in levels]


_SIDES = {"BUY": "buy", "SELL": "sell", "UNKNOWN": "unknown"}


def _trade(r: Record) -> tuple[Any, ...]:
    # trades.exchange_ts is part of the sort key, so it cannot be NULL: a venue that sends
    # no trade time gets the receive time (documented in docs/sink.md).
    exchange_ts = r["exchange_ts_ns"]
    return (
        r["venue"],
        r["instrument"],
        r["trade_id"],
        r["price"],
        r["size"],
        _SIDES[r["side"]],
        r["receive_ts_ns"] if exchange_ts is None else exchange_ts,
        r["receive_ts_ns"],
    )


def _raw(r: Record) -> tuple[Any, ...]:
    return (
        r["venue"],
        r["connection_id"],
        r["sequence"],
        r["transport"],
        r["origin"],
        r["channel"],
        r["symbol"],
        bytes(r["payload"]),
        r["binary"],
        r["receive_ts_ns"],
        r["request_ts_ns"],
        r["rest_url"],
        r["rest_status"],
    )


def _book(r: Record) -> tuple[Any, ...]:
    return (
        r["venue"],
        r["instrument"],
        r["kind"],
        _levels(r["bids"]),
        _levels(r["asks"]),
        r["depth"],
        r["first_sequence"],
        r["last_sequence"],
        r["prev_sequence"],
        r["checksum"],
        r["exchange_ts_ns"],
        r["receive_ts_ns"],
        r["process_ts_ns"],
    )


def _quote(r: Record) -> tuple[Any, ...]:
    return (
        r["venue"],
        r["instrument"],
        r["bid_price"],
        r["bid_size"],
        r["ask_price"],
        r["ask_size"],
        r["source"],
        r["exchange_ts_ns"],
        r["receive_ts_ns"],
        r["process_ts_ns"],
    )


_BAR_FIELDS = (
    "venue",
    "instrument",
    "interval",
    "interval_ns",
    "start_ts_ns",
    "end_ts_ns",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "quote_volume",
    "vwap",
    "trade_count",
    "buy_volume",
    "sell_volume",
    "revision",
    "process_ts_ns",
)


def _bar(r: Record) -> tuple[Any, ...]:
    return tuple(r[name] for name in _BAR_FIELDS)


_NBBO_FIELDS = (
    "instrument",
    "bid_price",
    "bid_size",
    "bid_venue",
    "ask_price",
    "ask_size",
    "ask_venue",
    "venue_count",
    "bid_receive_ts_ns",
    "ask_receive_ts_ns",
    "process_ts_ns",
)


def _nbbo(r: Record) -> tuple[Any, ...]:
    return tuple(r[name] for name in _NBBO_FIELDS)


def _coverage(r: Record) -> tuple[Any, ...]:
    return (
        r["venue"],
        r["instrument"],
        r["channel"],
        r["event"],
        r["from_ns"],
        r["to_ns"],
        r["reason"],
        r["process_ts_ns"],
    )


def _dead_letter(r: Record) -> tuple[Any, ...]:
    key = r["key"]
    return (
        r["stage"],
        r["source_topic"],
        r["source_partition"],
        r["source_offset"],
        None if key is None else bytes(key),
        bytes(r["payload"]),
        r["error_type"],
        r["reason"],
        dict(r["labels"]),
        r["failed_ts_ns"],
    )


def _m(
    schema_topic: str, table: str, columns: str, to_values: Callable[[Record], tuple[Any, ...]]
) -> TableMapping:
    return TableMapping(schema_topic, table, (*columns.split(), *_PROVENANCE), to_values)


MAPPINGS: Mapping[str, TableMapping] = {
    m.schema_topic: m
    for m in (
        _m(
            "md.trades",
            "trades",
            "venue instrument trade_id price size side exchange_ts receive_ts",
            _trade,
        ),
        _m(
            "md.raw",
            "raw_frames",
            "venue connection_id sequence transport origin channel symbol payload binary "
            "receive_ts request_ts rest_url rest_status",
            _raw,
        ),
        _m(
            "md.book",
            "book_updates",
            "venue instrument kind bids asks depth first_sequence last_sequence prev_sequence "
            "checksum exchange_ts receive_ts process_ts",
            _book,
        ),
        _m(
            "md.quotes",
            "quotes",
            "venue instrument bid_price bid_size ask_price ask_size source exchange_ts "
            "receive_ts process_ts",
            _quote,
        ),
        _m(
            "md.bars.*",
            "bars",
            "venue instrument interval interval_ns start_ts end_ts open high low close volume "
            "quote_volume vwap trade_count buy_volume sell_volume revision process_ts",
            _bar,
        ),
        _m(
            "md.nbbo",
            "nbbo",
            "instrument bid_price bid_size bid_venue ask_price ask_size ask_venue venue_count "
            "bid_receive_ts ask_receive_ts process_ts",
            _nbbo,
        ),
        _m(
            "md.coverage",
            "coverage",
            "venue instrument channel event from_ts to_ts reason process_ts",
            _coverage,
        ),
        _m(
            "dlq.*",
            "dead_letters",
            "stage source_topic source_partition source_offset key payload error_type reason "
            "labels failed_ts",
            _dead_letter,
        ),
    )
}

DEFAULT_TOPICS: tuple[str, ...] = (
    "md.raw",
    "md.trades",
    "md.book",
    "md.quotes",
    "md.bars.1s",
    "md.bars.1m",
    "md.nbbo",
    "md.coverage",
)
"""Kafka topics the sink reads by default (dead letters are opt-in: add ``dlq.normalize``)."""


def mapping_for_topic(schema_topic: str) -> TableMapping:
    """The mapping for a registry topic name (``md.bars.1m`` → the ``md.bars.*`` family)."""
    exact = MAPPINGS.get(schema_topic)
    if exact is not None:
        return exact
    for family, mapping in MAPPINGS.items():
        if family.endswith(".*") and schema_topic.startswith(family[:-1]):
            return mapping
    raise SchemaError(
        f"the ClickHouse sink has no table for topic {schema_topic!r}",
        value=schema_topic,
        hint=f"sinkable topics: {', '.join(MAPPINGS)} (add a TableMapping in "
        "sinks/clickhouse/rows.py and a migration, see docs/sink.md)",
    )
