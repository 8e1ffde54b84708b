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

from tapewire.core.errors import SchemaError
from tapewire.core.records import Record

__all__ = [
    "DEFAULT_TOPICS",
    "MAPPINGS",
    "Row",
    "TableMapping",
    "mapping_for_topic",
]

Row = tuple[Any, ...]
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
    sql: tuple[str, ...] | None = None
    """The same values as ClickHouse SQL expressions over the record's field names, for
    the Avro insert (:mod:`tapewire.sinks.clickhouse.avro_insert`); ``None``: Python path only."""

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


def _derivatives(r: Record) -> tuple[Any, ...]:
    return (
        r["venue"],
        r["instrument"],
        r["mark_price"],
        r["index_price"],
        r["funding_rate"],
        r["next_funding_ts_ns"],
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


def _depth_levels(levels: list[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (x["venue"], x["instrument"], x["price"], x["size"], x["effective_price"]) for x in levels
    ]


def _depth(r: Record) -> tuple[Any, ...]:
    return (
        r["instrument"],
        r["levels"],
        _depth_levels(r["bids"]),
        _depth_levels(r["asks"]),
        r["venue_count"],
        r["receive_ts_ns"],
        r["process_ts_ns"],
    )


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
    schema_topic: str,
    table: str,
    columns: str,
    to_values: Callable[[Record], tuple[Any, ...]],
    sql: tuple[str, ...] | None = None,
) -> TableMapping:
    return TableMapping(schema_topic, table, (*columns.split(), *_PROVENANCE), to_values, sql)


def _ns(field: str) -> str:
    """SQL: integer nanoseconds -> DateTime64(9, 'UTC'), exactly (NULL stays NULL)."""
    return f"fromUnixTimestamp64Nano({field}, 'UTC')"


def _sql(fields: tuple[str, ...], times: tuple[str, ...]) -> tuple[str, ...]:
    """SQL expressions of a row of ``fields`` as they are, ``times`` converted by _ns."""
    return tuple(_ns(f) if f in times else f for f in fields)


_TRADE_SQL = (
    "venue",
    "instrument",
    "trade_id",
    "price",
    "size",
    "transform(side, " + str(list(_SIDES)) + ", " + str(list(_SIDES.values())) + ")",
    _ns("coalesce(exchange_ts_ns, receive_ts_ns)"),
    _ns("receive_ts_ns"),
)
_QUOTE_FIELDS = (
    "venue",
    "instrument",
    "bid_price",
    "bid_size",
    "ask_price",
    "ask_size",
    "source",
    "exchange_ts_ns",
    "receive_ts_ns",
    "process_ts_ns",
)
_DERIVATIVES_FIELDS = (
    "venue",
    "instrument",
    "mark_price",
    "index_price",
    "funding_rate",
    "next_funding_ts_ns",
    "exchange_ts_ns",
    "receive_ts_ns",
    "process_ts_ns",
)
_COVERAGE_FIELDS = (
    "venue",
    "instrument",
    "channel",
    "event",
    "from_ns",
    "to_ns",
    "reason",
    "process_ts_ns",
)
_RAW_FIELDS = (
    "venue",
    "connection_id",
    "sequence",
    "transport",
    "origin",
    "channel",
    "symbol",
    "payload",
    "binary",
    "receive_ts_ns",
    "request_ts_ns",
    "rest_url",
    "rest_status",
)
_BOOK_FIELDS = (
    "venue",
    "instrument",
    "kind",
    "bids",  # Array(Tuple(price Decimal(38, 18), size Decimal(38, 18))), as stored
    "asks",
    "depth",
    "first_sequence",
    "last_sequence",
    "prev_sequence",
    "checksum",
    "exchange_ts_ns",
    "receive_ts_ns",
    "process_ts_ns",
)
_DEAD_LETTER_FIELDS = (
    "stage",
    "source_topic",
    "source_partition",
    "source_offset",
    "key",
    "payload",
    "error_type",
    "reason",
    "labels",
    "failed_ts_ns",
)


MAPPINGS: Mapping[str, TableMapping] = {
    m.schema_topic: m
    for m in (
        _m(
            "md.trades",
            "trades",
            "venue instrument trade_id price size side exchange_ts receive_ts",
            _trade,
            _TRADE_SQL,
        ),
        _m(
            "md.raw",
            "raw_frames",
            "venue connection_id sequence transport origin channel symbol payload binary "
            "receive_ts request_ts rest_url rest_status",
            _raw,
            _sql(_RAW_FIELDS, ("receive_ts_ns", "request_ts_ns")),
        ),
        _m(
            "md.book",
            "book_updates",
            "venue instrument kind bids asks depth first_sequence last_sequence prev_sequence "
            "checksum exchange_ts receive_ts process_ts",
            _book,
            _sql(_BOOK_FIELDS, ("exchange_ts_ns", "receive_ts_ns", "process_ts_ns")),
        ),
        _m(
            "md.quotes",
            "quotes",
            "venue instrument bid_price bid_size ask_price ask_size source exchange_ts "
            "receive_ts process_ts",
            _quote,
            _sql(_QUOTE_FIELDS, ("exchange_ts_ns", "receive_ts_ns", "process_ts_ns")),
        ),
        _m(
            "md.derivatives",
            "derivatives",
            "venue instrument mark_price index_price funding_rate next_funding_ts exchange_ts "
            "receive_ts process_ts",
            _derivatives,
            _sql(
                _DERIVATIVES_FIELDS,
                ("next_funding_ts_ns", "exchange_ts_ns", "receive_ts_ns", "process_ts_ns"),
            ),
        ),
        _m(
            "md.bars.*",
            "bars",
            "venue instrument interval interval_ns start_ts end_ts open high low close volume "
            "quote_volume vwap trade_count buy_volume sell_volume revision process_ts",
            _bar,
            _sql(_BAR_FIELDS, ("start_ts_ns", "end_ts_ns", "process_ts_ns")),
        ),
        _m(
            "md.nbbo",
            "nbbo",
            "instrument bid_price bid_size bid_venue ask_price ask_size ask_venue venue_count "
            "bid_receive_ts ask_receive_ts process_ts",
            _nbbo,
            _sql(_NBBO_FIELDS, ("bid_receive_ts_ns", "ask_receive_ts_ns", "process_ts_ns")),
        ),
        _m(
            "md.depth",
            "consolidated_depth",
            "instrument levels bids asks venue_count receive_ts process_ts",
            _depth,
        ),
        _m(
            "md.coverage",
            "coverage",
            "venue instrument channel event from_ts to_ts reason process_ts",
            _coverage,
            _sql(_COVERAGE_FIELDS, ("from_ns", "to_ns", "process_ts_ns")),
        ),
        _m(
            "dlq.*",
            "dead_letters",
            "stage source_topic source_partition source_offset key payload error_type reason "
            "labels failed_ts",
            _dead_letter,
            _sql(_DEAD_LETTER_FIELDS, ("failed_ts_ns",)),
        ),
    )
}

DEFAULT_TOPICS: tuple[str, ...] = (
    "md.raw",
    "md.trades",
    "md.book",
    "md.quotes",
    "md.derivatives",
    "md.bars.1s",
    "md.bars.1m",
    "md.nbbo",
    "md.depth",
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


# --- trading (oms.*, positions, alerts: 0003_trading.sql; tca: 0009_tca.sql) -----------

_REQUEST_FIELDS = (
    "client_order_id",
    "account",
    "venue",
    "instrument",
    "action",
    "orig_client_order_id",
    "side",
    "order_type",
    "time_in_force",
    "quantity",
    "limit_price",
    "stop_price",
    "trailing_offset",
    "trailing_offset_type",
    "post_only",
    "reduce_only",
    "expire_ts_ns",
    "strategy_id",
    "requested_by",
    "request_ts_ns",
)


def _order_request(r: Record) -> tuple[Any, ...]:
    return (*(r[name] for name in _REQUEST_FIELDS), dict(r["tags"]))


def _risk_decision(r: Record) -> tuple[Any, ...]:
    q = r["request"]
    return (
        r["decision_id"],
        r["client_order_id"],
        r["account"],
        r["decision"],
        r["rule"],
        r["reason"],
        list(r["rules_evaluated"]),
        r["trading_state"],
        r["reference_price"],
        r["reference_ts_ns"],
        r["decision_ts_ns"],
        q["action"],
        q["venue"],
        q["instrument"],
        q["side"],
        q["order_type"],
        q["quantity"],
        q["limit_price"],
        q["requested_by"],
        q["strategy_id"],
        q["request_ts_ns"],
    )


_EVENT_FIELDS: list[str] = [
    "event_id",
    "client_order_id",
    "orig_client_order_id",
    "venue_order_id",
    "account",
    "venue",
    "instrument",
    "side",
    "order_type",
    "time_in_force",
    "status",
    "exec_type",
    "quantity",
    "limit_price",
    "stop_price",
    "cum_qty",
    "leaves_qty",
    "avg_price",
    "last_qty",
    "last_price",
    "exec_id",
    "text",
    "emulated",
    "venue_ts_ns",
    "event_ts_ns",
    "strategy_id",
]
_FILL_FIELDS: list[str] = [
    "fill_id",
    "client_order_id",
    "venue_order_id",
    "account",
    "venue",
    "instrument",
    "side",
    "price",
    "quantity",
    "fee",
    "fee_currency",
    "liquidity",
    "venue_ts_ns",
    "receive_ts_ns",
    "strategy_id",
]
_POSITION_FIELDS: list[str] = [
    "account",
    "venue",
    "instrument",
    "quantity",
    "avg_price",
    "realized_pnl",
    "unrealized_pnl",
    "fees",
    "mark_price",
    "mark_ts_ns",
    "pnl_currency",
    "last_fill_id",
    "update_ts_ns",
]


_PARENT_REQUEST_FIELDS = (
    "parent_id",
    "account",
    "action",
    "algo",
    "instrument",
    "side",
    "quantity",
    "limit_price",
)
_PARENT_EVENT_FIELDS: list[str] = [
    "event_id",
    "parent_id",
    "account",
    "algo",
    "instrument",
    "side",
    "event_type",
    "event",
    "status",
    "quantity",
    "limit_price",
    "cum_qty",
    "leaves_qty",
    "avg_price",
    "avg_price_with_fees",
    "children",
    "open_children",
    "waves",
    "strategy_id",
    "event_ts_ns",
]


def _parent_request(r: Record) -> tuple[Any, ...]:
    return (
        *(r[name] for name in _PARENT_REQUEST_FIELDS),
        list(r["venues"]),
        dict(r["params"]),
        r["strategy_id"],
        r["requested_by"],
        r["request_ts_ns"],
    )


_TCA_FIELDS: list[str] = [
    "tca_id",
    "kind",
    "account",
    "order_id",
    "parent_id",
    "venue",
    "instrument",
    "side",
    "strategy_id",
    "status",
    "revision",
    "children",
    "quantity",
    "filled_qty",
    "fill_ratio",
    "avg_price",
    "notional",
    "arrival_ts_ns",
    "arrival_mid",
    "arrival_source",
    "arrival_quote_ts_ns",
    "end_ts_ns",
    "end_mid",
    "interval_vwap",
    "interval_volume",
    "interval_trades",
    "slippage_arrival_bps",
    "slippage_vwap_bps",
    "execution_cost",
    "fees_quote",
    "opportunity_cost",
    "shortfall_bps",
    "quote_currency",
]


def _tca(r: Record) -> tuple[Any, ...]:
    return (*(r[name] for name in _TCA_FIELDS), dict(r["fees"]), dict(r["venue_mix"]), r["note"])


def _fields(names: list[str]) -> Callable[[Record], tuple[Any, ...]]:
    def values(r: Record) -> tuple[Any, ...]:
        return tuple(r[name] for name in names)

    return values


def _alert(r: Record) -> tuple[Any, ...]:
    return (
        r["alert_id"],
        r["severity"],
        r["source"],
        r["code"],
        r["message"],
        dict(r["labels"]),
        r["event_ts_ns"],
    )


_DECISION_COLUMNS = (
    "decision_id client_order_id account decision rule reason rules_evaluated trading_state "
    "reference_price reference_ts decision_ts action venue instrument side order_type quantity "
    "limit_price requested_by strategy_id request_ts"
)


def _ts_columns(names: list[str]) -> str:
    return " ".join(n[: -len("_ns")] if n.endswith("_ts_ns") else n for n in names)


TRADING_MAPPINGS: Mapping[str, TableMapping] = {
    m.schema_topic: m
    for m in (
        _m(
            "oms.requests",
            "order_requests",
            _ts_columns(list(_REQUEST_FIELDS)) + " tags",
            _order_request,
        ),
        _m("oms.approved", "risk_decisions", _DECISION_COLUMNS, _risk_decision),
        _m("oms.denied", "risk_decisions", _DECISION_COLUMNS, _risk_decision),
        _m("oms.events", "order_events", _ts_columns(_EVENT_FIELDS), _fields(_EVENT_FIELDS)),
        _m(
            "oms.parent_requests",
            "parent_requests",
            " ".join(_PARENT_REQUEST_FIELDS) + " venues params strategy_id requested_by request_ts",
            _parent_request,
        ),
        _m(
            "oms.parent_events",
            "parent_events",
            _ts_columns(_PARENT_EVENT_FIELDS),
            _fields(_PARENT_EVENT_FIELDS),
        ),
        _m("oms.fills", "fills", _ts_columns(_FILL_FIELDS), _fields(_FILL_FIELDS)),
        _m(
            "positions",
            "positions",
            _ts_columns(_POSITION_FIELDS),
            _fields(_POSITION_FIELDS),
        ),
        _m("alerts", "alerts", "alert_id severity source code message labels event_ts", _alert),
        _m("tca", "tca", _ts_columns(_TCA_FIELDS) + " fees venue_mix note", _tca),
    )
}
"""Trading topics -> audit tables (merged into :data:`MAPPINGS`)."""
TRADING_TOPICS: tuple[str, ...] = tuple(TRADING_MAPPINGS)
"""Trading topics the sink can read (opt-in, like dead letters)."""
MAPPINGS = {**MAPPINGS, **TRADING_MAPPINGS}
