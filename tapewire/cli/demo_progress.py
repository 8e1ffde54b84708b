"""What ``tapewire demo`` shows while it runs: topic offsets, the sink's lag, and the
stored rows, orders and PnL.

chDB is one engine per process and one process per data directory: on chDB the sink role
holds the database, so every count here is a query it answers (``Sql`` is then
:func:`remote_sql` on its endpoint); a ClickHouse server is queried directly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from confluent_kafka import Consumer, ConsumerGroupState, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
from rich.table import Table

from tapewire.core.kafka import client_config
from tapewire.sinks.clickhouse.query import format_value
from tapewire.sinks.clickhouse.query_server import TextResult

STORED_TABLES = ("raw_frames", "trades", "book_updates", "quotes", "bars", "nbbo", "coverage")
TRADING_COUNTS = ("orders requested", "orders approved", "orders denied", "fills")
Sql = Callable[[str], TextResult]
"""Runs one statement where the database is (exact text values)."""
RoleStatus = tuple[str, str, int | None, int, float]
"""(name, state, pid, restarts, uptime in seconds), as :meth:`Supervisor.status` gives."""


class Offsets:
    """End offsets per topic and a consumer group's committed offsets (the sink's lag)."""

    def __init__(self, bootstrap: str, topics: Sequence[str], group: str) -> None:
        admin = AdminClient(client_config(bootstrap))
        metadata = admin.list_topics(timeout=10).topics
        self._partitions = {t: len(metadata[t].partitions) if t in metadata else 0 for t in topics}
        self._consumer = Consumer(client_config(bootstrap) | {"group.id": group})
        self._topics = tuple(topics)
        self._bootstrap = bootstrap

    def ends(self) -> dict[str, int]:
        """Messages per topic so far (the sum of its partitions' end offsets)."""
        totals: dict[str, int] = {}
        for topic in self._topics:
            total = 0
            for partition in range(self._partitions[topic]):
                _, high = self._consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=2, cached=False
                )
                total += max(high, 0)
            totals[topic] = total
        return totals

    def lag(self, ends: dict[str, int], topics: Sequence[str]) -> int:
        """Messages of ``topics`` the group has not committed yet."""
        parts = [TopicPartition(t, p) for t in topics for p in range(self._partitions.get(t, 0))]
        committed = self._consumer.committed(parts, timeout=5)
        done = sum(max(tp.offset, 0) for tp in committed)
        return max(0, sum(ends.get(t, 0) for t in topics) - done)

    def groups_ready(self, groups: Sequence[str]) -> bool:
        """Every one of ``groups`` is a stable consumer group with members."""
        admin = AdminClient(client_config(self._bootstrap))
        futures = admin.describe_consumer_groups(list(groups), request_timeout=5)
        try:
            described = [f.result(timeout=10) for f in futures.values()]
        except KafkaException:
            return False
        return all(g.members and g.state == ConsumerGroupState.STABLE for g in described)

    def close(self) -> None:
        """Close the consumer (it never joined the group)."""
        self._consumer.close()


def count_rows(sql_of: Sql) -> tuple[dict[str, int], int]:
    """Rows per stored table, and the coverage gaps."""
    sql = ", ".join(f"(SELECT count() FROM {table})" for table in STORED_TABLES)
    gaps_sql = "(SELECT count() FROM coverage WHERE event = 'GAP')"
    result = sql_of(f"SELECT {sql}, {gaps_sql}")
    *rows, gaps = (int(v) for v in result.rows[0])
    return dict(zip(STORED_TABLES, rows, strict=True)), gaps


def trading_totals(sql_of: Sql) -> tuple[dict[str, int], Decimal | None]:
    """Orders and fills stored, and the PnL of the latest positions (exact)."""
    counts = sql_of(
        "SELECT (SELECT count() FROM order_requests FINAL),"
        " (SELECT countIf(decision = 'APPROVED') FROM risk_decisions FINAL),"
        " (SELECT countIf(decision = 'DENIED') FROM risk_decisions FINAL),"
        " (SELECT count() FROM fills FINAL)",
    )
    totals = dict(zip(TRADING_COUNTS, (int(v) for v in counts.rows[0]), strict=True))
    pnl = sql_of(
        "SELECT count(), sum(realized_pnl + unrealized_pnl - fees) FROM ("
        " SELECT realized_pnl, unrealized_pnl, fees FROM positions FINAL"
        " ORDER BY account, venue, instrument, update_ts DESC, kafka_topic DESC,"
        " kafka_partition DESC, kafka_offset DESC LIMIT 1 BY account, venue, instrument)",
    )
    n, total = pnl.rows[0]
    return totals, (Decimal(total) if int(n) else None)


def progress_table(
    elapsed: float,
    frames: int,
    ends: dict[str, int],
    rates: dict[str, float],
    lag: int,
    rows: dict[str, int],
    gaps: int,
    trading: dict[str, int],
    pnl: Decimal | None,
    roles: Sequence[RoleStatus],
) -> Table:
    """The live table: messages and rates per topic, the sink's lag, stored rows, trading,
    and each role process (state, pid, restarts)."""
    table = Table(title=f"Tapewire demo: {elapsed:,.0f} s", expand=False)
    table.add_column("stage / topic")
    table.add_column("messages", justify="right")
    table.add_column("per second", justify="right")
    table.add_row("simulator → md.raw (this run)", f"{frames:,}", "")
    for topic, count in ends.items():
        if count or topic.startswith("md."):
            table.add_row(topic, f"{count:,}", f"{rates.get(topic, 0.0):,.0f}")
    table.add_row("sink consumer lag", f"{lag:,}", "")
    for name, count in rows.items():
        table.add_row(f"ClickHouse {name}", f"{count:,}", "")
    table.add_row("coverage gaps", f"{gaps:,}", "")
    for name, count in trading.items():
        table.add_row(name, f"{count:,}", "")
    pnl_text = "-" if pnl is None else format_value(pnl)
    table.add_row("PnL (realized + unrealized - fees)", pnl_text, "")
    for name, state, pid, restarts, up in roles:
        detail = f"pid {pid}, up {up:,.0f} s" if pid is not None else state
        table.add_row(f"role {name}", state, detail + (f", {restarts} restart(s)" * bool(restarts)))
    return table
