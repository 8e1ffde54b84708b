"""``tapewire backtest``: replay stored history through the live trading stages
(:mod:`tapewire.backtest`, ``docs/backtest.md``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def _interval_ns(text: str) -> int:
    from tapewire.core.errors import ConfigError
    from tapewire.streams.aggregate.bars import Interval

    try:
        return Interval.parse(text).ns
    except ValueError:
        raise ConfigError(
            f"--interval {text!r} is not <n><ms|s|m|h|d>",
            field="--interval",
            value=text,
            hint="e.g. --interval 1s (the PnL sampling step; Sharpe is annualised from it)",
        ) from None


def backtest_command(
    ctx: typer.Context,
    config: Annotated[
        Path,
        typer.Option(
            "--config", help="The deployment file (its trading section: strategies, risk, venues)."
        ),
    ],
    from_ts: Annotated[
        str,
        typer.Option("--from", help="Range start, inclusive: ISO-8601 UTC or integer ns."),
    ],
    to_ts: Annotated[
        str, typer.Option("--to", help="Range end, exclusive: ISO-8601 UTC or integer ns.")
    ],
    run_id: Annotated[
        str | None,
        typer.Option("--run-id", help="Run id (a sweep appends -000, -001...); default: new."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Report directory (default: backtests/<run id>)."),
    ] = None,
    sweep: Annotated[
        list[str] | None,
        typer.Option(
            "--sweep",
            help="key=v1,v2: one run per value (repeat for a grid); a bare key is a param "
            "of the only strategy, else a dotted path (trading.paper.okx.taker_bps).",
        ),
    ] = None,
    processes: Annotated[
        int | None,
        typer.Option("--processes", min=1, help="Worker processes of a sweep (default: cores)."),
    ] = None,
    interval: Annotated[
        str, typer.Option("--interval", help="PnL sampling step (1s, 500ms, 1m).")
    ] = "1s",
    order: Annotated[
        str,
        typer.Option(
            "--order", help="exchange: exchange time (receive time if none); receive: arrival."
        ),
    ] = "exchange",
    clickhouse: Annotated[
        str | None,
        typer.Option(
            "--clickhouse", help="ClickHouse URL (default: [clickhouse] url, else settings)."
        ),
    ] = None,
    venue: Annotated[
        list[str] | None, typer.Option("--venue", help="Replay only this venue (repeatable).")
    ] = None,
    instrument: Annotated[
        list[str] | None,
        typer.Option("--instrument", help="Replay only this instrument (repeatable)."),
    ] = None,
    store: Annotated[
        bool, typer.Option("--store/--no-store", help="Write the results to ClickHouse.")
    ] = True,
) -> None:
    """Replay stored market history (quotes, books, trades) through the strategy, risk gate,
    paper venues and positions that run live, on a simulated clock: a report (JSON, CSV,
    PNG, HTML) per run and the results in ClickHouse tagged with the run id."""
    from tapewire.backtest import BacktestOptions, run_backtest
    from tapewire.backtest.history import check_order
    from tapewire.core.settings import load_settings
    from tapewire.core.timestamps import parse_timestamp_ns

    options = BacktestOptions(
        config=config,
        from_ns=parse_timestamp_ns(from_ts, field="--from"),
        to_ns=parse_timestamp_ns(to_ts, field="--to"),
        run_id=run_id,
        out=out,
        sweeps=tuple(sweep or ()),
        processes=processes,
        interval_ns=_interval_ns(interval),
        order=check_order(order),
        clickhouse_url=clickhouse,
        venues=tuple(venue or ()),
        instruments=tuple(instrument or ()),
        store=store,
    )
    settings = load_settings(ctx.find_root().params.get("config"))
    results = run_backtest(options, settings, log=lambda line: err_console.print(line))
    table = Table(title="backtest")
    for name in ("run", "events/s", "fills", "fill ratio", "PnL", "Sharpe", "max DD", "report"):
        table.add_column(name, overflow="fold")
    for result in results:
        pnl = result.summary["pnl"]
        trading = result.summary["trading"]

        def cell(key: str, figures: dict[str, dict[str, object]] = pnl) -> str:
            return ", ".join(f"{v[key]} {c}" for c, v in figures.items()) or "-"

        table.add_row(
            result.run_id,
            f"{result.run_row.events_per_s:,.0f}",
            str(trading["fills"]),
            str(trading["fill_ratio"] or "-"),
            cell("total_pnl"),
            ", ".join(str(v["sharpe"]) for v in pnl.values()) or "-",
            cell("max_drawdown"),
            str(result.out),
        )
    console.print(table)
    stored = sum(sum(r.stored.values()) for r in results)
    console.print(
        f"{results[0].run_row.market_events:,} market events per run; "
        + (f"{stored:,} result rows stored" if store else "results not stored (--no-store)"),
        highlight=False,
    )
