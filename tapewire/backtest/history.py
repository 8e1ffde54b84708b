"""Stored market history as typed records, in replay order: what a backtest feeds the stages.

:func:`load_history` reads ``quotes``, ``book_updates`` and ``trades`` (``FINAL``: one row
per stored record) for ``[from, to)`` on ``receive_ts`` and returns :class:`MarketEvent`
objects sorted by one total order:

* ``order="exchange"`` (the default): the exchange's timestamp, else the receive time
  when the venue sent none; then the receive time;
* ``order="receive"``: the receive time (the order the live process saw them in);

ties broken by table (book, quotes, trades), then the Kafka partition and offset the sink
recorded. Decimals are read as ClickHouse prints them (``toString``: no trailing zeros),
so ``65000.1`` is ``Decimal("65000.1")`` as the normalizer made it, not a value padded to
18 places. Stored rows have no processing time: ``process_ts_ns`` is the receive time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from clickhouse_connect.driver.client import Client

from tapewire.core.errors import ConfigError
from tapewire.core.records import TypedRecord
from tapewire.records.market import BookUpdate, PriceLevel, Quote, Trade

Order = Literal["exchange", "receive"]
ORDERS: tuple[Order, ...] = ("exchange", "receive")
_SIDES = {"buy": "BUY", "sell": "SELL", "unknown": "UNKNOWN"}


@dataclass(frozen=True, slots=True)
class MarketEvent:
    """One stored market record and where it sorts; ``topic`` is its canonical topic."""

    key: tuple[int, int, int, int, int]
    """(order time, receive time, table rank, Kafka partition, Kafka offset)."""
    topic: str
    record: TypedRecord

    @property
    def receive_ts_ns(self) -> int:
        """When the record was received (the simulated clock follows it)."""
        return self.key[1]


def _ns(column: str) -> str:
    return f"toUnixTimestamp64Nano({column})"


def _dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _quote(row: Sequence[Any]) -> Quote:
    return Quote(
        venue=row[0],
        instrument=row[1],
        bid_price=_dec(row[2]),
        bid_size=_dec(row[3]),
        ask_price=_dec(row[4]),
        ask_size=_dec(row[5]),
        source=row[6],
        exchange_ts_ns=row[7],
        receive_ts_ns=row[8],
        process_ts_ns=row[8],
    )


def _levels(levels: Sequence[tuple[str, str]]) -> list[PriceLevel]:
    return [PriceLevel(price=Decimal(p), size=Decimal(s)) for p, s in levels]


def _book(row: Sequence[Any]) -> BookUpdate:
    return BookUpdate(
        venue=row[0],
        instrument=row[1],
        kind=row[2],
        bids=_levels(row[3]),
        asks=_levels(row[4]),
        depth=row[5],
        first_sequence=row[6],
        last_sequence=row[7],
        prev_sequence=row[8],
        checksum=row[9],
        exchange_ts_ns=row[10],
        receive_ts_ns=row[11],
        process_ts_ns=row[11],
    )


def _trade(row: Sequence[Any]) -> Trade:
    return Trade(
        venue=row[0],
        instrument=row[1],
        trade_id=row[2],
        price=Decimal(row[3]),
        size=Decimal(row[4]),
        side=_SIDES.get(row[5], "UNKNOWN"),
        exchange_ts_ns=row[6],
        receive_ts_ns=row[7],
        process_ts_ns=row[7],
    )


_LEVELS = "arrayMap(l -> (toString(l.1), toString(l.2)), {})"


@dataclass(frozen=True)
class _Table:
    topic: str
    table: str
    columns: str
    build: Callable[[Sequence[Any]], TypedRecord]
    exchange_ts: int
    """Index of the exchange time in the row (the receive time follows it)."""


TABLES = (
    _Table(
        "md.book",
        "book_updates",
        f"venue, instrument, toString(kind), {_LEVELS.format('bids')}, {_LEVELS.format('asks')},"
        " depth, first_sequence, last_sequence, prev_sequence, checksum,"
        f" {_ns('exchange_ts')}, {_ns('receive_ts')}",
        _book,
        10,
    ),
    _Table(
        "md.quotes",
        "quotes",
        "venue, instrument, toString(bid_price), toString(bid_size), toString(ask_price),"
        f" toString(ask_size), toString(source), {_ns('exchange_ts')}, {_ns('receive_ts')}",
        _quote,
        7,
    ),
    _Table(
        "md.trades",
        "trades",
        "venue, instrument, trade_id, toString(price), toString(size), toString(side),"
        f" {_ns('exchange_ts')}, {_ns('receive_ts')}",
        _trade,
        6,
    ),
)
"""What a backtest reads, in tie-break rank order."""


def check_range(from_ns: int, to_ns: int) -> None:
    """``--from`` must be before ``--to``."""
    if to_ns <= from_ns:
        raise ConfigError(
            f"--to ({to_ns}) must be after --from ({from_ns})",
            field="--to",
            value=to_ns,
            hint="the range is [from, to) on the records' receive time",
        )


def order_records(
    records: Iterable[tuple[str, TypedRecord]], order: Order = "exchange"
) -> list[MarketEvent]:
    """Market records held in memory (``(topic, record)`` in emission order) as sorted
    events, numbered per topic from 0 as the sink's offsets of partition 0 would be (so a
    history stored that way sorts alike)."""
    ranks = {table.topic: rank for rank, table in enumerate(TABLES)}
    offsets = dict.fromkeys(ranks, 0)
    events = []
    for topic, record in records:
        receive = int(record["receive_ts_ns"])
        exchange = record["exchange_ts_ns"]
        first = receive if order == "receive" or exchange is None else int(exchange)
        events.append(MarketEvent((first, receive, ranks[topic], 0, offsets[topic]), topic, record))
        offsets[topic] += 1
    events.sort(key=lambda e: e.key)
    return events


def check_order(order: str) -> Order:
    """``order`` as an :data:`Order`; :class:`ConfigError` naming ``--order`` otherwise."""
    if order == "exchange":
        return "exchange"
    if order == "receive":
        return "receive"
    raise ConfigError(
        f"--order {order!r} is not one of {list(ORDERS)}",
        field="--order",
        value=order,
        hint="exchange (exchange time, receive time when missing) or receive",
    )


def load_history(
    client: Client,
    from_ns: int,
    to_ns: int,
    *,
    order: Order = "exchange",
    venues: Sequence[str] = (),
    instruments: Sequence[str] = (),
) -> list[MarketEvent]:
    """Every stored quote, book update and trade received in ``[from_ns, to_ns)``
    (optionally only of ``venues`` / ``instruments``), sorted (module docstring)."""
    check_range(from_ns, to_ns)
    check_order(order)
    where = [
        "receive_ts >= fromUnixTimestamp64Nano({lo:Int64})",
        "receive_ts < fromUnixTimestamp64Nano({hi:Int64})",
    ]
    params: dict[str, Any] = {"lo": from_ns, "hi": to_ns}
    if venues:
        where.append("venue IN {venues:Array(String)}")
        params["venues"] = list(venues)
    if instruments:
        where.append("instrument IN {instruments:Array(String)}")
        params["instruments"] = list(instruments)
    events: list[MarketEvent] = []
    for rank, table in enumerate(TABLES):
        sql = (
            f"SELECT {table.columns}, kafka_partition, kafka_offset FROM {table.table} FINAL"
            f" WHERE {' AND '.join(where)}"
        )
        at = table.exchange_ts
        for row in client.query(sql, parameters=params).result_rows:
            receive = int(row[at + 1])
            exchange = row[at]
            first = receive if order == "receive" or exchange is None else int(exchange)
            key = (first, receive, rank, int(row[at + 2]), int(row[at + 3]))
            events.append(MarketEvent(key, table.topic, table.build(row)))
    events.sort(key=lambda e: e.key)
    return events
