"""``tapewire run <role>|all --config FILE``: start one role, or supervise all of them."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.table import Table

from tapewire.core.errors import ConfigError
from tapewire.core.settings import Settings
from tapewire.deploy.config import DeployConfig, load_config
from tapewire.deploy.roles import RUNNERS, run_role
from tapewire.deploy.supervisor import Supervisor
from tapewire.runtime.kafka_local import local_status
from tapewire.runtime.kafka_resolve import kafka_for


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stop`` (restored on exit; main thread only)."""
    handler = lambda _signum, _frame: stop.set()  # noqa: E731
    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def role_bootstrap(config: DeployConfig, settings: Settings, bootstrap: str | None) -> str:
    """Kafka for one role: ``--bootstrap``, ``[kafka] bootstrap``, ``KAFKA_BOOTSTRAP_SERVERS``
    or a local broker started with ``tapewire kafka start``. A role never starts a broker
    of its own (it would die with the role)."""
    servers = bootstrap or config.kafka.bootstrap or settings.kafka_bootstrap_servers
    if servers:
        return servers
    status = local_status(settings)
    if status.running and status.bootstrap_servers:
        return status.bootstrap_servers
    raise ConfigError(
        "no Kafka for this role",
        field="kafka.bootstrap",
        hint="set [kafka] bootstrap in the config, pass --bootstrap, or start the local "
        "broker first (tapewire kafka start); tapewire run all starts one itself",
    )


def run_one(
    role: str,
    config_path: Path,
    settings: Settings,
    *,
    bootstrap: str | None = None,
    duration_s: float | None = None,
    replica: int = 0,
    shard: str | None = None,
    venue: str | None = None,
) -> None:
    """Run ``role`` until SIGTERM, Ctrl-C or ``duration_s``; ``shard`` names the
    ``[[trading.shards]]`` entry a trade process runs, ``venue`` the ``[trading.ccxt]``
    venue a router process runs (else ``replica`` is its index)."""
    if role not in RUNNERS:
        raise ConfigError(
            f"unknown role {role!r}",
            field="role",
            value=role,
            hint=f"choose one of {', '.join(RUNNERS)} or all",
        )
    config = load_config(config_path)
    if shard is not None:
        replica = shard_index(config, role, shard)
    if venue is not None:
        replica = venue_index(config, role, venue)
    servers = role_bootstrap(config, settings, bootstrap)
    if not logging.getLogger().handlers:  # a role's log is its output (run all: <role>.log)
        logging.basicConfig(
            level=logging.INFO, format=f"%(asctime)s {role} %(levelname)s %(name)s: %(message)s"
        )
    stop = threading.Event()
    timer = threading.Timer(duration_s, stop.set) if duration_s is not None else None
    if timer is not None:
        timer.daemon = True  # a signal may stop the role first: never wait for the timer
        timer.start()
    try:
        with _stop_on_signals(stop):
            run_role(role, config, settings, servers, stop, replica=replica)
    finally:
        if timer is not None:
            timer.cancel()


def shard_index(config: DeployConfig, role: str, shard: str) -> int:
    """The index of the shard named ``shard``; :class:`ConfigError` if there is none."""
    names = [s.name for s in config.trading.shards] if config.trading is not None else []
    if role != "trade" or shard not in names:
        raise ConfigError(
            f"--shard {shard}: no such [[trading.shards]] entry for role {role}",
            field="--shard",
            value=shard,
            hint=f"choose one of {names} with role trade" if names else "the config has no shards",
        )
    return names.index(shard)


def venue_index(config: DeployConfig, role: str, venue: str) -> int:
    """The index of live venue ``venue``; :class:`ConfigError` if there is none."""
    names = list(config.trading.ccxt_venues()) if config.trading is not None else []
    if role != "router" or venue not in names:
        raise ConfigError(
            f"--venue {venue}: no such [trading.ccxt.{venue}] for role {role}",
            field="--venue",
            value=venue,
            hint=f"choose one of {names} with role router"
            if names
            else "the config has no [trading.ccxt.<venue>]",
        )
    return names.index(venue)


def _table(supervisor: Supervisor, started: float) -> Table:
    table = Table(title=f"tapewire run all: {time.monotonic() - started:,.0f} s")
    for column in ("role", "state", "pid", "restarts", "up (s)"):
        table.add_column(column)
    for role, state, pid, restarts, up in supervisor.status():
        table.add_row(role, state, str(pid or "-"), str(restarts), f"{up:,.0f}")
    return table


def run_all(
    config_path: Path,
    settings: Settings,
    *,
    duration_s: float | None = None,
    console: Console | None = None,
    log_dir: Path | None = None,
) -> Supervisor:
    """Every configured role as a child process until SIGTERM, Ctrl-C or ``duration_s``;
    starts a local Kafka when the config names none (and stops it at the end)."""
    config = load_config(config_path)
    roles = config.processes()
    if not roles:
        raise ConfigError(
            f"{config_path} configures no role",
            field="roles",
            hint="add [connector], [normalize], [aggregate], [trading], [sink] or [api]",
        )
    console = console or Console()
    stop = threading.Event()
    with _stop_on_signals(stop), _kafka(config, settings, console) as servers:
        supervisor = Supervisor(config_path, roles, servers, log_dir=log_dir)
        started = time.monotonic()
        supervisor.start()
        try:
            with Live(_table(supervisor, started), console=console, auto_refresh=False) as live:
                while not stop.wait(1.0):
                    supervisor.poll()
                    live.update(_table(supervisor, started), refresh=True)
                    if duration_s is not None and time.monotonic() - started >= duration_s:
                        break
        finally:
            supervisor.stop()
        console.print(_table(supervisor, started))
        return supervisor


@contextmanager
def _kafka(config: DeployConfig, settings: Settings, console: Console) -> Iterator[str]:
    servers = config.kafka.bootstrap or settings.kafka_bootstrap_servers
    if servers:
        yield servers
        return
    if config.kafka.security.protocol != "PLAINTEXT":
        raise ConfigError(
            f"kafka.security.protocol is {config.kafka.security.protocol} but no Kafka is "
            "named: run all would start a plaintext local broker",
            field="kafka.bootstrap",
            hint="set [kafka] bootstrap to the secured cluster (docs/deployment.md)",
        )
    with kafka_for(settings, on_progress=console.print) as kafka:
        console.print(f"kafka: {kafka.description}")
        yield kafka.bootstrap_servers
