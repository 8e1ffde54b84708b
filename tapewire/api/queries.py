"""The API's reads as parameterised ClickHouse statements: fixed SQL text, values bound
by the server (``{name:Type}``). No caller text ever becomes SQL.

Every builder takes ``accounts``: the caller's accounts (None = every account, for users
with ``*``); rows of other accounts are never selected. Timestamps come back as integer
UTC nanoseconds (``*_ns`` columns), prices and sizes as exact decimals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Query:
    """SQL text with ``{name:Type}`` placeholders and their values."""

    sql: str
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Range:
    """Optional filters shared by the history reads (``None`` = no filter)."""

    venue: str | None = None
    instrument: str | None = None
    since_ns: int | None = None
    until_ns: int | None = None


class _Where:
    def __init__(self) -> None:
        self.conditions: list[str] = []
        self.parameters: dict[str, Any] = {}

    def add(self, condition: str, **parameters: Any) -> None:
        self.conditions.append(condition)
        self.parameters.update(parameters)

    def accounts(self, accounts: Sequence[str] | None) -> None:
        if accounts is not None:
            self.add("account IN {accounts:Array(String)}", accounts=list(accounts))

    def range(self, r: Range, ts: str) -> None:
        if r.venue is not None:
            self.add("venue = {venue:String}", venue=r.venue)
        if r.instrument is not None:
            self.add("instrument = {instrument:String}", instrument=r.instrument)
        if r.since_ns is not None:
            self.add(f"{ts} >= fromUnixTimestamp64Nano({{since_ns:Int64}})", since_ns=r.since_ns)
        if r.until_ns is not None:
            self.add(f"{ts} < fromUnixTimestamp64Nano({{until_ns:Int64}})", until_ns=r.until_ns)

    def sql(self) -> str:
        return "WHERE " + " AND ".join(self.conditions) if self.conditions else ""


_ORDER_COLUMNS = (
    "client_order_id, account, venue, instrument, side, order_type, time_in_force, status,\n"
    "       exec_type, quantity, limit_price, cum_qty, leaves_qty, avg_price, text,\n"
    "       toUnixTimestamp64Nano(event_ts) AS event_ts_ns"
)


def orders(accounts: Sequence[str] | None, r: Range, *, status: str | None, limit: int) -> Query:
    """The latest state of each order (its newest execution report), newest first."""
    where = _Where()
    where.accounts(accounts)
    where.range(r, "event_ts")
    outer = ""
    if status is not None:
        outer = "WHERE status = {status:String}\n"
        where.parameters["status"] = status
    sql = (
        f"SELECT * FROM (\n    SELECT {_ORDER_COLUMNS}\n    FROM order_events FINAL\n"
        f"    {where.sql()}\n"
        "    ORDER BY account, client_order_id, event_ts DESC, cum_qty DESC, event_id DESC\n"
        "    LIMIT 1 BY account, client_order_id\n)\n"
        f"{outer}ORDER BY event_ts_ns DESC, client_order_id\nLIMIT {{limit:UInt32}}"
    )
    return Query(sql, where.parameters | {"limit": limit})


def order_status(account: str, client_order_id: str) -> Query:
    """The newest execution report of one order."""
    return Query(
        f"SELECT {_ORDER_COLUMNS}\nFROM order_events FINAL\n"
        "WHERE account = {account:String} AND client_order_id = {cid:String}\n"
        "ORDER BY event_ts DESC, cum_qty DESC, event_id DESC\nLIMIT 1",
        {"account": account, "cid": client_order_id},
    )


def order_decision(account: str, client_order_id: str) -> Query:
    """The risk decision, else the bare request, of an order with no execution report."""
    return Query(
        "SELECT client_order_id, account, venue, instrument, step, detail, ts_ns FROM (\n"
        "    SELECT client_order_id, account, venue, instrument, 1 AS ord, 'risk' AS step,\n"
        "           concat(decision, if(rule IS NULL, '',\n"
        "                  concat(' ', rule, ': ', ifNull(reason, '')))) AS detail,\n"
        "           toUnixTimestamp64Nano(decision_ts) AS ts_ns\n"
        "    FROM risk_decisions FINAL\n"
        "    WHERE account = {account:String} AND client_order_id = {cid:String}\n"
        "    UNION ALL\n"
        "    SELECT client_order_id, account, venue, instrument, 0, 'request',\n"
        "           concat(action, ' by ', requested_by, ' (no risk decision yet)'),\n"
        "           toUnixTimestamp64Nano(request_ts)\n"
        "    FROM order_requests FINAL\n"
        "    WHERE account = {account:String} AND client_order_id = {cid:String}\n"
        ")\nORDER BY ord DESC, ts_ns DESC\nLIMIT 1",
        {"account": account, "cid": client_order_id},
    )


def order_location(account: str, client_order_id: str) -> Query:
    """Venue and instrument of an order, from its request or its execution reports."""
    return Query(
        "SELECT venue, instrument FROM (\n"
        "    SELECT venue, instrument, 0 AS o FROM order_requests FINAL\n"
        "    WHERE account = {account:String} AND client_order_id = {cid:String}\n"
        "      AND action != 'CANCEL'\n"
        "    UNION ALL\n"
        "    SELECT venue, instrument, 1 FROM order_events FINAL\n"
        "    WHERE account = {account:String} AND client_order_id = {cid:String}\n"
        ") ORDER BY o LIMIT 1",
        {"account": account, "cid": client_order_id},
    )


def order_terms(account: str, client_order_id: str) -> Query:
    """The NEW or REPLACE request that gave an order its current terms (a replaced order
    continues under the REPLACE's id)."""
    return Query(
        "SELECT client_order_id, account, venue, instrument, side, order_type, time_in_force,\n"
        "       quantity, limit_price, stop_price, trailing_offset, trailing_offset_type,\n"
        "       post_only, reduce_only, toUnixTimestamp64Nano(expire_ts) AS expire_ts_ns,\n"
        "       strategy_id, requested_by, toUnixTimestamp64Nano(request_ts) AS request_ts_ns\n"
        "FROM order_requests FINAL\n"
        "WHERE account = {account:String} AND client_order_id = {cid:String}\n"
        "  AND action IN ('NEW', 'REPLACE')\n"
        "ORDER BY request_ts DESC LIMIT 1",
        {"account": account, "cid": client_order_id},
    )


_PARENT_COLUMNS = (
    "parent_id, account, algo, instrument, side, status, event_type, quantity, limit_price,\n"
    "       cum_qty, leaves_qty, avg_price, avg_price_with_fees, children, open_children,\n"
    "       waves, toUnixTimestamp64Nano(event_ts) AS event_ts_ns"
)


def parent_status(account: str, parent_id: str) -> Query:
    """The newest event of one parent order (with the parent's state after it)."""
    return Query(
        f"SELECT {_PARENT_COLUMNS}\nFROM parent_events FINAL\n"
        "WHERE account = {account:String} AND parent_id = {pid:String}\n"
        "ORDER BY event_ts DESC, kafka_offset DESC\nLIMIT 1",
        {"account": account, "pid": parent_id},
    )


def parent_request(account: str, parent_id: str) -> Query:
    """The newest request (NEW or CANCEL) of a parent order."""
    return Query(
        "SELECT parent_id, account, algo, instrument, side, action, requested_by,\n"
        "       toUnixTimestamp64Nano(request_ts) AS ts_ns\n"
        "FROM parent_requests FINAL\n"
        "WHERE account = {account:String} AND parent_id = {pid:String}\n"
        "ORDER BY request_ts DESC, kafka_offset DESC\nLIMIT 1",
        {"account": account, "pid": parent_id},
    )


def risk_alerts(accounts: Sequence[str] | None) -> Query:
    """The newest ``TRADING_STATE`` and ``RISK_LIMITS`` alert of each account (and of
    ``*``, the global state), newest first."""
    where = _Where()
    where.add("source = 'risk'")
    where.add("code IN ('TRADING_STATE', 'RISK_LIMITS')")
    if accounts is not None:
        where.add("labels['account'] IN {accounts:Array(String)}", accounts=[*accounts, "*"])
    return Query(
        "SELECT code, labels['account'] AS account, labels['state'] AS state,\n"
        "       labels['limits'] AS limits, toUnixTimestamp64Nano(event_ts) AS ts_ns\n"
        f"FROM alerts FINAL\n{where.sql()}\n"
        "ORDER BY event_ts DESC, kafka_partition DESC, kafka_offset DESC\n"
        "LIMIT 1 BY code, account",
        where.parameters,
    )


def fills(accounts: Sequence[str] | None, r: Range, *, limit: int) -> Query:
    """Fills, newest first."""
    where = _Where()
    where.accounts(accounts)
    where.range(r, "receive_ts")
    return Query(
        "SELECT fill_id, client_order_id, account, venue, instrument, side, price, quantity,\n"
        "       fee, fee_currency, liquidity, toUnixTimestamp64Nano(venue_ts) AS venue_ts_ns,\n"
        "       toUnixTimestamp64Nano(receive_ts) AS receive_ts_ns\n"
        f"FROM fills FINAL\n{where.sql()}\n"
        "ORDER BY receive_ts DESC, fill_id\nLIMIT {limit:UInt32}",
        where.parameters | {"limit": limit},
    )


def positions(accounts: Sequence[str] | None, r: Range, *, limit: int) -> Query:
    """The latest position and PnL per (account, venue, instrument)."""
    where = _Where()
    where.accounts(accounts)
    where.range(Range(venue=r.venue, instrument=r.instrument), "update_ts")
    return Query(
        "SELECT account, venue, instrument, quantity, avg_price, realized_pnl, unrealized_pnl,\n"
        "       fees, mark_price, pnl_currency, toUnixTimestamp64Nano(update_ts) AS update_ts_ns\n"
        f"FROM positions FINAL\n{where.sql()}\n"
        "ORDER BY account, venue, instrument, update_ts DESC, kafka_topic DESC,\n"
        "         kafka_partition DESC, kafka_offset DESC\n"
        "LIMIT 1 BY account, venue, instrument\nLIMIT {limit:UInt32}",
        where.parameters | {"limit": limit},
    )


def nbbo(instrument: str) -> Query:
    """The latest NBBO of ``instrument``."""
    return Query(
        "SELECT instrument, bid_price, bid_size, bid_venue, ask_price, ask_size, ask_venue,\n"
        "       venue_count, toUnixTimestamp64Nano(process_ts) AS process_ts_ns\n"
        "FROM nbbo WHERE instrument = {instrument:String}\n"
        "ORDER BY process_ts DESC, kafka_partition DESC, kafka_offset DESC\nLIMIT 1",
        {"instrument": instrument},
    )


def bars(instrument: str, venue: str | None, interval: str, *, limit: int) -> Query:
    """The latest bars (last revision of each), newest first."""
    where = _Where()
    where.add("instrument = {instrument:String}", instrument=instrument)
    where.add("interval = {interval:String}", interval=interval)
    if venue is not None:
        where.add("venue = {venue:String}", venue=venue)
    return Query(
        "SELECT venue, instrument, interval, toUnixTimestamp64Nano(start_ts) AS start_ts_ns,\n"
        "       toUnixTimestamp64Nano(end_ts) AS end_ts_ns, open, high, low, close, volume,\n"
        "       quote_volume, vwap, trade_count\n"
        f"FROM bars\n{where.sql()}\n"
        "ORDER BY start_ts DESC, venue, revision DESC\n"
        "LIMIT 1 BY venue, start_ts\nLIMIT {limit:UInt32}",
        where.parameters | {"limit": limit},
    )


def book(instrument: str, venue: str | None, *, levels: int) -> Query:
    """The latest book of ``instrument`` per venue, top ``levels`` per side: each venue's
    newest SNAPSHOT and every DELTA after it, applied in stream order (the last update of
    a price wins; size 0 removes it), as ``docs/queries/book_depth_at.sql`` does at an
    instant. One row per level: ``venue, side ('bid'|'ask'), level, price, size``."""
    where = _Where()
    where.add("instrument = {instrument:String}", instrument=instrument)
    if venue is not None:
        where.add("venue = {venue:String}", venue=venue)
    snapshots = where.sql() + " AND kind = 'SNAPSHOT'"
    return Query(
        "SELECT venue, side, level, price, size FROM (\n"
        "    SELECT venue, side, price, size, row_number() OVER (\n"
        "        PARTITION BY venue, side ORDER BY if(side = 'bid', -price, price)) AS level\n"
        "    FROM (\n"
        "        SELECT venue, side, price, argMax(size, pos) AS size FROM (\n"
        "            SELECT b.venue AS venue,\n"
        "                   arrayJoin(arrayConcat(\n"
        "                       arrayMap((l, i) -> ('bid', l.price, l.size, i),\n"
        "                                b.bids, arrayEnumerate(b.bids)),\n"
        "                       arrayMap((l, i) -> ('ask', l.price, l.size, i),\n"
        "                                b.asks, arrayEnumerate(b.asks)))) AS u,\n"
        "                   u.1 AS side, u.2 AS price, u.3 AS size,\n"
        "                   (b.kafka_partition, b.kafka_offset, u.4) AS pos\n"
        "            FROM (SELECT * FROM book_updates FINAL "
        f"{where.sql()}) AS b\n"
        "            INNER JOIN (\n"
        "                SELECT venue, max((kafka_partition, kafka_offset)) AS snapshot_pos\n"
        f"                FROM book_updates FINAL {snapshots}\n"
        "                GROUP BY venue\n"
        "            ) AS s ON b.venue = s.venue\n"
        "            WHERE (b.kafka_partition, b.kafka_offset) >= s.snapshot_pos\n"
        "        )\n"
        "        GROUP BY venue, side, price\n"
        "        HAVING size > 0\n"
        "    )\n"
        ")\n"
        "WHERE level <= {levels:UInt16}\n"
        "ORDER BY venue, side = 'ask', level",
        where.parameters | {"levels": levels},
    )


def book_times(instrument: str, venue: str | None) -> Query:
    """Per venue: the receive time of its newest book update (the book's "as of")."""
    where = _Where()
    where.add("instrument = {instrument:String}", instrument=instrument)
    if venue is not None:
        where.add("venue = {venue:String}", venue=venue)
    return Query(
        "SELECT venue, toUnixTimestamp64Nano(max(receive_ts)) AS update_ts_ns\n"
        f"FROM book_updates\n{where.sql()}\nGROUP BY venue ORDER BY venue",
        where.parameters,
    )


def trades(instrument: str, venue: str | None, *, limit: int) -> Query:
    """The latest trades, newest first."""
    where = _Where()
    where.add("instrument = {instrument:String}", instrument=instrument)
    if venue is not None:
        where.add("venue = {venue:String}", venue=venue)
    return Query(
        "SELECT venue, instrument, trade_id, price, size, toString(side) AS side,\n"
        "       toUnixTimestamp64Nano(exchange_ts) AS exchange_ts_ns,\n"
        "       toUnixTimestamp64Nano(receive_ts) AS receive_ts_ns\n"
        f"FROM trades\n{where.sql()}\n"
        "ORDER BY exchange_ts DESC, trade_id DESC\nLIMIT {limit:UInt32}",
        where.parameters | {"limit": limit},
    )
