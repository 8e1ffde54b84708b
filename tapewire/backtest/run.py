"""``tapewire backtest``: load the history once, replay it per grid point (in parallel
processes for a sweep), write each report, store every run in ClickHouse.

Process model (chDB allows one process per data directory): the parent reads the market
events from ClickHouse and closes its client *before* any worker starts; the workers get
the events from the parent (forked, or pickled where fork is unavailable), replay and
write their report directories, and return their rows; the parent alone inserts them.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tapewire.backtest.engine import replay
from tapewire.backtest.history import MarketEvent, Order, check_range, load_history
from tapewire.backtest.report import RunSpec, dumps, write_report
from tapewire.backtest.stats import pnl_series
from tapewire.backtest.store import Row, RunRow, result_rows, store_run
from tapewire.backtest.sweep import GridPoint, canonical_json, config_hash, grid
from tapewire.core.errors import ConfigError
from tapewire.core.settings import Settings
from tapewire.deploy.config import config_from_document, read_document
from tapewire.sinks.clickhouse.client import connect, target_database
from tapewire.sinks.clickhouse.migrations import migrate

Log = Callable[[str], None]
SWEEP_INDEX = "sweep.json"


@dataclass(frozen=True)
class BacktestOptions:
    """Everything ``tapewire backtest`` was asked (see the command's help)."""

    config: Path
    from_ns: int
    to_ns: int
    run_id: str | None = None
    out: Path | None = None
    sweeps: tuple[str, ...] = ()
    processes: int | None = None
    interval_ns: int = 1_000_000_000
    order: Order = "exchange"
    clickhouse_url: str | None = None
    venues: tuple[str, ...] = ()
    instruments: tuple[str, ...] = ()
    store: bool = True


@dataclass(frozen=True)
class Job:
    """One grid point to replay (picklable: the config is rebuilt in the worker)."""

    run_id: str
    sweep_id: str
    point: GridPoint
    config_path: Path
    out: Path
    from_ns: int
    to_ns: int
    interval_ns: int
    order: Order


@dataclass
class JobResult:
    """What a worker sends back to the parent."""

    run_id: str
    out: Path
    summary: dict[str, Any]
    run_row: RunRow
    rows: dict[str, list[Row]]
    stored: dict[str, int] = field(default_factory=dict)


_EVENTS: Sequence[MarketEvent] = ()
"""The market events of this process (set in the parent, inherited by the workers)."""


def _install(events: Sequence[MarketEvent]) -> None:
    global _EVENTS
    _EVENTS = events


def execute(job: Job) -> JobResult:
    """Replay this process's events for ``job``; write its report; return its rows."""
    started = time.time_ns()
    config = config_from_document(job.point.document, job.config_path)
    streams = config.streams_config(f"backtest-{job.run_id}")
    outputs = replay(
        streams,
        _EVENTS,
        start_ns=job.from_ns,
        end_ns=job.to_ns,
        interval_ns=job.interval_ns,
    )
    points = pnl_series(outputs.samples)
    digest = config_hash(job.point.document)
    spec = RunSpec(digest, job.point.params, job.from_ns, job.to_ns, job.order, job.interval_ns)
    info = {
        "run_id": job.run_id,
        "sweep_id": job.sweep_id,
        "config": str(job.config_path),
        "config_hash": digest,
        "market_events": outputs.market_events,
        "replay_seconds": round(outputs.seconds, 3),
        "events_per_s": round(outputs.events_per_s, 1),
        "pid": os.getpid(),
    }
    summary = write_report(job.out, spec, outputs, points, info)
    run_row = RunRow(
        run_id=job.run_id,
        sweep_id=job.sweep_id,
        config_hash=digest,
        config_json=canonical_json(job.point.document).decode(),
        params=job.point.params,
        from_ns=job.from_ns,
        to_ns=job.to_ns,
        order=job.order,
        interval_ns=job.interval_ns,
        market_events=outputs.market_events,
        events_per_s=outputs.events_per_s,
        started_ns=started,
        finished_ns=time.time_ns(),
        summary_json=dumps(summary).decode(),
    )
    return JobResult(job.run_id, job.out, summary, run_row, result_rows(outputs, points))


def new_run_id() -> str:
    """``bt-<UTC time>-<random>``: unique, sortable (not part of any result)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return f"bt-{stamp}-{secrets.token_hex(3)}"


def _clickhouse_url(options: BacktestOptions, configured: str | None, settings: Settings) -> str:
    return options.clickhouse_url or configured or settings.resolved_clickhouse_url


def _jobs(options: BacktestOptions, points: list[GridPoint], run_id: str) -> list[Job]:
    base = options.out or Path("backtests") / run_id
    sweep = len(points) > 1 or bool(options.sweeps)
    return [
        Job(
            run_id=f"{run_id}-{p.index:03d}" if sweep else run_id,
            sweep_id=run_id if sweep else "",
            point=p,
            config_path=options.config,
            out=base / f"{run_id}-{p.index:03d}" if sweep else base,
            from_ns=options.from_ns,
            to_ns=options.to_ns,
            interval_ns=options.interval_ns,
            order=options.order,
        )
        for p in points
    ]


def _workers(options: BacktestOptions, jobs: int) -> int:
    if options.processes is not None:
        if options.processes < 1:
            raise ConfigError(
                f"--processes must be >= 1 (got {options.processes})",
                field="--processes",
                value=options.processes,
                hint="the number of worker processes of a sweep",
            )
        return min(options.processes, jobs)
    return min(jobs, os.cpu_count() or 1)


def _run_jobs(
    jobs: list[Job], events: list[MarketEvent], workers: int, log: Log
) -> list[JobResult]:
    _install(events)
    if workers <= 1:
        results = []
        for job in jobs:
            results.append(execute(job))
            log(f"run {job.run_id} done")
        return results
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_install, initargs=(events,)
    ) as pool:
        futures = [pool.submit(execute, job) for job in jobs]
        results = []
        for job, future in zip(jobs, futures, strict=True):
            results.append(future.result())
            log(f"run {job.run_id} done")
        return results


def run_backtest(
    options: BacktestOptions, settings: Settings, log: Log = lambda _line: None
) -> list[JobResult]:
    """The whole command: validate, load, replay (each grid point), report, store."""
    check_range(options.from_ns, options.to_ns)
    document = read_document(options.config)
    points = grid(document, options.sweeps)
    configs = [config_from_document(p.document, options.config) for p in points]
    for config in configs:
        config.streams_config("backtest")  # every strategy, venue and limit checked now
    url = _clickhouse_url(options, configs[0].clickhouse.url, settings)
    database = target_database(url)
    with connect(url, database=database, missing_database="create") as client:
        migrate(client, database)
        events = load_history(
            client,
            options.from_ns,
            options.to_ns,
            order=options.order,
            venues=options.venues,
            instruments=options.instruments,
        )
    if not events:
        raise ConfigError(
            "no stored market data in the range (quotes, book_updates, trades)",
            field="--from",
            value=options.from_ns,
            hint="check the range against SELECT min(receive_ts), max(receive_ts) FROM quotes "
            "(tapewire sql), and the --venue/--instrument filters",
        )
    log(f"{len(events):,} market events loaded; {len(points)} run(s)")
    run_id = options.run_id or new_run_id()
    jobs = _jobs(options, points, run_id)
    results = _run_jobs(jobs, events, _workers(options, len(jobs)), log)
    if options.store:
        with connect(url, database=database) as client:
            for result in results:
                result.stored = store_run(client, result.run_row, result.rows)
    if len(jobs) > 1 or options.sweeps:
        _write_index(jobs[0].out.parent, run_id, results)
    return results


def _write_index(folder: Path, sweep_id: str, results: Sequence[JobResult]) -> None:
    """``sweep.json``: every run's params and headline figures."""
    runs: list[Mapping[str, Any]] = [
        {
            "run_id": r.run_id,
            "params": r.summary["run"]["params"],
            "pnl": {
                c: {k: v[k] for k in ("total_pnl", "sharpe", "max_drawdown")}
                for c, v in r.summary["pnl"].items()
            },
            "fills": r.summary["trading"]["fills"],
            "report": str(r.out),
        }
        for r in results
    ]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SWEEP_INDEX).write_bytes(dumps({"sweep_id": sweep_id, "runs": runs}))
