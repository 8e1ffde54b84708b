"""The role ACL table against what the roles' code really reads and writes."""

from __future__ import annotations

from collections.abc import Iterable

from tapewire.api.orders import PARENT_REQUESTS_TOPIC, REQUESTS_TOPIC
from tapewire.deploy.acl import READ_GROUP, ROLE_ACCESS, deployment_grants, role_grants
from tapewire.deploy.config import ROLES, parse_config
from tapewire.runtime.kafka_security import Grant
from tapewire.sinks.clickhouse.rows import DEFAULT_TOPICS, TRADING_TOPICS
from tapewire.streams.hotpath.restore import HISTORY_TOPICS
from tapewire.streams.hotpath.worker import COMMAND_TOPICS, OUTPUTS
from tapewire.streams.router.stage import INPUTS as ROUTER_INPUTS
from tapewire.streams.stages import bars, bbo, depth, nbbo, normalize
from tapewire.streams.stages.parents import INPUTS as PARENT_INPUTS
from tapewire.streams.stages.positions import INPUTS as POSITIONS_INPUTS
from tapewire.streams.stages.risk import INPUTS as RISK_INPUTS
from tapewire.streams.stages.strategy import INPUTS as STRATEGY_INPUTS


def _covered(names: tuple[str, ...], topic: str) -> bool:
    return any(topic == n or (n.endswith("*") and topic.startswith(n[:-1])) for n in names)


def _missing(names: tuple[str, ...], topics: Iterable[str]) -> set[str]:
    return {t for t in topics if not _covered(names, t)}


def test_every_role_has_a_row() -> None:
    assert set(ROLE_ACCESS) == set(ROLES)


def test_only_the_trade_role_writes_oms_approved() -> None:
    writers = {r for r, a in ROLE_ACCESS.items() if _covered(a.writes, "oms.approved")}
    assert writers == {"trade"}


def test_the_table_covers_what_each_role_reads_and_writes() -> None:
    normalize_row = ROLE_ACCESS["normalize"]
    assert not _missing(normalize_row.reads, {normalize.SOURCE, normalize.MARKETS})
    assert not _missing(normalize_row.writes, OUTPUTS["normalize"] | {"dlq.normalize"})

    aggregate = ROLE_ACCESS["aggregate"]
    assert not _missing(
        aggregate.reads,
        {bars.SOURCE, nbbo.SOURCE, bbo.SOURCE, nbbo.REPARTITION, depth.SOURCE, depth.REPARTITION},
    )
    assert not _missing(
        aggregate.writes,
        {
            "md.bars.1s",
            "md.bars.1h",
            "md.nbbo",
            bars.DLQ,
            nbbo.DLQ,
            bbo.DLQ,
            "md.quotes",
            depth.OUTPUT,
            depth.REPARTITION,
        },
    )

    trade = ROLE_ACCESS["trade"]
    inputs = {
        *STRATEGY_INPUTS,
        *RISK_INPUTS,
        *POSITIONS_INPUTS,
        *ROUTER_INPUTS,
        *PARENT_INPUTS,
        *HISTORY_TOPICS,
        *COMMAND_TOPICS,
    }
    assert not _missing(trade.reads, inputs)
    outputs = set().union(*(OUTPUTS[s] for s in ("strategy", "sor", "risk", "router", "positions")))
    assert not _missing(trade.writes, outputs | {"alerts", "dlq.trading"})

    router = ROLE_ACCESS["router"]  # the ccxt router: its inputs and its recovery's reads
    assert not _missing(router.reads, {*ROUTER_INPUTS, "oms.events"})
    assert not _missing(router.writes, OUTPUTS["router"] | {"alerts", "dlq.trading"})

    sink = ROLE_ACCESS["sink"]
    assert not _missing(sink.reads, {*DEFAULT_TOPICS, *TRADING_TOPICS})
    assert sink.writes == ("dlq.sink",)

    # the API's gateway produces orders and parent orders
    assert not _missing(ROLE_ACCESS["api"].writes, {REQUESTS_TOPIC, PARENT_REQUESTS_TOPIC})

    assert ROLE_ACCESS["connector"].writes == ("md.raw", "md.markets")
    assert ROLE_ACCESS["connector"].reads == ()


def test_grants_carry_the_prefix_the_user_and_the_sink_group() -> None:
    config = parse_config(
        {
            "kafka": {"topic_prefix": "desk.", "security": {"users": {"sink": "warehouse"}}},
            "sink": {"group_id": "wh-sink"},
        }
    )
    sink = set(role_grants(config, "sink"))
    assert Grant("User:warehouse", "topic", "desk.md.", "READ", prefixed=True) in sink
    assert Grant("User:warehouse", "topic", "desk.dlq.sink", "WRITE") in sink
    assert Grant("User:warehouse", "group", "wh-sink", "READ") in sink
    trade = set(role_grants(config, "trade"))
    assert Grant("User:tapewire-trade", "topic", "desk.oms.approved", "WRITE") in trade
    assert (
        Grant("User:tapewire-trade", "group", "desk.tapewire-trade", "READ", prefixed=True) in trade
    )
    assert Grant("User:tapewire-trade", "group", READ_GROUP, "READ", prefixed=True) in trade
    assert {g.principal for g in deployment_grants(config)} == {"User:warehouse"}  # only [sink]
