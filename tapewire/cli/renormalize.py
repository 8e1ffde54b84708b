"""``tapewire renormalize``: rewrite a stored range of the md tables from ``raw_frames``
through the current normalizer (:mod:`tapewire.sinks.clickhouse.renormalize`)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def renormalize_command(
    ctx: typer.Context,
    from_ts: Annotated[
        str,
        typer.Option(
            "--from", help="Range start, inclusive: ISO-8601 UTC or integer ns since the epoch."
        ),
    ],
    to_ts: Annotated[
        str,
        typer.Option("--to", help="Range end, exclusive: ISO-8601 UTC or integer ns."),
    ],
    venue: Annotated[
        str | None,
        typer.Option("--venue", help="Only this venue (ccxt id); default: every venue stored."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Normalize and count, change nothing."),
    ] = False,
) -> None:
    """Re-normalize stored raw frames of a time range and replace what the earlier
    normalizer wrote for it (trades, book updates, quotes, coverage, dead letters).

    Idempotent: running it again leaves one copy of each row; an interrupted run is
    completed by running it again. Rows carry the normalizer version.
    """
    from tapewire.core.settings import load_settings
    from tapewire.core.timestamps import format_ns, parse_timestamp_ns
    from tapewire.sinks.clickhouse.client import connect, mask_url, target_database
    from tapewire.sinks.clickhouse.renormalize import renormalize

    start = parse_timestamp_ns(from_ts, field="--from")
    end = parse_timestamp_ns(to_ts, field="--to")
    config = ctx.find_root().params.get("config")  # the root's --config
    url = load_settings(config).resolved_clickhouse_url
    bar = Progress(
        TextColumn("renormalize"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("frames"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    task = bar.add_task("frames", total=None)

    def progress(done: int, total: int) -> None:
        bar.start()  # on the first call only (idempotent): errors before it print alone
        bar.update(task, completed=done, total=total)

    try:
        with connect(url, database=target_database(url)) as client:
            report = renormalize(
                client, start, end, venue=venue, dry_run=dry_run, on_progress=progress
            )
    finally:
        bar.stop()
    what = "would replace" if dry_run else "replaced"
    table = Table("table", "rows before", "rows after" if not dry_run else "rows it would write")
    for name, old in report.old_rows.items():
        table.add_row(name, str(old), str(report.new_rows[name]))
    console.print(
        f"{mask_url(url)}: {what} [{format_ns(start)}, {format_ns(end)}) of "
        f"{', '.join(report.venues)} with normalizer version {report.normalizer_version} "
        f"({report.frames_in_range} frames in range, {report.frames} processed with warm-up "
        "and tail)",
        highlight=False,
        soft_wrap=True,
    )
    console.print(table)
    if report.unsettled_books:
        console.print(
            "note: no update after the range for "
            + ", ".join(report.unsettled_books)
            + ": a gap found later that starts in the range is not written; re-run with a "
            "later --to once those frames are stored",
            style="yellow",
            highlight=False,
            soft_wrap=True,
        )
