"""``tapewire tca``: the TCA reports stored in ClickHouse, per order and parent, and a summary.

Reads the ``tca`` table (``FINAL``: one row per order, the latest revision of a parent)
where ``tapewire sql`` would: the process serving queries for the embedded chDB
(``tapewire demo``) if there is one, else ClickHouse directly. The summary is computed
here from the exact text of the rows, as aggregates of the stored components (not means
of per-order bps), each rounded once half-even to 18 places (``docs/tca.md``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tapewire.core.exact import BPS, EXACT, ZERO, div18_exact
from tapewire.sinks.clickhouse.query import format_value
from tapewire.sinks.clickhouse.query_server import TextResult

FORMATS = ("table", "csv", "json")
COLUMNS = (
    "kind",
    "account",
    "order_id",
    "parent_id",
    "venue",
    "instrument",
    "side",
    "status",
    "revision",
    "quantity",
    "filled_qty",
    "fill_ratio",
    "avg_price",
    "notional",
    "arrival_mid",
    "arrival_source",
    "interval_vwap",
    "slippage_arrival_bps",
    "slippage_vwap_bps",
    "execution_cost",
    "fees_quote",
    "opportunity_cost",
    "shortfall_bps",
    "quote_currency",
    "fees",
    "venue_mix",
    "arrival_ts",
    "end_ts",
    "note",
)
TABLE_COLUMNS = (
    "kind",
    "order_id",
    "venue",
    "instrument",
    "side",
    "status",
    "quantity",
    "filled_qty",
    "avg_price",
    "arrival_mid",
    "slippage_arrival_bps",
    "slippage_vwap_bps",
    "shortfall_bps",
    "fees_quote",
    "venue_mix",
)
SUMMARY_COLUMNS = (
    "kind",
    "instrument",
    "reports",
    "filled_qty",
    "notional",
    "fees_quote",
    "fill_ratio",
    "slippage_arrival_bps",
    "slippage_vwap_bps",
    "shortfall_bps",
)


def tca_sql(account: str | None, from_ns: int | None, to_ns: int | None) -> str:
    """Every report of ``account`` (all when None) that arrived in ``[from_ns, to_ns)``."""
    from tapewire.cli.trading import sql_literal

    where = []
    if account:
        where.append(f"account = {sql_literal(account)}")
    if from_ns is not None:
        where.append(f"arrival_ts >= fromUnixTimestamp64Nano(toInt64({from_ns}), 'UTC')")
    if to_ns is not None:
        where.append(f"arrival_ts < fromUnixTimestamp64Nano(toInt64({to_ns}), 'UTC')")
    clause = f"WHERE {' AND '.join(where)}\n" if where else ""
    return (
        f"SELECT {', '.join(COLUMNS)}\nFROM tca FINAL\n{clause}"
        "ORDER BY arrival_ts, account, kind DESC, order_id"
    )


@dataclass
class _Group:
    reports: int = 0
    filled: Decimal = ZERO
    notional: Decimal = ZERO
    fees: Decimal = ZERO
    ratio: list[Decimal] = field(default_factory=lambda: [ZERO, ZERO])
    arrival: list[Decimal] = field(default_factory=lambda: [ZERO, ZERO])
    vwap: list[Decimal] = field(default_factory=lambda: [ZERO, ZERO])
    shortfall: list[Decimal] = field(default_factory=lambda: [ZERO, ZERO])


def _dec(text: str) -> Decimal | None:
    return None if text == "NULL" else Decimal(text)


def _ratio(pair: list[Decimal], scale: Decimal = Decimal(1)) -> str:
    return "NULL" if pair[1] == 0 else format_value(div18_exact(pair[0] * scale, pair[1]))


def summary(result: TextResult) -> list[list[str]]:
    """Per kind and instrument: reports, filled quantity, notional, fees, fill ratio
    (sum filled / sum quantity), slippage against arrival (sum execution cost / sum
    filled * arrival mid), against the interval VWAP (sum side * (notional - filled * VWAP)
    / sum filled * VWAP) and shortfall (sum cost / sum quantity * arrival mid)."""
    with localcontext(EXACT):  # sums and products exact (any rounding would raise)
        return _summary(result)


def _summary(result: TextResult) -> list[list[str]]:
    index = {name: i for i, name in enumerate(result.column_names)}
    groups: dict[tuple[str, str], _Group] = {}
    for row in result.rows:
        get = {name: row[i] for name, i in index.items()}
        g = groups.setdefault((get["kind"], get["instrument"]), _Group())
        filled, notional = Decimal(get["filled_qty"]), Decimal(get["notional"])
        quantity, arrival = _dec(get["quantity"]), _dec(get["arrival_mid"])
        vwap, cost = _dec(get["interval_vwap"]), _dec(get["execution_cost"])
        fees = Decimal(get["fees_quote"])
        g.reports += 1
        g.filled += filled
        g.notional += notional
        g.fees += fees
        if quantity is not None:
            g.ratio[0] += filled
            g.ratio[1] += quantity
        sign = 1 if get["side"] == "BUY" else -1
        if arrival is not None and cost is not None:
            if filled > 0:
                g.arrival[0] += cost
                g.arrival[1] += filled * arrival
            opportunity = _dec(get["opportunity_cost"]) or ZERO
            g.shortfall[0] += cost + fees + opportunity
            g.shortfall[1] += (quantity if quantity is not None else filled) * arrival
        if vwap is not None and filled > 0:
            g.vwap[0] += sign * (notional - filled * vwap)
            g.vwap[1] += filled * vwap
    return [
        [
            kind,
            instrument,
            str(g.reports),
            format_value(g.filled),
            format_value(g.notional),
            format_value(g.fees),
            _ratio(g.ratio),
            _ratio(g.arrival, BPS),
            _ratio(g.vwap, BPS),
            _ratio(g.shortfall, BPS),
        ]
        for (kind, instrument), g in sorted(groups.items())
    ]


def render_csv(result: TextResult) -> str:
    """The report rows as CSV (header first; NULL stays ``NULL``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.column_names)
    writer.writerows(result.rows)
    return out.getvalue()


def render_json(result: TextResult) -> str:
    """``{"reports": [...], "summary": [...]}``; numbers as exact strings, NULL as null."""

    def obj(names: Sequence[str], row: Sequence[str]) -> dict[str, str | None]:
        return {n: (None if v == "NULL" else v) for n, v in zip(names, row, strict=True)}

    return json.dumps(
        {
            "reports": [obj(result.column_names, row) for row in result.rows],
            "summary": [obj(SUMMARY_COLUMNS, row) for row in summary(result)],
        },
        indent=2,
    )


def _table(title: str, names: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    table = Table(title=title, show_lines=False)
    for name in names:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def tca_command(
    ctx: typer.Context,
    account: Annotated[
        str | None, typer.Option("--account", help="Only this account's orders.")
    ] = None,
    from_ts: Annotated[
        str | None,
        typer.Option(
            "--from", help="Arrival at or after: ISO-8601 UTC or integer ns since the epoch."
        ),
    ] = None,
    to_ts: Annotated[
        str | None, typer.Option("--to", help="Arrival before: ISO-8601 UTC or integer ns.")
    ] = None,
    output: Annotated[
        str, typer.Option("--format", help="table (default), csv (reports only) or json.")
    ] = "table",
) -> None:
    """Transaction cost analysis per order and per parent (ClickHouse ``tca``, exact):
    arrival mid, slippage against it and the interval VWAP, shortfall, fees, venue mix."""
    from tapewire.cli.trading import query
    from tapewire.core.errors import ConfigError
    from tapewire.core.settings import load_settings
    from tapewire.core.timestamps import parse_timestamp_ns

    if output not in FORMATS:
        raise ConfigError(
            f"--format {output!r} is not one of {', '.join(FORMATS)}",
            field="--format",
            value=output,
            hint="e.g. tapewire tca --format csv",
        )
    start = None if from_ts is None else parse_timestamp_ns(from_ts, field="--from")
    end = None if to_ts is None else parse_timestamp_ns(to_ts, field="--to")
    settings = load_settings(ctx.find_root().params.get("config"))
    result, source = query(settings, tca_sql(account, start, end))
    console = Console()
    if output == "csv":
        typer.echo(render_csv(result), nl=False)
        return
    if output == "json":
        typer.echo(render_json(result))
        return
    out = console if console.is_terminal else Console(width=max(console.width, 1000))
    index = [result.column_names.index(c) for c in TABLE_COLUMNS]
    rows = [[row[i] for i in index] for row in result.rows]
    out.print(_table("TCA per order and parent (bps: positive = cost)", TABLE_COLUMNS, rows))
    out.print(_table("TCA summary", SUMMARY_COLUMNS, summary(result)))
    console.print(f"{len(result.rows)} report(s), {source}", style="dim")
