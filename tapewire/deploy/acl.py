"""Who may read and write what: the Kafka ACLs of every role, and ``tapewire kafka acl``.

:data:`ROLE_ACCESS` is the one table (``docs/deployment.md`` shows it). It lists what each
role's code really consumes and produces (the stages' ``INPUTS``/``OUTPUTS``, the sink's
topics, the trade role's restore); ``tests/unit/deploy/test_acl.py`` checks it against
those constants. Only the ``trade`` role, which runs the risk gate, may write
``oms.approved``: a connector, a normalizer or a sink cannot approve an order.

Topic names are canonical (``md.raw``); the deployment's ``kafka.topic_prefix`` is put in
front. A name ending in ``*`` is a prefix (``md.bars.*``: every bar interval). Consumer
groups are prefixes too: a role's Faust app and hot path use ``<topic prefix>tapewire-<role>``
and ``<topic prefix>tapewire-<role>-hotpath``; whole-topic reads (``md.markets``, the trade
role's history) use a throw-away ``tapewire-read-<hex>`` group. A ``router`` process (one
per live venue) uses ``<topic prefix>tapewire-router-<venue>``, under the prefix
``tapewire-router``.

``apply_acls`` (the command) runs as the admin user: it sets every configured role's SCRAM
password from its environment variable, creates the deployment's topics, and makes the
role users' ACLs exactly this table.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import SecretStr

from tapewire.core.errors import ConfigError
from tapewire.core.kafka import KafkaSecurity, client_config, process_security, use_security
from tapewire.deploy.config import DeployConfig
from tapewire.runtime.kafka_io import create_topic
from tapewire.runtime.kafka_security import (
    AclChanges,
    Grant,
    Operation,
    set_scram_users,
    sync_acls,
)
from tapewire.runtime.topics import declare_topics
from tapewire.streams.stages.config import TRADING_TOPICS

log = logging.getLogger(__name__)

READ_GROUP = "tapewire-read-"
"""Prefix of the throw-away groups of whole-topic reads (``read_to_end``)."""
SINK_GROUP = "{sink.group_id}"
"""Stands for the deployment's ``sink.group_id`` (a literal group, not a prefix)."""

_MARKET_TOPICS = ("md.trades", "md.book", "md.quotes", "md.nbbo")
_OMS_TOPICS = tuple(t for t in TRADING_TOPICS if not t.startswith("dlq."))


@dataclass(frozen=True)
class RoleAccess:
    """What one role's principal may do: read and write topics, join consumer groups."""

    reads: tuple[str, ...]
    writes: tuple[str, ...]
    groups: tuple[str, ...]


ROLE_ACCESS: Mapping[str, RoleAccess] = {
    # the connector also publishes the venues' market metadata (REST frames) to md.markets
    "connector": RoleAccess(reads=(), writes=("md.raw", "md.markets"), groups=()),
    "normalize": RoleAccess(
        reads=("md.raw", "md.markets"),
        writes=(
            "md.trades",
            "md.book",
            "md.quotes",
            "md.derivatives",
            "md.coverage",
            "md.markets",
            "dlq.normalize",
        ),
        groups=("tapewire-normalize", READ_GROUP),
    ),
    "aggregate": RoleAccess(
        reads=(
            "md.trades",
            "md.book",
            "md.quotes",
            "md.quotes.by-consolidated",
            "md.book.by-consolidated",
        ),
        # md.quotes: the BBO derived from books (aggregate.bbo_venues)
        writes=(
            "md.bars.*",
            "md.nbbo",
            "md.depth",
            "md.quotes.by-consolidated",
            "md.book.by-consolidated",
            "md.quotes",
            "dlq.aggregate",
        ),
        groups=("tapewire-aggregate",),
    ),
    "trade": RoleAccess(
        reads=(*_MARKET_TOPICS, *_OMS_TOPICS),
        writes=(*_OMS_TOPICS, "dlq.trading"),
        groups=("tapewire-trade", READ_GROUP),
    ),
    # a live venue's router: approvals in (it acts on its venue's only), the venue's reports
    # out; never oms.approved: it executes decisions, it cannot make one
    "router": RoleAccess(
        reads=("oms.approved", "oms.events", "md.trades", "md.book"),
        writes=("oms.events", "oms.fills", "alerts", "dlq.trading"),
        groups=("tapewire-router", READ_GROUP),
    ),
    "sink": RoleAccess(
        reads=("md.*", *_OMS_TOPICS),
        writes=("dlq.sink",),
        groups=(SINK_GROUP,),
    ),
    # orders go to oms.requests (the risk gate decides), parent orders to
    # oms.parent_requests (the parent stage works them); the stream reads events and fills
    "api": RoleAccess(
        reads=("oms.events", "oms.fills"),
        writes=("oms.requests", "oms.parent_requests"),
        groups=("tapewire-api",),
    ),
    "notifier": RoleAccess(
        reads=("alerts", "md.coverage", "oms.fills", "positions"),
        writes=("dlq.notifier",),
        groups=("tapewire-notifier",),
    ),
}
"""Role → topics read, topics written, consumer groups joined (canonical names)."""
FUSED_WRITES: Mapping[str, tuple[str, ...]] = {
    "bars": ("md.bars.*", "dlq.aggregate"),
    "nbbo": ("md.nbbo", "dlq.aggregate"),
    "depth": ("md.depth", "dlq.aggregate"),
}
"""What the normalize role writes too for each stage of ``[normalize] fuse``."""


def role_grants(config: DeployConfig, role: str) -> list[Grant]:
    """The ACL grants of ``role``'s user under ``config`` (prefix and user name applied)."""
    access = ROLE_ACCESS[role]
    principal = f"User:{config.kafka.security.user(role)}"
    prefix = config.kafka.topic_prefix
    grants: list[Grant] = []
    reads, writes = access.reads, access.writes
    if role == "trade" and config.colocated_connector():  # it runs the connector too
        reads += ("md.markets",)
        writes += ROLE_ACCESS["connector"].writes
    if role == "normalize":  # the aggregate stages it runs in its hot path
        fused = (w for stage in config.fused() for w in FUSED_WRITES[stage])
        writes += tuple(w for w in dict.fromkeys(fused) if w not in writes)
    topics: tuple[tuple[Operation, tuple[str, ...]], ...] = (
        ("READ", reads),
        ("WRITE", writes),
    )
    for operation, names in topics:
        for name in names:
            prefixed = name.endswith("*")
            grants.append(Grant(principal, "topic", prefix + name.rstrip("*"), operation, prefixed))
    for group in access.groups:
        if group == SINK_GROUP:
            sink_group = config.sink.group_id if config.sink is not None else "tapewire-sink"
            grants.append(Grant(principal, "group", sink_group, "READ"))
        else:
            group_prefix = group if group == READ_GROUP else prefix + group
            grants.append(Grant(principal, "group", group_prefix, "READ", prefixed=True))
    return grants


def deployment_grants(config: DeployConfig) -> list[Grant]:
    """The grants of every configured role (``config.roles()``)."""
    return [g for role in config.roles() for g in role_grants(config, role)]


def apply_acls(
    config: DeployConfig,
    bootstrap: str,
    *,
    environ: Mapping[str, str] | None = None,
) -> AclChanges:
    """As the admin user: set the SCRAM password of every configured role (from its
    variable), create the deployment's topics, make the role users' ACLs :data:`ROLE_ACCESS`.
    """
    security = config.kafka.security
    if not security.protocol.startswith("SASL_"):
        raise ConfigError(
            f"kafka.security.protocol is {security.protocol}: there are no users to set up",
            field="kafka.security.protocol",
            value=security.protocol,
            hint="ACLs per role need SASL_SSL (or SASL_PLAINTEXT) in [kafka.security]",
        )
    admin = security.admin(environ)
    roles = config.roles()
    if not roles:
        raise ConfigError(
            "the config configures no role",
            field="roles",
            hint="add [connector], [normalize], [aggregate], [trading], [sink] or [notifier]",
        )
    passwords: dict[str, SecretStr] = {}
    for role in roles:
        role_security = security.for_role(role, environ)  # checks every variable first
        assert role_security is not None
        assert role_security.password is not None
        passwords[security.user(role)] = role_security.password
    settings = _admin_settings(bootstrap, admin)
    set_scram_users(settings, passwords, security.mechanism)
    log.info("SCRAM users set: %s", ", ".join(sorted(passwords)))
    previous = process_security()
    use_security(admin)  # this process is the admin: topics are created as the admin
    try:
        declare_topics(bootstrap, config.streams_config(app_id="tapewire-acl"))
        if config.sink is not None:
            create_topic(bootstrap, config.kafka.topic_prefix + "dlq.sink", exist_ok=True)
        if config.notifier is not None:
            create_topic(bootstrap, config.kafka.topic_prefix + "dlq.notifier", exist_ok=True)
    finally:
        use_security(previous)
    return sync_acls(settings, deployment_grants(config))


def _admin_settings(bootstrap: str, admin: KafkaSecurity) -> dict[str, object]:
    return client_config(bootstrap) | admin.client_settings()
