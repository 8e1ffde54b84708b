"""The ``tapewire`` command line."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from tapewire.core.errors import TapewireError
from tapewire.core.settings import Settings, load_settings

if TYPE_CHECKING:
    from tapewire.runtime.kafka_security import Grant
    from tapewire.sinks.clickhouse.query_server import TextResult

# Click's exceptions as typer raises them (typer >= 0.2x vendors Click as
# ``typer._click``; older ones use ``click``): the classes a usage error really has.
_CLICK = typer.BadParameter.__module__.rpartition(".")[0]
_cx: Any = importlib.import_module(f"{_CLICK}.exceptions")

EXAMPLES = {
    "order new": "tapewire order new --account main --venue binance "
    "--instrument BTC-USDT-SPOT --side buy --qty 0.01 --price 65000",
    "order cancel": "tapewire order cancel --account main --client-order-id cli-0123abcd",
    "order cancel-all": "tapewire order cancel-all --account main --venue binance",
    "order status": "tapewire order status --client-order-id cli-0123abcd",
    "parent new": "tapewire parent new --account main --instrument BTC-USDT-SPOT --side buy "
    "--qty 2 --venue binance --venue okx",
    "parent cancel": "tapewire parent cancel --account main --parent-id p-0123abcd",
    "positions": "tapewire positions --account main",
    "kill-switch": "tapewire kill-switch on --account main",
    "sql": 'tapewire sql "SELECT count() FROM trades"',
    "renormalize": "tapewire renormalize --from 2021-10-12T00:28:40Z --to 2021-10-12T00:29:00Z "
    "--venue binance",
    "tca": "tapewire tca --account main --from 2026-12-01T00:00:00Z --format table",
    "demo": "tapewire demo --duration 30",
    "kafka start": "tapewire kafka start --nodes 1",
    "kafka acl": "tapewire kafka acl --config examples/compose.toml",
    "run": "tapewire run all --config examples/demo.toml",
    "backtest": "tapewire backtest --config examples/demo.toml --from 2024-01-01T00:00:00Z "
    "--to 2024-01-01T01:00:00Z",
    "normalize": "tapewire normalize capture.jsonl.gz --out normalized --format parquet",
    "import cryptofeed": "tapewire import cryptofeed BINANCE.0 BINANCE.ws.1.0 --out c.jsonl.gz",
}
"""One working command line per command, shown after a usage error."""


def _command_path(ctx: Any) -> str:
    """``tapewire order new`` (the root's name whatever the program was called)."""
    names: list[str] = []
    while ctx is not None and ctx.parent is not None:
        names.append(str(ctx.info_name or ""))
        ctx = ctx.parent
    return " ".join(["tapewire", *reversed(names)])


def _param_name(param: Any) -> str:
    if param.param_type_name == "option":
        long = [o for o in param.opts if o.startswith("--")]
        return f"option {(long or param.opts)[0]}"
    return f"argument {str(param.name or '').upper()}"


def _expected(param: Any) -> str:
    text = (getattr(param, "help", None) or "").strip().rstrip(".")
    return f" (expected: {text})" if text else ""


def _resolve(root: Any, args: Sequence[str]) -> tuple[str, Any]:
    """The command path and command that ``args`` name (for errors without a context)."""
    names, command = ["tapewire"], root
    for token in args:
        sub = getattr(command, "commands", {}).get(token)
        if sub is not None:
            names.append(token)
            command = sub
    return " ".join(names), command


def usage_error_line(exc: Any, root: Any = None, args: Sequence[str] = ()) -> str:
    """A Click usage error as one line: which option, what is expected, an example.

    ``tapewire order new: missing option --instrument (expected: Canonical instrument,
    e.g. BTC-USDT-SPOT); example: tapewire order new --account main ...``. Errors Click
    raises without a context (an option missing its value) are placed with ``root`` and
    the command line ``args``.
    """
    if exc.ctx is not None:
        path, command = _command_path(exc.ctx), exc.ctx.command
    else:
        path, command = _resolve(root, args)
    params = getattr(command, "params", ())
    param = getattr(exc, "param", None)
    if isinstance(exc, _cx.MissingParameter) and param is not None:
        what = f"missing {_param_name(param)}{_expected(param)}"
    elif isinstance(exc, _cx.BadParameter) and param is not None:
        what = f"invalid value for {_param_name(param)}: {exc.message}{_expected(param)}"
    elif isinstance(exc, _cx.NoSuchOption):
        options = sorted(
            o
            for p in params
            for o in p.opts
            if p.param_type_name == "option" and o.startswith("--")
        )
        guess = f" (did you mean {' or '.join(sorted(exc.possibilities or ()))}?)"
        known = f"; options: {', '.join(options)}" if options else ""
        what = f"no such option {exc.option_name}{guess if exc.possibilities else ''}{known}"
    elif isinstance(exc, _cx.BadOptionUsage):
        option = next((p for p in params if exc.option_name in p.opts), None)
        what = f"option {exc.option_name} needs a value{_expected(option)}"
    else:
        what = str(exc.message).rstrip(".")
    example = EXAMPLES.get(path.removeprefix("tapewire").strip())
    tail = f"; example: {example}" if example else f"; see: {path} --help"
    return f"{path}: {what}{tail}"


def _print_error(message: str) -> None:
    err_console.print(
        Text.assemble(("error:", "red"), " ", message), highlight=False, soft_wrap=True
    )


class OneLineErrors(TyperGroup):
    """The root command: a usage error (missing or invalid option, unknown command) is one
    line on stderr with exit code 2 instead of Click's usage block, and so is a
    :class:`TapewireError` raised by a command (same as :func:`main`)."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(
                args, prog_name, complete_var, standalone_mode, windows_expand_args, **extra
            )
        argv = list(sys.argv[1:] if args is None else args)
        try:
            rv = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except _cx.UsageError as exc:
            if type(exc).__name__ != "NoArgsIsHelpError":  # (that one printed the help)
                _print_error(usage_error_line(exc, self, argv))
            sys.exit(exc.exit_code)
        except _cx.ClickException as exc:
            _print_error(exc.format_message())
            sys.exit(exc.exit_code)
        except typer.Abort:
            _print_error("aborted")
            sys.exit(1)
        except TapewireError as exc:
            message = str(exc)
            path, _ = _resolve(self, argv)
            example = EXAMPLES.get(path.removeprefix("tapewire").strip())
            if getattr(exc, "option", None) and example:  # OptionError: show a good line
                message = f"{message}; example: {example}"
            _print_error(message)
            sys.exit(2)
        sys.exit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    cls=OneLineErrors,
    name="tapewire",
    help="Kafka-based streaming data platform for crypto trading.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
kafka_app = typer.Typer(help="The local Kafka broker run from jars.", no_args_is_help=True)
app.add_typer(kafka_app, name="kafka")
order_app = typer.Typer(
    help="Send orders to oms.requests (through the risk gate) and read their state.",
    no_args_is_help=True,
)
app.add_typer(order_app, name="order")


def _register_connector_commands() -> None:
    from tapewire.connectors.commands import capture_sim_command, record_command, replay_command

    app.command("record")(record_command)
    app.command("replay")(replay_command)
    app.command("capture-sim")(capture_sim_command)


def _register_offline_commands() -> None:
    from tapewire.cli.offline import import_app, normalize_command

    app.command("normalize")(normalize_command)
    app.add_typer(import_app, name="import")


_register_connector_commands()
_register_offline_commands()


def _register_renormalize_command() -> None:
    from tapewire.cli.renormalize import renormalize_command

    app.command("renormalize")(renormalize_command)


_register_renormalize_command()


def _register_parent_commands() -> None:
    from tapewire.cli.parent import parent_app

    app.add_typer(parent_app, name="parent")


_register_parent_commands()


def _register_tca_command() -> None:
    from tapewire.cli.tca import tca_command

    app.command("tca")(tca_command)


_register_tca_command()


def _register_backtest_command() -> None:
    from tapewire.cli.backtest import backtest_command

    app.command("backtest")(backtest_command)


_register_backtest_command()

console = Console()
err_console = Console(stderr=True)


class _State:
    config: Path | None = None


def _settings() -> Settings:
    return load_settings(_State.config)


@app.callback()
def _main(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="TOML config file (overrides TAPEWIRE_CONFIG)."),
    ] = None,
) -> None:
    _State.config = config


@app.command()
def doctor(
    offline: Annotated[
        bool, typer.Option("--offline", help="Only report what would be used; connect to nothing.")
    ] = False,
) -> None:
    """Report Python, Java, Maven, and which Kafka and ClickHouse Tapewire will use."""
    from tapewire.cli.doctor import run_checks

    checks = run_checks(_settings(), reach=not offline)
    failed = False
    for check in checks:
        if check.ok:
            mark = "[green]ok[/green]  "
        elif check.required:
            mark = "[red]FAIL[/red]"
            failed = True
        else:
            mark = "[yellow]warn[/yellow]"
        console.print(f"{mark} {check.name}: {check.detail}", highlight=False, soft_wrap=True)
    raise typer.Exit(1 if failed else 0)


@kafka_app.command("fetch")
def kafka_fetch() -> None:
    """Download the Kafka broker jars with Maven into the cache (outside the repo)."""
    from tapewire.runtime.kafka_jars import ensure_kafka_jars

    settings = _settings()
    libs = ensure_kafka_jars(settings.kafka_version, settings.kafka_cache_dir)
    console.print(f"Kafka {settings.kafka_version} jars in {libs}")


@kafka_app.command("start")
def kafka_start(
    nodes: Annotated[int, typer.Option(help="1 broker, or 3 for a local cluster.")] = 1,
) -> None:
    """Start the local broker in the background and wait until it answers."""
    from tapewire.runtime.kafka_local import start_local

    if nodes not in (1, 3):
        raise TapewireError(f"--nodes={nodes}: expected 1 or 3")
    status = start_local(_settings(), nodes=nodes, on_progress=console.print)
    state = "already running" if status.already_running else "running"
    console.print(f"Kafka {state} at {status.bootstrap_servers} (logs: {status.log_dir})")


@kafka_app.command("stop")
def kafka_stop() -> None:
    """Stop the local broker started by ``tapewire kafka start``."""
    from tapewire.runtime.kafka_local import stop_local

    stopped = stop_local(_settings())
    console.print("Kafka stopped" if stopped else "Kafka was not running")


@kafka_app.command("status")
def kafka_status() -> None:
    """Say whether the local broker runs, where, and where its logs are."""
    from tapewire.runtime.kafka_local import local_status

    status = local_status(_settings())
    if status.running:
        console.print(f"running at {status.bootstrap_servers}, pids {status.pids}")
        console.print(f"logs: {status.log_dir}")
    else:
        console.print("not running (start it with: tapewire kafka start)")
        raise typer.Exit(3)


@kafka_app.command("acl")
def kafka_acl(
    config: Annotated[
        Path, typer.Option("--config", help="The deployment file with [kafka.security].")
    ],
    bootstrap: Annotated[
        str | None, typer.Option(help="Kafka bootstrap servers (overrides [kafka] bootstrap).")
    ] = None,
) -> None:
    """As the admin user: set each role's SCRAM password (from its environment variable),
    create the deployment's topics, and make the role users' ACLs the role table
    (docs/deployment.md, Security)."""
    from tapewire.deploy.acl import apply_acls
    from tapewire.deploy.config import load_config
    from tapewire.deploy.run import role_bootstrap

    settings = _settings()
    deployment = load_config(config)
    servers = role_bootstrap(deployment, settings, bootstrap)
    changes = apply_acls(deployment, servers)
    for grant in changes.created:
        console.print(f"+ {_grant_text(grant)}", highlight=False)
    for grant in changes.deleted:
        console.print(f"- {_grant_text(grant)}", highlight=False)
    console.print(
        f"ACLs: {len(changes.created)} created, {len(changes.deleted)} deleted, "
        f"{changes.kept} unchanged; users: "
        + ", ".join(deployment.kafka.security.user(r) for r in deployment.roles())
    )


def _grant_text(grant: Grant) -> str:
    pattern = "prefix " if grant.prefixed else ""
    return f"{grant.principal} {grant.operation} {grant.resource} {pattern}{grant.name}"


@app.command()
def migrate() -> None:
    """Apply the ClickHouse migrations (idempotent; also done at every start)."""
    from tapewire.sinks.clickhouse.client import mask_url
    from tapewire.sinks.clickhouse.migrations import migrate_url

    url = _settings().resolved_clickhouse_url
    applied = migrate_url(url)
    names = ", ".join(m.filename for m in applied) or "none (up to date)"
    console.print(f"{mask_url(url)}: applied {names}")


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help='SQL to run, e.g. "SELECT count() FROM trades".')],
    write: Annotated[
        bool,
        typer.Option(
            "--write",
            help="Allow data changes (INSERT, ALTER, DELETE, TRUNCATE, DROP, OPTIMIZE, UNDROP); "
            "without it the statement runs read-only.",
        ),
    ] = False,
) -> None:
    """Run one SQL statement against the configured ClickHouse and print the result.

    Read-only unless ``--write`` (ClickHouse's ``readonly`` setting); host files, URLs and
    other servers are never reachable (``docs/analyst-queries.md``). While a sink role
    (``tapewire demo``, ``tapewire run sink|all``) holds the embedded chDB directory, the
    query is answered by that process (chDB allows one process per directory).
    """
    from tapewire.sinks.clickhouse.analyst_sql import SqlAccess
    from tapewire.sinks.clickhouse.query_server import find_query_server, remote_sql, render

    access = SqlAccess.WRITE if write else SqlAccess.READ
    settings = _settings()
    url = settings.resolved_clickhouse_url
    endpoint = find_query_server(settings.data_dir) if url.startswith("chdb://") else None
    if endpoint is not None:
        result = remote_sql(endpoint, query, access=access)
        source = f"answered by pid {endpoint.pid}"
    else:
        from tapewire.sinks.clickhouse.analyst_sql import run_analyst_sql
        from tapewire.sinks.clickhouse.migrations import migrate_url

        migrate_url(url)  # migrations run at every start, so tables exist on a fresh machine
        result = render(run_analyst_sql(url, query, access=access))
        source = "answered directly"
    table = Table(*result.column_names, show_lines=False)
    for row in result.rows:
        table.add_row(*row)
    console.print(table)
    console.print(f"{len(result.rows)} row(s), {source}", style="dim")


def _print_text_table(result: TextResult, source: str) -> None:
    """Exact values are never cut: cells fold on a terminal; a pipe gets full-width rows."""
    table = Table(show_lines=False)
    for name in result.column_names:
        table.add_column(name, overflow="fold")
    for row in result.rows:
        table.add_row(*row)
    out = console if console.is_terminal else Console(width=max(console.width, 1000))
    out.print(table)
    console.print(f"{len(result.rows)} row(s), {source}", style="dim")


_Account = Annotated[str, typer.Option("--account", help="Trading account.")]
_ClientOrderId = Annotated[
    str | None,
    typer.Option(
        "--client-order-id", help="Idempotency key (default: generated and printed; reuse it)."
    ),
]


@order_app.command("new")
def order_new(
    account: _Account,
    venue: Annotated[str, typer.Option("--venue", help="Venue (ccxt id), e.g. binance.")],
    instrument: Annotated[
        str, typer.Option("--instrument", help="Canonical instrument, e.g. BTC-USDT-SPOT.")
    ],
    side: Annotated[str, typer.Option("--side", help="buy or sell.")],
    qty: Annotated[str, typer.Option("--qty", help="Quantity in base units (exact decimal).")],
    order_type: Annotated[
        str, typer.Option("--type", help="market, limit, stop, stop-limit or trailing.")
    ] = "limit",
    price: Annotated[
        str | None, typer.Option("--price", help="Limit price (limit, stop-limit).")
    ] = None,
    stop_price: Annotated[
        str | None, typer.Option("--stop-price", help="Trigger price (stop, stop-limit).")
    ] = None,
    trailing_offset: Annotated[
        str | None,
        typer.Option("--trailing-offset", help="Trailing distance (trailing), see --offset-type."),
    ] = None,
    offset_type: Annotated[
        str | None,
        typer.Option("--offset-type", help="Unit of --trailing-offset: price or bps."),
    ] = None,
    tif: Annotated[str, typer.Option("--tif", help="GTC, IOC, FOK, DAY or GTD.")] = "GTC",
    expire: Annotated[
        str | None,
        typer.Option(
            "--expire", help="GTD expiry: 2026-12-04T18:00:00Z, +30m/+2h/+1d, or ns since epoch."
        ),
    ] = None,
    client_order_id: _ClientOrderId = None,
    post_only: Annotated[bool, typer.Option("--post-only", help="Maker only.")] = False,
    reduce_only: Annotated[bool, typer.Option("--reduce-only", help="Only reduce.")] = False,
) -> None:
    """Send a NEW order request to oms.requests (the risk gate approves or denies it)."""
    from tapewire.cli.trading import new_order_request, publish

    request = new_order_request(
        account=account,
        venue=venue,
        instrument=instrument,
        side=side,
        order_type=order_type,
        quantity=qty,
        price=price,
        stop_price=stop_price,
        trailing_offset=trailing_offset,
        offset_type=offset_type,
        expire=expire,
        tif=tif,
        client_order_id=client_order_id,
        post_only=post_only,
        reduce_only=reduce_only,
    )
    console.print(publish(_settings(), request).line(), highlight=False, soft_wrap=True)


@order_app.command("cancel")
def order_cancel(
    account: _Account,
    client_order_id: Annotated[
        str, typer.Option("--client-order-id", help="Client order id of the order to cancel.")
    ],
    venue: Annotated[
        str | None, typer.Option("--venue", help="Default: the order's, from ClickHouse.")
    ] = None,
    instrument: Annotated[
        str | None, typer.Option("--instrument", help="Default: the order's, from ClickHouse.")
    ] = None,
) -> None:
    """Send a CANCEL of one order (by its client order id) to oms.requests."""
    from tapewire.cli.trading import cancel_request, order_location, publish

    settings = _settings()
    if venue is None or instrument is None:
        found = order_location(settings, client_order_id, account)
        if found is None:
            raise TapewireError(
                f"--client-order-id={client_order_id!r}: no such order of account {account!r} "
                "in ClickHouse to take its venue and instrument from",
                hint="pass --venue and --instrument",
            )
        venue, instrument = venue or found[0], instrument or found[1]
    request = cancel_request(
        account=account, orig_client_order_id=client_order_id, venue=venue, instrument=instrument
    )
    console.print(publish(settings, request).line(), highlight=False, soft_wrap=True)


@order_app.command("cancel-all")
def order_cancel_all(
    account: _Account,
    venue: Annotated[str, typer.Option("--venue", help="Only this venue (default: all).")] = "",
    instrument: Annotated[
        str, typer.Option("--instrument", help="Only this instrument (default: all).")
    ] = "",
) -> None:
    """Send a CANCEL_ALL for an account (every venue unless --venue) to oms.requests."""
    from tapewire.cli.trading import cancel_all_request, publish

    request = cancel_all_request(account=account, venue=venue, instrument=instrument)
    console.print(publish(_settings(), request).line(), highlight=False, soft_wrap=True)


@order_app.command("status")
def order_status(
    client_order_id: Annotated[str, typer.Option("--client-order-id", help="The order's id.")],
    account: Annotated[
        str | None, typer.Option("--account", help="Only this account's order.")
    ] = None,
) -> None:
    """Latest state of an order from ClickHouse: venue event, else risk decision, else request."""
    from tapewire.cli.trading import order_status as read_status

    result, source = read_status(_settings(), client_order_id, account)
    _print_text_table(result, source)


@app.command()
def positions(
    account: Annotated[str | None, typer.Option("--account", help="Only this account.")] = None,
) -> None:
    """Latest position and PnL per account, venue and instrument (ClickHouse, exact)."""
    from tapewire.cli.trading import positions_sql, query

    result, source = query(_settings(), positions_sql(account))
    _print_text_table(result, source)


@app.command("kill-switch")
def kill_switch(
    state: Annotated[str, typer.Argument(help="on = HALTED + cancel all; off = ACTIVE.")],
    account: Annotated[
        str, typer.Option("--account", help="One account, or * for every account.")
    ] = "*",
) -> None:
    """Halt trading and cancel every open order (on), or resume trading (off)."""
    from tapewire.cli.trading import kill_switch_request, publish

    request = kill_switch_request(state, account=account)
    console.print(publish(_settings(), request).line(), highlight=False, soft_wrap=True)


@app.command()
def demo(
    duration: Annotated[
        float | None, typer.Option(min=1, help="Stop after this many seconds (default: Ctrl-C).")
    ] = None,
    rate: Annotated[int, typer.Option(min=1, help="Simulated frames per second.")] = 2_000,
    seed: Annotated[int, typer.Option(help="Simulator seed (same seed, same market).")] = 7,
    frames: Annotated[
        int | None, typer.Option(min=1, help="Stop the simulator after this many frames.")
    ] = None,
    topology: Annotated[
        str,
        typer.Option(
            help="fused: the normalize role on the hot-path shell; agents: normalize as "
            "Faust agents (aggregate: Faust agents, trade: the hot path, in both)."
        ),
    ] = "fused",
) -> None:
    """Run the pipeline on embedded defaults: ``tapewire run all`` over examples/demo.toml
    (one process per role) with the simulator feeding md.raw → stream processors (market
    data and the example strategy trading on paper venues through the risk gate) →
    ClickHouse, with live progress. ``tapewire sql`` answers from another terminal meanwhile
    (the sink process holds the embedded ClickHouse and serves the queries)."""
    from tapewire.cli.demo import DemoOptions, run_demo

    report = run_demo(
        _settings(),
        DemoOptions(
            duration_s=duration, rate=rate, seed=seed, max_frames=frames, topology=topology
        ),
        console=console,
    )
    console.print(
        f"[green]demo done[/green]: {report.frames_published:,} frames published; rows stored: "
        + ", ".join(f"{table} {count:,}" for table, count in report.rows.items())
        + f"; coverage gaps {report.gaps}; sql queries answered {report.queries_answered}"
        + (f" (by the sink, pid {report.sink_pid})" if report.sink_pid else "")
        + f"; role logs in {report.log_dir}"
    )
    restarted = {name: n for name, n in report.restarts.items() if n}
    if restarted:
        console.print(f"[yellow]role restarts[/yellow]: {restarted}")
    from tapewire.sinks.clickhouse.query import format_value

    pnl = "-" if report.pnl is None else format_value(report.pnl)
    console.print(
        "trading: "
        + ", ".join(f"{name} {count:,}" for name, count in report.trading.items())
        + f"; PnL {pnl} (tapewire positions, tapewire order status)"
    )


@app.command()
def run(
    role: Annotated[
        str,
        typer.Argument(
            help="connector, normalize, aggregate, trade, router, sink, api, notifier, or all."
        ),
    ],
    config: Annotated[
        Path, typer.Option("--config", help="The deployment file (see examples/demo.toml).")
    ],
    bootstrap: Annotated[
        str | None, typer.Option(help="Kafka bootstrap servers (overrides [kafka] bootstrap).")
    ] = None,
    duration: Annotated[
        float | None, typer.Option(min=1, help="Stop after this many seconds (default: signal).")
    ] = None,
    replica: Annotated[
        int,
        typer.Option(
            hidden=True, min=0, help="Which process of the role (set by run all; its port)."
        ),
    ] = 0,
    log_dir: Annotated[
        Path | None, typer.Option(help="run all: each role's output to <dir>/<role>.log.")
    ] = None,
    shard: Annotated[
        str | None,
        typer.Option(help="trade: the [[trading.shards]] entry this process runs (its name)."),
    ] = None,
    venue: Annotated[
        str | None,
        typer.Option(
            help="router: the [trading.ccxt.<venue>] this process runs (default: the first)."
        ),
    ] = None,
) -> None:
    """Run one role of a deployment (or all of them, one supervised process each) from a
    TOML deployment file; SIGTERM or Ctrl-C stops it cleanly. See docs/deployment.md."""
    from tapewire.deploy.run import run_all, run_one

    if role == "all":
        run_all(config, _settings(), duration_s=duration, console=console, log_dir=log_dir)
    else:
        run_one(
            role,
            config,
            _settings(),
            bootstrap=bootstrap,
            duration_s=duration,
            replica=replica,
            shard=shard,
            venue=venue,
        )


api_app = typer.Typer(help="The HTTP/WebSocket API (docs/api.md).", no_args_is_help=True)
app.add_typer(api_app, name="api")


@api_app.command("hash-password")
def api_hash_password() -> None:
    """Prompt for a password (twice) and print its argon2id hash for the API users file."""
    from tapewire.api.users import hash_password

    password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    if len(password) < 12:
        raise typer.BadParameter("use at least 12 characters", param_hint="password")
    console.print(hash_password(password), markup=False, highlight=False)


@app.command()
def smoke(
    count: Annotated[int, typer.Option(min=1, help="Trades to send round trip.")] = 100,
) -> None:
    """Round trip: Avro trades → Kafka → consumer → ClickHouse → read back and compare."""
    from tapewire.cli.smoke import run_smoke

    report = run_smoke(_settings(), count=count, log=console.print)
    console.print(f"[green]smoke ok[/green]: {report}")


def main() -> None:
    """Console-script entry point: prints Tapewire errors and usage errors as one clear
    line, exit code 2 (:class:`OneLineErrors`)."""
    try:
        app()
    except TapewireError as exc:  # raised outside a command (e.g. while building the app)
        _print_error(str(exc))
        sys.exit(2)


if __name__ == "__main__":
    main()
