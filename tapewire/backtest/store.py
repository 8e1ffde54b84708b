"""A run's results as ClickHouse rows (migrations ``0010_backtest.sql`` and
``0011_backtest_tca.sql``), tagged with its run id.

:func:`result_rows` is a pure function of the outputs (every time is the simulated clock),
so two runs over the same history give the same rows but for ``run_id``;
:func:`store_run` inserts them and the ``backtest_runs`` row (config, params, wall times,
speed). Only the parent process writes: chDB allows one process per data directory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clickhouse_connect.driver.client import Client

from tapewire.backtest.engine import Outputs
from tapewire.backtest.stats import PnlPoint
from tapewire.records.orders import Fill, OrderEvent, OrderRequest
from tapewire.records.risk import RiskDecision
from tapewire.records.tca import TcaReport
from tapewire.sinks.clickhouse.rows import MAPPINGS

Row = tuple[Any, ...]
_TCA = MAPPINGS["tca"]
"""The live sink's ``tca`` mapping: ``backtest_tca`` has its columns (no Kafka provenance)."""


def _columns(names: str) -> tuple[str, ...]:
    return tuple(names.split())


COLUMNS: dict[str, tuple[str, ...]] = {
    "backtest_runs": _columns(
        "run_id sweep_id config_hash config params from_ts to_ts replay_order interval_ns "
        "market_events events_per_s started_at finished_at summary"
    ),
    "backtest_orders": _columns(
        "run_id seq client_order_id account venue instrument action side order_type "
        "time_in_force quantity limit_price strategy_id request_ts decision rule reason "
        "reference_price decision_ts"
    ),
    "backtest_order_events": _columns(
        "run_id seq event_id client_order_id account venue instrument side status exec_type "
        "quantity cum_qty leaves_qty avg_price last_qty last_price text event_ts"
    ),
    "backtest_fills": _columns(
        "run_id seq fill_id client_order_id account venue instrument side price quantity fee "
        "fee_currency liquidity receive_ts strategy_id"
    ),
    "backtest_positions": _columns(
        "run_id ts account venue instrument quantity avg_price realized_pnl unrealized_pnl "
        "fees mark_price pnl_currency"
    ),
    "backtest_pnl": _columns(
        "run_id ts account currency realized_pnl unrealized_pnl fees total_pnl drawdown"
    ),
    "backtest_tca": ("run_id", "seq", *_TCA.columns[:-3]),
}
"""Columns of each table, in row order (``run_id`` first)."""
RESULT_TABLES = tuple(t for t in COLUMNS if t != "backtest_runs")


@dataclass(frozen=True)
class RunRow:
    """The ``backtest_runs`` row of one run (wall-clock facts included)."""

    run_id: str
    sweep_id: str
    config_hash: str
    config_json: str
    params: Mapping[str, str]
    from_ns: int
    to_ns: int
    order: str
    interval_ns: int
    market_events: int
    events_per_s: float
    started_ns: int
    finished_ns: int
    summary_json: str

    def row(self) -> Row:
        """Values in :data:`COLUMNS` order."""
        return (
            self.run_id,
            self.sweep_id,
            self.config_hash,
            self.config_json,
            dict(self.params),
            self.from_ns,
            self.to_ns,
            self.order,
            self.interval_ns,
            self.market_events,
            self.events_per_s,
            self.started_ns,
            self.finished_ns,
            self.summary_json,
        )


def _orders(outputs: Outputs) -> list[Row]:
    decisions: dict[tuple[str, str], RiskDecision] = {}
    for topic in ("oms.approved", "oms.denied"):
        for record in outputs.records[topic]:
            if isinstance(record, RiskDecision):
                decisions.setdefault((record.account, record.client_order_id), record)
    rows: list[Row] = []
    for seq, r in enumerate(outputs.records["oms.requests"]):
        if not isinstance(r, OrderRequest):
            continue
        d = decisions.get((r.account, r.client_order_id))
        rows.append(
            (
                seq,
                r.client_order_id,
                r.account,
                r.venue,
                r.instrument,
                r.action,
                r.side,
                r.order_type,
                r.time_in_force,
                r.quantity,
                r.limit_price,
                r.strategy_id,
                r.request_ts_ns,
                "NONE" if d is None else d.decision,
                None if d is None else d.rule,
                None if d is None else d.reason,
                None if d is None else d.reference_price,
                None if d is None else d.decision_ts_ns,
            )
        )
    return rows


def _events(outputs: Outputs) -> list[Row]:
    return [
        (
            seq,
            e.event_id,
            e.client_order_id,
            e.account,
            e.venue,
            e.instrument,
            e.side,
            e.status,
            e.exec_type,
            e.quantity,
            e.cum_qty,
            e.leaves_qty,
            e.avg_price,
            e.last_qty,
            e.last_price,
            e.text,
            e.event_ts_ns,
        )
        for seq, e in enumerate(outputs.records["oms.events"])
        if isinstance(e, OrderEvent)
    ]


def _fills(outputs: Outputs) -> list[Row]:
    return [
        (
            seq,
            f.fill_id,
            f.client_order_id,
            f.account,
            f.venue,
            f.instrument,
            f.side,
            f.price,
            f.quantity,
            f.fee,
            f.fee_currency,
            f.liquidity,
            f.receive_ts_ns,
            f.strategy_id,
        )
        for seq, f in enumerate(outputs.records["oms.fills"])
        if isinstance(f, Fill)
    ]


def _positions(outputs: Outputs) -> list[Row]:
    return [
        (
            sample.ts_ns,
            p.account,
            p.venue,
            p.instrument,
            p.quantity,
            p.avg_price,
            p.realized_pnl,
            p.unrealized_pnl,
            p.fees,
            p.mark_price,
            p.pnl_currency,
        )
        for sample in outputs.samples
        for p in sample.positions
    ]


def _pnl(points: Sequence[PnlPoint]) -> list[Row]:
    return [
        (p.ts_ns, p.account, p.currency, p.realized, p.unrealized, p.fees, p.total, p.drawdown)
        for p in points
    ]


def _tca(outputs: Outputs) -> list[Row]:
    return [
        (seq, *_TCA.to_values(r))
        for seq, r in enumerate(outputs.records["tca"])
        if isinstance(r, TcaReport)
    ]


def result_rows(outputs: Outputs, points: Sequence[PnlPoint]) -> dict[str, list[Row]]:
    """The rows of every result table, without ``run_id`` (pure: same outputs, same rows)."""
    return {
        "backtest_orders": _orders(outputs),
        "backtest_order_events": _events(outputs),
        "backtest_fills": _fills(outputs),
        "backtest_positions": _positions(outputs),
        "backtest_pnl": _pnl(points),
        "backtest_tca": _tca(outputs),
    }


def store_run(client: Client, run: RunRow, rows: Mapping[str, list[Row]]) -> dict[str, int]:
    """Insert the result rows (``run_id`` prepended) and the run row; returns counts."""
    counts: dict[str, int] = {}
    for table in RESULT_TABLES:
        tagged = [(run.run_id, *row) for row in rows.get(table, [])]
        if tagged:
            client.insert(table, tagged, column_names=list(COLUMNS[table]))
        counts[table] = len(tagged)
    client.insert("backtest_runs", [run.row()], column_names=list(COLUMNS["backtest_runs"]))
    return counts
