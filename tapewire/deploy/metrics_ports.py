"""The ``/metrics`` port of every process of a deployment, from ``[metrics]``.

A role's port is ``[metrics.ports] <role>`` when set, else ``[metrics] port`` plus the
role's place in :data:`~tapewire.deploy.config.PORT_ROLES` (connector +0, normalize +1,
aggregate +2, trade +3, sink +4, api +5, notifier +6). A role run in several processes
(``normalize.processes``, one ``router`` per live venue) needs one port per process: a
list in ``[metrics.ports]``, or by default the ports after the last role's
(``port + 7``, ``+ 8``, ...; the ``router`` role has no offset: all its processes take
these). Two processes on one port, or a port past 65535, is a
:class:`~tapewire.core.errors.ConfigError` naming both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tapewire.core.errors import ConfigError

MAX_PORT = 65535


def process_name(role: str, replica: int, count: int) -> str:
    """``role``, or ``role-<replica>`` when the role runs in ``count`` > 1 processes (the
    name of its log file and its Prometheus ``instance`` label)."""
    return f"{role}-{replica}" if count > 1 else role


def resolve_ports(
    base: int | None,
    explicit: Mapping[Any, int | tuple[int, ...]],
    processes: Sequence[str],
    roles: Sequence[str],
) -> dict[tuple[str, int], int]:
    """(role, replica) -> port for every process of ``processes`` (one role name per
    process, as ``DeployConfig.processes()``); processes without a port are left out."""
    counts = {role: processes.count(role) for role in dict.fromkeys(processes)}
    ports: dict[tuple[str, int], int] = {}
    extra = 0
    for role, count in counts.items():
        given = explicit.get(role)
        field = f"metrics.ports.{role}"
        if isinstance(given, tuple):
            if len(given) != count:
                raise ConfigError(
                    f"{field}: {len(given)} port(s) for {count} {role} process(es)",
                    field=field,
                    value=list(given),
                    hint="give one port per process, or a single port when it runs once",
                )
            role_ports = list(given)
        elif given is not None:
            if count > 1:
                raise ConfigError(
                    f"{field}: one port for {count} {role} processes",
                    field=field,
                    value=given,
                    hint=f"give a list of {count} ports, e.g. {[given + i for i in range(count)]}",
                )
            role_ports = [given]
        elif base is not None:
            # a role without an offset of its own (router) takes ports after the last role's
            role_ports = [base + roles.index(role)] if role in roles else []
            for _ in range(count - len(role_ports)):
                role_ports.append(base + len(roles) + extra)
                extra += 1
        else:
            continue
        for replica, port in enumerate(role_ports):
            ports[(role, replica)] = port
    _check(ports, counts)
    return ports


def _check(ports: Mapping[tuple[str, int], int], counts: Mapping[str, int]) -> None:
    owner: dict[int, str] = {}
    for (role, replica), port in ports.items():
        name = process_name(role, replica, counts[role])
        if not 1 <= port <= MAX_PORT:
            raise ConfigError(
                f"metrics: the port of {name} would be {port}, outside 1-{MAX_PORT}",
                field=f"metrics.ports.{role}",
                value=port,
                hint="lower [metrics] port, or set the role's port in [metrics.ports]",
            )
        other = owner.setdefault(port, name)
        if other != name:
            raise ConfigError(
                f"metrics: {other} and {name} would both serve /metrics on port {port}",
                field=f"metrics.ports.{role}",
                value=port,
                hint="give each process its own port in [metrics.ports] "
                "(docs/observability.md, 'Ports')",
            )
