"""``tapewire normalize`` and ``tapewire import``: offline runs over files, no Kafka."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

console = Console()
err_console = Console(stderr=True)
import_app = typer.Typer(
    help="Convert other recorders' raw captures into Tapewire capture files.",
    no_args_is_help=True,
)


class OutputFormat(StrEnum):
    """File format of ``tapewire normalize`` outputs."""

    JSONL = "jsonl"
    PARQUET = "parquet"


def normalize_command(
    captures: Annotated[
        list[Path],
        typer.Argument(help="Capture files (.jsonl.gz) or frame files (.jsonl), in order."),
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the topic files and summary.json.")
    ] = Path("normalized"),
    fmt: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="jsonl or parquet.")
    ] = OutputFormat.JSONL,
    venue: Annotated[
        str | None,
        typer.Option("--venue", help="Venue of frame files (default: their folder's name)."),
    ] = None,
) -> None:
    """Normalize capture files offline (no Kafka): one file per output topic plus a summary
    per venue and channel (docs/offline.md)."""
    from tapewire.offline import FrameSource, normalize_files

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[frames]:,} frames"),
        TimeElapsedColumn(),
        console=err_console,
        disable=not err_console.is_terminal,  # no bar in a pipe or a log
    ) as bar:
        tasks: dict[Path, TaskID] = {}

        def on_source(source: FrameSource) -> None:
            tasks[source.path] = bar.add_task(source.path.name, total=source.size, frames=0)

        def progress(source: FrameSource, done: int, frames: int) -> None:
            bar.update(tasks[source.path], completed=done, frames=frames)

        summary = normalize_files(
            captures,
            out,
            fmt=fmt.value,
            venue=venue,
            progress=progress,
            on_source=on_source,
        )
    print_summary(summary, out)


def _topic_cells(records: dict[str, int]) -> list[str]:
    return [f"{records[t]:,}" for t in ("md.trades", "md.book", "md.quotes", "md.coverage")]


def print_summary(summary: dict[str, Any], out: Path) -> None:
    """The summary as tables: records per venue and channel, books, dead letters. Exact
    values are never cut: cells fold on a terminal; a pipe gets full-width rows."""
    screen = console if console.is_terminal else Console(width=max(console.width, 1000))
    table = Table(title="records per venue and channel")
    for name in ("venue", "channel", "frames", "trades", "book", "quotes", "coverage", "dlq"):
        right = name not in ("venue", "channel")
        table.add_column(name, justify="right" if right else "left", overflow="fold")
    for venue, data in summary["venues"].items():
        for channel, counts in data["channels"].items():
            records = counts["records"]
            dlq = f"{records['dlq.normalize']:,}"
            table.add_row(venue, channel, f"{counts['frames']:,}", *_topic_cells(records), dlq)
        records = data["records"]
        total = [f"{data['frames']:,}", *_topic_cells(records), f"{records['dlq.normalize']:,}"]
        table.add_row(venue, "[bold]all[/bold]", *total, end_section=True)
    screen.print(table)
    books = Table(title="books (final state)")
    for name in ("venue", "instrument", "state", "snapshots", "deltas", "levels", "bid", "ask"):
        books.add_column(name, overflow="fold")
    letters: list[str] = []
    for venue, data in summary["venues"].items():
        for inst, book in data["books"].items():
            levels = f"{book['bid_levels']}/{book['ask_levels']}"
            books.add_row(
                venue,
                inst,
                str(book["state"]),
                str(book["snapshots"]),
                str(book["deltas"]),
                levels,
                book["best_bid"] or "-",
                book["best_ask"] or "-",
            )
        for error_type, count in data["dead_letters"].items():
            letters.append(f"{venue} {error_type} {count:,}")
        for event, count in data["coverage"]["counts"].items():
            letters.append(f"{venue} coverage {event} {count:,}")
    if books.row_count:
        screen.print(books)
    if letters:
        console.print("dead letters and coverage events: " + "; ".join(letters), highlight=False)
    counts = ", ".join(f"{topic} {n:,}" for topic, n in summary["records"].items())
    console.print(
        f"{summary['frames']:,} frames -> {counts} ({summary['format']} in {out}; "
        f"summary: {out / 'summary.json'})",
        highlight=False,
        soft_wrap=True,
    )


@import_app.command("cryptofeed")
def import_cryptofeed_command(
    files: Annotated[
        list[Path],
        typer.Argument(help="cryptofeed raw-data files (BINANCE.0, BINANCE.ws.1.0, ...)."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Capture file to write (.jsonl.gz).")],
    venue: Annotated[
        str | None,
        typer.Option("--venue", help="ccxt id for every file (default: from the feed name)."),
    ] = None,
) -> None:
    """Convert cryptofeed raw data collection (AsyncFileCallback) files into one capture."""
    from tapewire.connectors.capture.importers import import_cryptofeed

    stats = import_cryptofeed(files, out, venue=venue)
    venues = ", ".join(f"{v} {n:,}" for v, n in sorted(stats.venues.items()))
    transports = ", ".join(f"{t} {n:,}" for t, n in sorted(stats.transports.items()))
    skipped = ", ".join(f"{k} {n:,}" for k, n in sorted(stats.skipped.items())) or "none"
    console.print(
        f"{stats.frames:,} frames from {stats.files} file(s) -> {out} ({venues}; "
        f"{transports}); lines not imported: {skipped}",
        highlight=False,
        soft_wrap=True,
    )
